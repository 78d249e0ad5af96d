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

What an export may replace (issue 11): never the workspace it was computed from
(nor its ``-wal``/``-shm``/``-journal`` files, nor any SQLite file at all),
compared by resolved path and by device and inode so a symlink or a hard link
is caught too; an existing file only with ``force=True``, and then only a
regular file. A FIFO, device, socket or directory at the target is refused
before anything is written (the target is never opened, so a FIFO cannot block
the export). Without ``force`` the finished file is linked into place, which
fails rather than replace a file that appeared meanwhile.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path

import polars as pl

from storage import tempfiles
from storage.errors import ExportError

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FORMATS = {".csv": "CSV", ".xlsx": "XLSX", ".parquet": "Parquet"}
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")
# Strings are strings: never let xlsxwriter turn text into formulas or links.
# The last row of an XLSX sheet is 1,048,576; one row holds the header.
XLSX_MAX_ROWS = 1_048_575
XLSX_MAX_COLUMNS = 16_384
_SQLITE_MAGIC = b"SQLite format 3\x00"
_WORKSPACE_SIDE_FILES = ("", "-wal", "-shm", "-journal")
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


def _why(exc: BaseException) -> str:
    """One line for a write error: the OS reason, with a hint for the common ones."""
    code = getattr(exc, "errno", None)
    if code is None and isinstance(exc.__cause__ or exc.__context__, OSError):
        code = getattr(exc.__cause__ or exc.__context__, "errno", None)
    text = str(exc)
    if code is None:  # polars and xlsxwriter wrap the OS error in their own text
        for candidate in (errno.ENOSPC, errno.ENAMETOOLONG):
            if f"os error {candidate})" in text or f"[Errno {candidate}]" in text:
                code = candidate
    if code == errno.ENOSPC:
        return "the disk is full; nothing was written"
    if code == errno.ENAMETOOLONG:
        return "the file name is too long; choose a shorter name"
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied (read-only place?); nothing was written"
    reason = getattr(exc, "strerror", None) or text
    return " ".join(str(reason).split())


def _is_sqlite_file(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(len(_SQLITE_MAGIC)) == _SQLITE_MAGIC
    except OSError:
        return False


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def check_target(
    path: str | Path, *, force: bool = False, protect: Iterable[str | Path] = ()
) -> Path:
    """Refuse ``path`` as an export target unless writing there is safe; return it.

    Refused always: the workspace files in ``protect`` (and their -wal, -shm
    and -journal files) by resolved path or device+inode, any SQLite file, a
    directory, FIFO, socket or device. Refused without ``force``: any existing
    file (a dangling symlink included).
    """
    path = Path(path).expanduser()
    directory = path.parent if str(path.parent) else Path(".")
    try:
        if not directory.is_dir():
            raise ExportError(f"cannot export to {path}: directory {directory} does not exist")
        resolved = path.resolve()
        target = os.stat(path) if path.exists() else None
        exists = target is not None or path.is_symlink()
        for ws in protect:
            ws_path = Path(ws).expanduser()
            for side in _WORKSPACE_SIDE_FILES:
                guarded = Path(str(ws_path) + side)
                same_path = guarded.resolve() == resolved
                same_inode = (
                    target is not None and guarded.exists() and _same_file(os.stat(guarded), target)
                )
                if same_path or same_inode:
                    raise ExportError(
                        f"cannot export to {path}: it is the workspace {ws_path}"
                        f"{' (' + side.lstrip('-') + ' file)' if side else ''};"
                        " choose another file name"
                    )
        if target is not None:
            mode = target.st_mode
            if stat.S_ISDIR(mode):
                raise ExportError(f"cannot export to {path}: it is a directory")
            if not stat.S_ISREG(mode):
                kind = (
                    "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
                    else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                    else "not a regular file"
                )  # fmt: skip
                raise ExportError(
                    f"cannot export to {path}: it is {kind}; exports only write regular files"
                )
            if _is_sqlite_file(path):
                raise ExportError(
                    f"cannot export to {path}: it is a SQLite database (a workspace?);"
                    " exports never replace one"
                )
        if exists and not force:
            raise ExportError(
                f"cannot export to {path}: the file exists; use --force to replace it,"
                " or another name"
            )
    except OSError as exc:
        raise ExportError(f"cannot export to {path}: {_why(exc)}") from None
    return path


def _place(tmp: Path, path: Path, force: bool) -> None:
    """Move the finished ``tmp`` onto ``path``; without ``force`` never replace a file."""
    if not force:
        try:
            os.link(tmp, path)
            return
        except FileExistsError:
            raise ExportError(
                f"cannot export to {path}: the file appeared while exporting; use --force"
                " to replace it"
            ) from None
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV,
                                 errno.EMLINK):  # fmt: skip
                raise
            # a file system without hard links: check once more, then rename
            if os.path.lexists(path):
                raise ExportError(
                    f"cannot export to {path}: the file appeared while exporting; use --force"
                    " to replace it"
                ) from None
    os.replace(tmp, path)


def _forget(exc: BaseException) -> None:
    """Free what a failed writer still holds, quietly (an open zip file would else
    print 'Exception ignored' when it is collected later)."""
    import gc
    import sys
    import traceback

    if exc.__traceback__ is not None:
        traceback.clear_frames(exc.__traceback__)
    hook = sys.unraisablehook
    sys.unraisablehook = lambda _unraisable: None
    try:
        gc.collect()
    finally:
        sys.unraisablehook = hook


