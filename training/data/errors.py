"""The error every data loader raises when a data set cannot be used as asked."""

from __future__ import annotations

from collections.abc import Iterable

from zoo.errors import ZooError


class DataError(ZooError, ValueError):
    """A data set is missing, empty or malformed; the message says what and where."""


def listing(items: Iterable[object], *, limit: int = 5) -> str:
    """``'a', 'b', 'c' and 7 more`` for error messages."""
    items = [str(item) for item in items]
    shown = ", ".join(repr(item) for item in items[:limit])
    rest = len(items) - limit
    return f"{shown} and {rest} more" if rest > 0 else shown
