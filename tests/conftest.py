"""Shared fixtures for the test suite."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

SAMPLE_REPO = Path(__file__).resolve().parent.parent / "examples" / "sample_repo"


def wait_until(predicate: Callable[[], object], timeout: float = 15.0) -> bool:
    """Poll ``predicate`` every 50 ms until it is true (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The sample repository copied to a temporary directory and indexed once (no encoder):
    ``(repo_path, index_dir)``. Treat both as read-only; copy again to mutate."""
    from indexer.pipeline import index_repository

    base = tmp_path_factory.mktemp("sample")
    repo = base / "repo"
    shutil.copytree(SAMPLE_REPO, repo, ignore=shutil.ignore_patterns(".sgmcp"))
    index_dir = str(base / "ix")
    index_repository(repo, index_dir)
    return repo, index_dir


class FakeMessages:
    """A local fake of the Anthropic Messages API: serves ``POST /v1/messages`` with a scripted reply
    (``reply_text``, or an error ``status``, after ``delay`` seconds) and records each request
    (``path``, ``auth``, ``x-api-key``, ``body``). A request without ``Authorization: Bearer <token>``
    (the key the fixture sets) is refused with 401, as the real API would refuse it."""

    def __init__(self, token: str = "test-key", reply_text: str = "{}") -> None:
        import json
        import threading
        import time
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.token = token
        self.reply_text = reply_text
        self.status = 200
        self.delay = 0.0
        self.requests: list[dict] = []
        self.refused = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                auth = self.headers.get("authorization", "")
                if auth != f"Bearer {fake.token}":
                    fake.refused += 1
                    self._send(401, {"type": "error", "error": {"type": "authentication_error",
                                                                "message": "missing or wrong bearer token"}})
                    return
                fake.requests.append({"path": self.path, "auth": auth,
                                      "x-api-key": self.headers.get("x-api-key", ""), "body": body})
                time.sleep(fake.delay)
                if fake.status != 200:
                    self._send(fake.status, {"type": "error", "error": {"type": "api_error", "message": "boom"}})
                    return
                self._send(200, {"id": "msg_1", "type": "message", "role": "assistant", "model": body["model"],
                                 "content": [{"type": "text", "text": fake.reply_text}], "stop_reason": "end_turn",
                                 "stop_sequence": None, "usage": {"input_tokens": 321, "output_tokens": 12}})

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address) -> None:
                pass  # the timeout tests hang up on purpose

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def fake_messages(monkeypatch: pytest.MonkeyPatch):
    """A :class:`FakeMessages` server, with the SDK pointed at it (``ANTHROPIC_BASE_URL``) and given its
    key (``ANTHROPIC_API_KEY``, sent as ``Authorization: Bearer``); ``ANTHROPIC_AUTH_TOKEN`` is cleared so a
    developer's own token never reaches it."""
    server = FakeMessages()
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", server.token)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    yield server
    server.server.shutdown()
    server.server.server_close()
