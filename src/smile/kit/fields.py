"""Field types shared by every request schema: integers bounded by their column, clean names.

- `int32(ge, le)` / `int64(ge, le)`: an int that fits the PostgreSQL `integer` / `bigint`
  column it is stored in (a larger value is a 422, never an overflow inside an INSERT), within
  the field's own bounds when it has narrower ones. Give the bounds here, not in `Field()`
  too: pydantic would keep only one of two `le`s. (A field with its own `le` inside the
  column's range needs no more.)
- `name(max_length)` (`Name`: 1 to 80 characters): a display name, title or label. Control,
  zero-width, bidi-override and other invisible format characters are removed (an emoji's
  zero-width joiner stays), runs of whitespace become one space, and the ends are trimmed:
  before the length rule applies.

NUL is removed from all JSON and form text before validation (`kit.requests.TextRequest`).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StringConstraints

INT32 = (-(2**31), 2**31 - 1)  # PostgreSQL integer
INT64 = (-(2**63), 2**63 - 1)  # PostgreSQL bigint


def _bounded(column: tuple[int, int], ge: int | None, le: int | None) -> Any:
    lo, hi = column
    ge, le = lo if ge is None else ge, hi if le is None else le
    if not lo <= ge <= le <= hi:
        raise ValueError(f"bounds {ge}..{le} do not fit the column's {lo}..{hi}")
    return Annotated[int, Field(ge=ge, le=le)]


def int32(ge: int | None = None, le: int | None = None) -> Any:
    """An int stored in an `integer` column: at most `le` (default 2147483647), at least `ge`."""
    return _bounded(INT32, ge, le)


def int64(ge: int | None = None, le: int | None = None) -> Any:
    """An int stored in a `bigint` column: at most `le` (default 9223372036854775807), at least `ge`."""
    return _bounded(INT64, ge, le)


_INVISIBLE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}  # controls, format (zero-width, bidi), unassigned...
_ZWJ = "\u200d"
_SPACES = re.compile(r"\s+")


def _emoji(ch: str) -> bool:
    return unicodedata.category(ch) in ("So", "Sk") or ch == "\ufe0f"


def clean_name(value: Any) -> Any:
    """Remove invisible and direction-changing characters; one space between words."""
    if not isinstance(value, str):
        return value
    kept: list[str] = []
    for i, ch in enumerate(value):
        if unicodedata.category(ch) in _INVISIBLE:
            # keep an emoji's zero-width joiner (👩‍💻); tab/newline become spaces
            if ch == _ZWJ and kept and _emoji(kept[-1]) and i + 1 < len(value) and _emoji(value[i + 1]):
                kept.append(ch)
            elif ch in "\t\n\r\v\f":
                kept.append(" ")
            continue
        kept.append(ch)
    return _SPACES.sub(" ", "".join(kept)).strip()


def name(max_length: int = 80, min_length: int = 1) -> Any:
    """A name field's type: cleaned first, then its length checked (so "\u200b" alone is too short)."""
    return Annotated[str, StringConstraints(min_length=min_length, max_length=max_length), BeforeValidator(clean_name)]


Name = name(80)