@contextlib.contextmanager
def _atomic_target(path: Path, *, force: bool = False, protect: Iterable[str | Path] = ()):
    """A temporary path beside ``path``, moved onto it when the block succeeds."""
    protect = tuple(protect)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise ExportError(f"cannot export to {path}: directory {directory} does not exist")
    check_target(path, force=force, protect=protect)
    try:
        tempfiles.sweep_beside(path, "export")  # leftovers of a killed export
        tmp = tempfiles.make_file(directory, f".{path.name}.export", ".tmp")
    except OSError as exc:
        raise ExportError(f"cannot export to {path}: {_why(exc)}") from None
    # mkstemp makes the file private: give it the mode of the file it replaces, else 0644
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    try:
        with tempfiles.removed_on_signals():  # SIGTERM runs the finally below
            yield tmp
        os.chmod(tmp, mode)
        check_target(path, force=force, protect=protect)  # unchanged while we wrote?
        _place(tmp, path, force)
    except ExportError:
        raise
    except Exception as exc:
        from xlsxwriter.exceptions import XlsxWriterException

        if not isinstance(exc, OSError | pl.exceptions.PolarsError | XlsxWriterException):
            raise
        message = f"cannot export to {path}: {_why(exc)}"
        _forget(exc)
        raise ExportError(message) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_text_atomic(
    path: str | Path, text: str, *, force: bool = False, protect: Iterable[str | Path] = ()
) -> Path:
    """Write ``text`` (UTF-8, LF) through a temporary file beside ``path``, moved into place.

    ``force`` and ``protect`` as in :func:`check_target`.
    """
    path = Path(path).expanduser()
    with _atomic_target(path, force=force, protect=protect) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="\n")
    return path


# -- values as a spreadsheet reader expects them ------------------------------------

SHARE_DECIMALS = 4  # a share 0.9566920323521964 is written 0.9567 (95.67 %)
MONEY_DECIMALS = 2  # 4020173.580000001 is written 4020173.58
OTHER_DECIMALS = 6  # scores, coefficients, days: float noise goes, the figure stays
XLSX_FORMATS = {"share": "0.0%", "money": "#,##0.00", "count": "#,##0", "days": "#,##0"}


def rounded_for_export(df: pl.DataFrame) -> pl.DataFrame:
    """``df`` with float columns rounded: money to the cent, shares to 4 decimals, others to 6.

    What a column measures comes from its name (``core.units.column_kind``). Integer,
    text and date columns are unchanged; Parquet keeps full precision (not called).
    """
    from core.units import column_kind

    exprs = []
    for name, dtype in df.schema.items():
        if dtype not in (pl.Float32, pl.Float64):
            continue
        kind = column_kind(name)
        decimals = {"share": SHARE_DECIMALS, "money": MONEY_DECIMALS}.get(kind, OTHER_DECIMALS)
        exprs.append(pl.col(name).round(decimals))
    return df.with_columns(exprs) if exprs else df


def xlsx_column_formats(df: pl.DataFrame) -> dict[str, str]:
    """{column: Excel number format}: shares as percentages, money with cents."""
    from core.units import column_kind

    out: dict[str, str] = {}
    for name, dtype in df.schema.items():
        if not dtype.is_numeric():
            continue
        kind = column_kind(name)
        if kind in XLSX_FORMATS and (kind != "count" or dtype.is_integer()):
            out[name] = XLSX_FORMATS[kind]
        elif dtype.is_float():
            out[name] = "#,##0.00"
    return out


def write_frame(
    df: pl.DataFrame,
    path: str | Path,
    *,
    sheet: str = "data",
    force: bool = False,
    protect: Iterable[str | Path] = (),
) -> Path:
    """Write ``df`` as CSV, XLSX or Parquet chosen by ``path``'s extension; return the path.

    CSV and XLSX text cells that a spreadsheet would read as a formula are
    neutralised with a leading apostrophe. ``force`` and ``protect`` as in
    :func:`check_target`.
    """
    path = Path(path).expanduser()
    fmt = _format_of(path)
    if fmt == "XLSX":
        return write_frames({sheet: df}, path, force=force, protect=protect)
    with _atomic_target(path, force=force, protect=protect) as tmp:
        if fmt == "CSV":
            neutralise_formulas(rounded_for_export(df)).write_csv(tmp)
        else:
            df.write_parquet(tmp)
    return path


def write_frames(
    frames: Mapping[str, pl.DataFrame],
    path: str | Path,
    *,
    force: bool = False,
    protect: Iterable[str | Path] = (),
) -> Path:
    """Write several frames as the sheets of one XLSX workbook (in the mapping's order).

    A sheet holds at most 1,048,575 rows under its header and 16,384 columns;
    a larger frame is refused before anything is written.
    """
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
    for name, df in frames.items():
        if df.height > XLSX_MAX_ROWS or df.width > XLSX_MAX_COLUMNS:
            raise ExportError(
                f"cannot export to {path}: sheet {name!r} has {df.height:,} rows and"
                f" {df.width:,} columns; an XLSX sheet holds at most {XLSX_MAX_ROWS:,} rows"
                f" and {XLSX_MAX_COLUMNS:,} columns; export to .csv or .parquet instead"
            )
    check_target(path, force=force, protect=protect)
    safe = {name: neutralise_formulas(rounded_for_export(df)) for name, df in frames.items()}
    with _atomic_target(path, force=force, protect=protect) as tmp:
        with Workbook(str(tmp), _WORKBOOK_OPTIONS) as workbook:
            for name, df in safe.items():
                df.write_excel(workbook=workbook, worksheet=name, autofit=True,
                               column_formats=xlsx_column_formats(df))  # type: ignore[arg-type]
    return path
