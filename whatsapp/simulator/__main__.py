"""`python -m whatsapp.simulator`: run the simulator in the foreground."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from types import FrameType

from . import DEFAULT_SECRET_KEY
from .server import SimulatorServer


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m whatsapp.simulator",
        description="A stand-in for WPPConnect Server and WhatsApp, for local runs and tests.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=21465)
    parser.add_argument(
        "--secret-key", help="the server's SECRET_KEY (default: $WPPCONNECT_SECRET_KEY)"
    )
    parser.add_argument(
        "--auto-close", type=float, default=60.0, help="seconds a QR may go unscanned"
    )
    parser.add_argument("--qr-interval", type=float, default=20.0, help="seconds per QR refresh")
    parser.add_argument(
        "--init-delay", type=float, default=1.0, help="seconds spent in INITIALIZING"
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    secret = args.secret_key or os.environ.get("WPPCONNECT_SECRET_KEY")
    if not secret:
        secret = DEFAULT_SECRET_KEY
        print(
            f"warning: no --secret-key or WPPCONNECT_SECRET_KEY; using the public default "
            f"{DEFAULT_SECRET_KEY!r}",
            file=sys.stderr,
        )
    server = SimulatorServer(
        secret,
        host=args.host,
        port=args.port,
        auto_close=args.auto_close,
        qr_interval=args.qr_interval,
        init_delay=args.init_delay,
    )
    done = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    server.start()
    print(
        f"WPPConnect simulator listening on {server.url} (control page at {server.url}/_sim/)",
        flush=True,
    )
    while not done.wait(1.0):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
