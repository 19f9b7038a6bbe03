from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.rest.conftest import api_client, api_key  # noqa: F401 - the REST tests' key


class FileServer:
    """Serves files on loopback, for media_url: `serve(path, body, ...)` then `url(path)`."""

    def __init__(self) -> None:
        self.routes: dict[str, dict] = {}
        self.hits: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.hits.append(self.path)
                route = owner.routes.get(self.path)
                if route is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if route.get("location"):
                    self.send_response(302)
                    self.send_header("Location", route["location"])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = route["body"]
                self.send_response(200)
                self.send_header("Content-Type", route.get("type", "application/octet-stream"))
                length = route.get("length", len(body))
                if length is not None:  # None: a body that ends when the connection does
                    self.send_header("Content-Length", str(length))
                self.end_headers()
                for start in range(0, len(body), route.get("chunk", 65536)):
                    self.wfile.write(body[start : start + route.get("chunk", 65536)])
                    self.wfile.flush()
                    time.sleep(route.get("pause", 0))

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def serve(self, path: str, body: bytes = b"", **options) -> str:
        self.routes[path] = {"body": body, **options}
        return self.url(path)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def file_server() -> Iterator[FileServer]:
    server = FileServer()
    yield server
    server.close()


@pytest.fixture
def files(file_server: FileServer, whatsapp_conf) -> FileServer:
    """The loopback file server, reachable: private addresses allowed for this test."""
    whatsapp_conf.MEDIA_FETCH_ALLOW_PRIVATE = True
    file_server.routes.clear()
    file_server.hits.clear()
    return file_server
