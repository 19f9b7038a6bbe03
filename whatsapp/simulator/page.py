"""The control page at /_sim/: the "phone" a person uses during a local run."""

from __future__ import annotations

import html
from urllib.parse import quote, urlsplit, urlunsplit

from . import qr
from .model import CONNECTED, PHONECODE, QRCODE
from .state import Simulator

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;background:#f4f5f7;color:#1d2330}
h1{font-size:1.4rem}.muted{color:#667}
.card{background:#fff;border-radius:8px;padding:1rem 1.2rem;margin:0 0 1rem;
box-shadow:0 1px 3px rgba(0,0,0,.12);max-width:40rem}
.status{display:inline-block;padding:.1rem .5rem;border-radius:4px;font-weight:600;
background:#e3e6ec}.CONNECTED{background:#c9f1d3}.QRCODE,.PHONECODE{background:#fff1bf}
.leak{color:#b3261e;font-weight:600}.code{font:700 2rem monospace;letter-spacing:.2rem}
img{display:block;margin:.6rem 0;width:220px;height:220px;image-rendering:pixelated}
form{display:inline}button{margin:.4rem .4rem 0 0;padding:.3rem .8rem}
"""


def masked(url: str) -> str:
    """The webhook URL without its secret: long random path segments become dots.

    The page has no authentication, and the secret in the path is what lets anyone post
    gateway events to the app.
    """
    parts = urlsplit(url)
    segments = ["•••" if len(seg) >= 16 else seg for seg in parts.path.split("/")]
    return urlunsplit(parts._replace(path="/".join(segments), query=""))


def _card(sim: Simulator, entry: dict[str, object]) -> str:
    name = str(entry["name"])
    status = str(entry["status"])
    action = "/_sim/sessions/" + quote(name, safe="")
    parts = [
        f"<div class=card><h2>{html.escape(name)} "
        f"<span class='status {html.escape(status)}'>{html.escape(status)}</span></h2>"
    ]
    if entry["leaked"]:
        parts.append("<p class=leak>Browser leaked: close-session was called while starting.</p>")
    if status == QRCODE:
        png = sim.qr_png_of(name)
        if png:
            parts.append(
                f"<img alt='QR code for {html.escape(name)}' src='{qr.data_url(png)}'>"
                f"<p class=muted>QR #{entry['qr_version']}</p>"
            )
    if status == PHONECODE and entry["pairing_code"]:
        parts.append(f"<p>Pairing code: <span class=code>{entry['pairing_code']}</span></p>")
    if status in (QRCODE, PHONECODE):
        parts.append(f"<form method=post action='{action}/scan'><button>Scan</button></form>")
    if status == CONNECTED:
        parts.append(f"<p>Linked phone: +{html.escape(str(entry['phone']))}</p>")
        parts.append(
            f"<form method=post action='{action}/unlink'><button>Unlink phone</button></form>"
        )
    if entry["webhook"]:
        parts.append(f"<p class=muted>Webhook: {html.escape(masked(str(entry['webhook'])))}</p>")
    parts.append("</div>")
    return "".join(parts)


def render(sim: Simulator) -> str:
    sessions = sim.session_list()
    cards = "".join(_card(sim, entry) for entry in sessions) or (
        "<p class=muted>No session yet. Start one through the API (start-session).</p>"
    )
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        "<meta http-equiv=refresh content=3>"
        "<title>WPPConnect simulator</title>"
        f"<style>{_STYLE}</style></head><body>"
        "<h1>WPPConnect simulator</h1>"
        "<p class=muted>Stands in for WhatsApp and WPPConnect Server. Refreshes every 3 s.</p>"
        f"{cards}</body></html>"
    )
