"""A real HTTP server on loopback publishing a JWK set (an IdP's, or a client's ``jwks_uri``)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class JwksServer:
    """Serves ``/jwks.json``; :meth:`publish` replaces the set (a key rotation); counts fetches."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self.body = json.dumps(jwks).encode()
        self.fetches = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.fetches += 1
                body = owner.body
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def publish(self, jwks: dict[str, Any]) -> None:
        """Serve another key set from now on."""
        self.body = json.dumps(jwks).encode()

    def __enter__(self) -> JwksServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
