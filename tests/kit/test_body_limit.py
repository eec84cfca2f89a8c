"""The request body limit applies before anything parses a body (the CSRF check of a cookie form first).

Raw sockets: the request declares (or streams) more than the limit and sends only a part of it;
the server must answer 413 at once, without waiting for (parsing) the rest.
"""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest

from smile.kit import runtime

BOUNDARY = "limitboundary7"


def _form_head(csrf: str) -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{csrf}\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n'
        f"Content-Type: image/png\r\n\r\n"
    ).encode()


def _send(server, path: str, cookies: dict[str, str], headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
    """Send the request head and `body` (not the whole declared body); the status line and body of the answer."""
    url = urlsplit(server.url)
    head = [
        f"POST {path} HTTP/1.1",
        f"Host: {url.netloc}",
        "Cookie: " + "; ".join(f"{k}={v}" for k, v in cookies.items()),
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    with socket.create_connection((url.hostname, url.port), timeout=15) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        answer = sock.makefile("rb")  # a server still reading the body never answers: socket.timeout
        status = int(answer.readline().split(b" ", 2)[1])
        length = 0
        while line := answer.readline().strip():
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        return status, answer.read(length)


def _chunked(data: bytes) -> bytes:
    """Chunked transfer encoding without the last chunk: the body never ends."""
    return b"".join(b"%x\r\n%s\r\n" % (len(data[i : i + 8192]), data[i : i + 8192]) for i in range(0, len(data), 8192))


@pytest.fixture
def cookies(signup, browser) -> dict[str, str]:
    web = browser(signup("alice"))
    return {"smile_session": web.cookies["smile_session"], "smile_csrf": web.cookies["smile_csrf"]}


def test_declared_oversized_cookie_form_is_refused_before_it_is_read(server, cookies):
    ten_gb = str(10 * 1024**3)
    body = _form_head(cookies["smile_csrf"]) + b"\x89PNG" + b"\x00" * 10_000
    status, answer = _send(server, "/api/v1/media", cookies, {"Content-Length": ten_gb}, body)
    assert status == 413
    assert json.loads(answer)["error"] == "too_large"
    # the HTML form (avatar upload page) too: its CSRF field is in the body
    status, page = _send(
        server, "/settings/profile/avatar", cookies, {"Content-Length": ten_gb, "Accept": "text/html"}, body
    )
    assert status == 413 and b"upload limit" in page


def test_streamed_oversized_form_is_refused_once_past_the_limit(server, cookies, signup):
    token = signup("bob").access
    settings = runtime.current().settings
    before = settings.media_max_bytes
    settings.media_max_bytes = 4096  # the body limit is this plus 64 KB of form overhead
    try:
        chunked = _chunked(_form_head(cookies["smile_csrf"]) + b"\x00" * 100_000)
        status, _ = _send(server, "/api/v1/media", cookies, {"Transfer-Encoding": "chunked"}, chunked)
        assert status == 413
        # with a bearer token the streaming upload parser reads the body: the limit's 413 passes through it
        # (text fields each under that parser's own 8 KB limit, past the body limit together)
        fields = b"".join(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\n'.encode() + b"x" * 7000 + b"\r\n"
            for i in range(12)
        )
        status, answer = _send(
            server,
            "/api/v1/media",
            {},
            {"Transfer-Encoding": "chunked", "Authorization": f"Bearer {token}"},
            _chunked(fields),
        )
        assert status == 413 and json.loads(answer)["error"] == "too_large"
    finally:
        settings.media_max_bytes = before
