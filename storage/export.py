"""Writing frames to CSV, XLSX or Parquet, safe to open in a spreadsheet.

A spreadsheet treats a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and,
in some, a tab or carriage return) as a formula, so a company name such as
``=HYPERLINK(...)`` in imported data could run when an export is opened (CSV /
formula injection, OWASP). For CSV and XLSX every text cell, header included,
that starts with one of those characters gets a leading apostrophe; numbers and
dates are left as they are. Parquet is a data format, not a spreadsheet, and is
written unchanged.

Files are written to a temporary file beside the target and renamed into place,
so a failed export never leaves a half-written file.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from pathlib import Path

import polars as pl

from storage import tempfiles
from storage.errors import ExportError

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FORMATS = {".csv": "CSV", ".xlsx": "XLSX", ".parquet": "Parquet"}
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")
# Strings are strings: never let xlsxwriter turn text into formulas or links.
_WORKBOOK_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "nan_inf_to_errors": True,
}


def neutralise_text(value: str) -> str:
    """``value`` with a leading apostrophe if a spreadsheet would read it as a formula."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def neutralise_formulas(df: pl.DataFrame) -> pl.DataFrame:
    """Text columns (and column names) with formula-like values prefixed by an apostrophe."""
    pattern = "^[=+\\-@\\t\\r]"
    exprs = []
    for name, dtype in df.schema.items():
        col = pl.col(name)
        if dtype == pl.Utf8 or isinstance(dtype, pl.Categorical | pl.Enum):
            col = col.cast(pl.Utf8)
            col = pl.when(col.str.contains(pattern)).then(pl.lit("'") + col).otherwise(col)
        elif isinstance(dtype, pl.List | pl.Array | pl.Struct | pl.Object):
            raise ExportError(
                f"column {name!r} holds {dtype} values, which a spreadsheet cannot show;"
                " export it as Parquet or drop the column"
            )
        exprs.append(col.alias(neutralise_text(name)))
    return df.select(exprs)


def _format_of(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(FORMATS)
        raise ExportError(
            f"cannot export to {path}: unknown file type {path.suffix or '(no extension)'!r};"
            f" use one of {known}"
        )
    return fmt


@contextlib.contextmanager
def _atomic_target(path: Path):
    """A temporary path beside ``path``, renamed onto it when the block succeeds."""
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise ExportError(f"cannot export to {path}: directory {directory} does not exist")
    if path.is_dir():
        raise ExportError(f"cannot export to {path}: it is a directory")
    try:
        tempfiles.sweep_beside(path, "export")  # leftovers of a killed export
        tmp = tempfiles.make_file(directory, f".{path.name}.export", ".tmp")
    except OSError as exc:
        raise ExportError(f"cannot export to {path}: {exc.strerror or exc}") from None
    # mkstemp makes the file private: give it the mode of the file it replaces, else 0644
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    try:
        with tempfiles.removed_on_signals():  # SIGTERM runs the finally below
            yield tmp
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        raise ExportError(f"cannot export to {path}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8, LF) through a temporary file beside ``path``, renamed into place."""
    path = Path(path).expanduser()
    with _atomic_target(path) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="\n")
    return path


def write_frame(df: pl.DataFrame, path: str | Path, *, sheet: str = "data") -> Path:
    """Write ``df`` as CSV, XLSX or Parquet chosen by ``path``'s extension; return the path.

    CSV and XLSX text cells that a spreadsheet would read as a formula are
    neutralised with a leading apostrophe.
    """
    path = Path(path).expanduser()
    fmt = _format_of(path)
    if fmt == "XLSX":
        return write_frames({sheet: df}, path)
    with _atomic_target(path) as tmp:
        if fmt == "CSV":
            neutralise_formulas(df).write_csv(tmp)
        else:
            df.write_parquet(tmp)
    return path


def write_frames(frames: Mapping[str, pl.DataFrame], path: str | Path) -> Path:
    """Write several frames as the sheets of one XLSX workbook (in the mapping's order)."""
    from xlsxwriter import Workbook

    path = Path(path).expanduser()
    if path.suffix.lower() != ".xlsx":
        raise ExportError(f"cannot write several sheets to {path}: use a .xlsx file")
    if not frames:
        raise ExportError(f"nothing to export to {path}: no frames given")
    seen: set[str] = set()
    for name in frames:
        if not name or len(name) > 31 or _SHEET_NAME_BAD.search(name) or name.startswith("'"):
            raise ExportError(
                f"cannot use {name!r} as a sheet name in {path}: names have 1 to 31 characters,"
                " none of [ ] : * ? / \\, and do not start with an apostrophe"
            )
        if name.lower() in seen:
            raise ExportError(f"sheet name {name!r} is used twice in {path}")
        seen.add(name.lower())
    safe = {name: neutralise_formulas(df) for name, df in frames.items()}
    with _atomic_target(path) as tmp:
        with Workbook(str(tmp), _WORKBOOK_OPTIONS) as workbook:
            for name, df in safe.items():
                df.write_excel(workbook=workbook, worksheet=name, autofit=True)
    return path
