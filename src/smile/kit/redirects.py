"""Safe redirect targets: the one check for every `next`, `return_url` or Referer we send a browser to.

Only a path on this site passes. Browsers are lenient about what a Location or href means:
`//evil`, `/\\evil` and `\\\\evil` are other hosts, tabs and newlines inside a URL are dropped
(`/\\t/evil` is `//evil`), and a `%2F` decoded by some later hop turns `/%2F%2Fevil` into
`//evil`. So a target must be a plain absolute path, with no backslash, whitespace or control
character, and stay one after percent-decoding.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import unquote, urlsplit

from fastapi import Request
from pydantic import AfterValidator, Field

MAX_LENGTH = 2000


def _local_path(value: str, *, raw: bool) -> bool:
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return False
    lowest = 33 if raw else 32  # a raw URL has no spaces; a decoded %20 is fine
    if any(ord(ch) < lowest or 127 <= ord(ch) < 160 for ch in value):
        return False
    parts = urlsplit(value)
    return not parts.scheme and not parts.netloc


def is_safe(target: str | None) -> bool:
    """True for a path on this site (e.g. /settings?tab=1#x), in every decoding of it."""
    if not target or len(target) > MAX_LENGTH:
        return False
    value = target
    for layer in range(4):  # %252F... : every layer a later hop might decode
        if not _local_path(value, raw=layer == 0):
            return False
        decoded = unquote(value)
        if decoded == value:
            return True
        value = decoded
    return False


def safe_next(target: str | None, fallback: str = "/") -> str:
    """`target` if it is a path on this site, otherwise `fallback`."""
    return target if target is not None and is_safe(target) else fallback


def back(request: Request, fallback: str = "/") -> str:
    """The page the browser came from (its Referer) when that is on this site, otherwise `fallback`."""
    referer = request.headers.get("referer") or ""
    base = str(request.base_url)  # scheme://host/
    if not referer.startswith(base):
        return fallback
    return safe_next(referer[len(base) - 1 :], fallback)


def _check(value: str) -> str:
    if not is_safe(value):
        raise ValueError("must be a path on this site, like /billing/payments")
    return value


# A request field naming where to send the browser back to: a path on this site, else 422.
LocalPath = Annotated[str, Field(max_length=MAX_LENGTH, examples=["/billing/payments"]), AfterValidator(_check)]
