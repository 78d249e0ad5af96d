"""Shared argument checks of the commands (issue 11): output targets and bounded flags.

Not a command (the leading underscore keeps ``tui.cli`` from registering it).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.errors import UsageError

FORCE_HELP = "replace FILE if it exists (only a regular file; never the workspace)"


def add_force(parser: argparse.ArgumentParser, help_text: str = FORCE_HELP) -> None:
    """``--force`` for a command that writes a data export."""
    parser.add_argument("--force", action="store_true", help=help_text)


def out_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ``force`` / ``protect`` keywords of ``storage.export`` for this command."""
    workspace = getattr(args, "workspace", None)
    return {
        "force": bool(getattr(args, "force", False)),
        "protect": (Path(workspace).expanduser(),) if workspace else (),
    }


def check_out(args: argparse.Namespace, *paths: str | Path | None) -> None:
    """Refuse the output paths before any work is done (the write checks again)."""
    from storage.export import check_target

    for path in paths:
        if path:
            check_target(path, **out_options(args))


def int_in(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number in [low, high], else a usage error naming the range."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text!r} is out of range; use {low:,} to {high:,}")
        return value

    parse.__name__ = "whole number"
    return parse


def finite_number(
    flag: str, text: str, *, low: float | None = None, high: float | None = None
) -> float:
    """``text`` as a finite float within [low, high], else a UsageError naming ``flag``."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise UsageError(f"{flag}: {text!r} is not a number") from None
    if (
        not math.isfinite(value)
        or (low is not None and value < low)
        or (high is not None and value > high)
    ):
        lo = "-1e15" if low is None else f"{low:g}"
        hi = "1e15" if high is None else f"{high:g}"
        raise UsageError(f"{flag}: {text!r} is out of range; use a finite number from {lo} to {hi}")
    return value


# Analysis dates far outside this range are typos; at the edges of Python's
# calendar (0001-01-01, 9999-12-31) the window arithmetic itself would fail.
DATE_MIN = __import__("datetime").date(1900, 1, 1)
DATE_MAX = __import__("datetime").date(2199, 12, 31)
ID_MAX = 2**63 - 1  # SQLite's largest integer
MONTHS_MAX = 1200  # 100 years
TOP_MAX = 10_000_000


def bounded_date(text: str, flag: str) -> Any:
    """An ISO date within [DATE_MIN, DATE_MAX], else a UsageError naming ``flag``."""
    import datetime as dt

    try:
        value = dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        raise UsageError(f"{flag} {text!r} is not a date; write it as YYYY-MM-DD") from None
    if not DATE_MIN <= value <= DATE_MAX:
        raise UsageError(
            f"{flag} {text!r} is out of range; use a date from {DATE_MIN} to {DATE_MAX}"
        )
    return value


# ---------------------------------------------------------------- terminal output

# C0 controls but tab and newline, DEL, C1 controls (0x9b is a one-byte CSI on
# some terminals), bidirectional overrides (text that reads differently than it
# is) and lone surrogates (undecodable bytes; they cannot even be encoded).
_UNSAFE_CHARS = __import__("re").compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def printable(text: str) -> str:
    """``text`` with every control character shown as a visible ``\\uXXXX`` escape.

    Data (account names, segment labels, notes, file names) can hold escape
    sequences that retitle, recolour or rewrite a terminal; printed through
    this they are inert. The ``\\uXXXX`` form is also a valid escape inside a
    JSON string, so ``--json`` output stays parseable and means the same.
    """
    return _UNSAFE_CHARS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class SafeStream:
    """A text stream that passes everything written through :func:`printable`."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    def write(self, text: str) -> int:
        self._raw.write(printable(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno, encoding, buffer ...
        return getattr(self._raw, name)
