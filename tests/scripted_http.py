"""A real HTTP server on a free local port that gives scripted answers: a stand-in for a service Signaal talks
to (a geocoder, a reverse proxy in front of the ingest API) that can fail on cue."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes


@dataclass
class ScriptedServer:
    url: str
    answers: list[Answer]
    requests: list[str] = field(default_factory=list)  # method and path of each request, in order


@contextmanager
def scripted_server(*answers: Answer) -> Iterator[ScriptedServer]:
    """Answers the requests in turn with ``answers``; a request beyond them gets 500."""
    script = ScriptedServer("", list(answers))

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            script.requests.append(f"{self.command} {self.path}")
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            answer = script.answers.pop(0) if script.answers else Answer(500, "text/plain", b"unscripted")
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    script.url = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield script
    finally:
        server.shutdown()
        server.server_close()
