"""Reading import files into polars frames of strings, exactly as written.

A reader never interprets values: every column comes back as ``Utf8`` (empty
cells as null) plus ``ROW``, the row number a person sees when they open the
file in a spreadsheet (the header is row 1, the first data row is row 2; a CSV
record spanning several lines inside quotes counts as one row). Typing, dates
and numbers are the job of ``storage.validation``, which needs the raw text to
explain what it rejects.

Formats are recognised by their first bytes, not by the file name: gzip
(``1f 8b``, a compressed CSV), zip (``PK``, an XLSX workbook), ``PAR1``
(Parquet); anything else must look like text and is read as CSV. Text is
decoded as UTF-8 (with or without BOM) when it is valid UTF-8, else as cp1252
(the Windows "ANSI" code page Excel writes in Western Europe), else latin-1.
The delimiter is sniffed among ``,`` ``;`` tab and ``|``.

Large plain UTF-8 CSV files are streamed in batches (``iter_batches``) so a
20-million-line file never sits in memory as strings; other sources are read
whole and sliced.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from core.errors import SegscopeError

ROW = "__row"
# The first data row of a file with a header is row 2, as in a spreadsheet.
FIRST_DATA_ROW = 2
DELIMITERS = (",", ";", "\t", "|")
# Plain UTF-8 CSV files larger than this are streamed in batches.
STREAM_THRESHOLD_BYTES = 256 * 1024 * 1024
SNIFF_BYTES = 1024 * 1024


class ImportFileError(SegscopeError):
    """An import file that cannot be read: missing, empty, binary, malformed."""


def _first_line(exc: BaseException) -> str:
    """Library errors can span many lines; the CLI shows one."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


@dataclass(frozen=True)
class SourceInfo:
    """What sniffing found out about a file, enough to read it again identically."""

    path: Path
    format: str  # "csv", "xlsx" or "parquet"
    compressed: bool = False
    encoding: str = "utf-8"  # "utf-8", "cp1252" or "latin-1"
    separator: str = ","
    sheet: str | None = None
    size: int = 0
    columns: tuple[str, ...] = ()

    @property
    def streamable(self) -> bool:
        """True when the file is read in batches rather than whole."""
        return (
            self.format == "csv"
            and not self.compressed
            and self.encoding == "utf-8"
            and self.size > STREAM_THRESHOLD_BYTES
        )

    def describe(self) -> str:
        if self.format == "csv":
            sep = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}[self.separator]
            gz = "gzip-compressed " if self.compressed else ""
            return f"{gz}CSV, {self.encoding}, {sep}-separated"
        if self.format == "xlsx":
            return f"XLSX, sheet '{self.sheet}'"
        return "Parquet"


# -- format detection -----------------------------------------------------------


def _check_file(path: Path) -> int:
    if not path.exists():
        raise ImportFileError(f"{path}: no such file")
    if path.is_dir():
        raise ImportFileError(f"{path} is a directory, not a data file")
    try:
        size = path.stat().st_size
        with path.open("rb"):
            pass
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    if size == 0:
        raise ImportFileError(f"{path} is empty")
    return size


def _head(path: Path, n: int, compressed: bool) -> bytes:
    try:
        if compressed:
            with gzip.open(path, "rb") as fh:
                return fh.read(n)
        with path.open("rb") as fh:
            return fh.read(n)
    except (OSError, EOFError, zlib.error) as exc:
        raise ImportFileError(f"{path} is not a valid gzip file ({_first_line(exc)})") from None


def _looks_binary(sample: bytes) -> bool:
    if b"\x00" in sample:
        return True
    # Control characters other than tab, CR, LF, FF are rare in text exports.
    controls = sum(1 for b in sample[:8192] if b < 32 and b not in (9, 10, 12, 13))
    return controls > max(8, len(sample[:8192]) // 100)


def _detect_encoding(sample: bytes, complete: bool) -> str:
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        decoder.decode(sample, final=complete)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        # cp1252 leaves five bytes undefined; latin-1 maps every byte.
        return "latin-1"


def _sniff_separator(text: str, path: Path) -> str:
    lines = text.splitlines()[:50]
    if not lines or not lines[0].strip():
        raise ImportFileError(f"{path}: the first line is empty (expected a header row)")
    sample = "\n".join(lines)
    best, best_score = ",", (-1.0, 0)
    for sep in DELIMITERS:
        try:
            rows = list(csv.reader(io.StringIO(sample), delimiter=sep))
        except csv.Error:
            continue
        rows = [r for r in rows if r]
        if not rows:
            continue
        width = len(rows[0])
        if width < 2:
            continue
        # Ignore a possibly truncated last line of the sample.
        body = rows[1:-1] if len(rows) > 2 else rows[1:]
        consistent = sum(1 for r in body if len(r) == width) / len(body) if body else 1.0
        score = (consistent, width)
        if score > best_score:
            best, best_score = sep, score
    return best


def sniff_source(path: str | Path, sheet: str | None = None) -> SourceInfo:
    """Recognise the format, encoding and delimiter of ``path`` without reading it all."""
    path = Path(path).expanduser()
    size = _check_file(path)
    with path.open("rb") as fh:
        magic = fh.read(16)
    if magic.startswith(b"PK\x03\x04"):
        return _sniff_xlsx(path, size, sheet)
    if magic.startswith(b"PAR1"):
        if sheet is not None:
            raise ImportFileError(f"{path} is a Parquet file; --sheet only applies to XLSX")
        try:
            columns = tuple(pl.read_parquet_schema(path))
        except Exception as exc:  # polars raises several types for corrupt files
            raise ImportFileError(
                f"{path} is not a readable Parquet file ({_first_line(exc)})"
            ) from None
        return SourceInfo(path, "parquet", size=size, columns=columns)
    if magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(
            f"{path} is a legacy Excel .xls (or other OLE) file; save it as .xlsx or CSV"
        )
    if magic.startswith(b"SQLite format 3"):
        raise ImportFileError(f"{path} is a SQLite database, not a CSV, XLSX or Parquet file")
    compressed = magic.startswith(b"\x1f\x8b")
    if sheet is not None:
        raise ImportFileError(f"{path} is a CSV file; --sheet only applies to XLSX")
    sample = _head(path, SNIFF_BYTES, compressed)
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportFileError(f"{path} is UTF-16 text; save it as UTF-8 CSV")
    if sample.startswith(codecs.BOM_UTF8):
        sample = sample[len(codecs.BOM_UTF8) :]
    if not sample.strip():
        raise ImportFileError(f"{path} is empty")
    if _looks_binary(sample):
        raise ImportFileError(
            f"{path} is a binary file, not a CSV, XLSX or Parquet file (or a gzip of a CSV)"
        )
    complete = len(sample) < SNIFF_BYTES - 3
    encoding = _detect_encoding(sample, complete)
    text = sample.decode(encoding if encoding != "utf-8" else "utf-8", errors="ignore")
    separator = _sniff_separator(text, path)
    header = next(csv.reader(io.StringIO(text.splitlines()[0]), delimiter=separator))
    return SourceInfo(
        path,
        "csv",
        compressed=compressed,
        encoding=encoding,
        separator=separator,
        size=size,
        columns=tuple(h.strip() for h in header),
    )


def _sniff_xlsx(path: Path, size: int, sheet: str | None) -> SourceInfo:
    import fastexcel

    try:
        reader = fastexcel.read_excel(str(path))
        names = list(reader.sheet_names)
    except Exception as exc:  # fastexcel raises its own hierarchy
        raise ImportFileError(
            f"{path} is not a readable XLSX workbook ({_first_line(exc)})"
        ) from None
    if not names:
        raise ImportFileError(f"{path} has no sheets")
    if sheet is None:
        sheet = names[0]
    elif sheet not in names:
        listed = ", ".join(f"'{n}'" for n in names)
        raise ImportFileError(f"{path} has no sheet '{sheet}'; its sheets are {listed}")
    return SourceInfo(path, "xlsx", sheet=sheet, size=size)


# -- reading -------------------------------------------------------------------


def _csv_bytes(info: SourceInfo) -> bytes:
    """The whole CSV as UTF-8 bytes (decompressed and transcoded when needed)."""
    try:
        if info.compressed:
            with gzip.open(info.path, "rb") as fh:
                data = fh.read()
        else:
            data = info.path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise ImportFileError(f"cannot read {info.path}: {_first_line(exc)}") from None
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    if info.encoding != "utf-8":
        data = data.decode(info.encoding, errors="replace").encode("utf-8")
    return data


def _csv_options(info: SourceInfo) -> dict:
    return {
        "separator": info.separator,
        "infer_schema": False,
        "has_header": True,
        "row_index_name": ROW,
        "row_index_offset": FIRST_DATA_ROW,
        "quote_char": '"',
        "raise_if_empty": True,
    }


def _ragged_line(data: bytes, separator: str) -> tuple[int, int, int] | None:
    """(line number, fields, expected) of the first record whose width differs."""
    reader = csv.reader(io.StringIO(data.decode("utf-8", errors="replace")), delimiter=separator)
    width = None
    for record in reader:
        if width is None:
            width = len(record)
            continue
        if record and len(record) != width:
            return reader.line_num, len(record), width
    return None


def _read_csv_frame(info: SourceInfo, data: bytes | None = None) -> pl.DataFrame:
    if data is None:
        data = _csv_bytes(info)
    try:
        frame = pl.read_csv(data, **_csv_options(info))
    except pl.exceptions.NoDataError:
        raise ImportFileError(f"{info.path} is empty") from None
    except pl.exceptions.ComputeError as exc:
        if "utf-8" not in str(exc).lower():
            raise _csv_error(info, data, exc) from None
        # Valid UTF-8 in the first megabyte, not further on: the file is cp1252.
        data = data.decode("cp1252", errors="replace").encode("utf-8")
        try:
            frame = pl.read_csv(data, **_csv_options(info))
        except pl.exceptions.ComputeError as exc2:
            raise _csv_error(info, data, exc2) from None
    _check_short_rows(info, data, frame)
    return frame.rename({c: c.strip() for c in frame.columns if c != ROW})


def _csv_error(info: SourceInfo, data: bytes, exc: Exception) -> ImportFileError:
    ragged = _ragged_line(data, info.separator)
    if ragged is not None:
        line, fields, width = ragged
        return ImportFileError(
            f"{info.path}, line {line}: {fields} fields where the header has {width} "
            "(a stray delimiter or an unclosed quote?)"
        )
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return ImportFileError(f"{info.path} is not a well-formed CSV file: {first}")


def _check_short_rows(info: SourceInfo, data: bytes, frame: pl.DataFrame) -> None:
    """polars fills missing trailing fields with null; a person wants to hear about it.

    Only rows whose last field is null can be short, so only their lines are
    looked at (none, in most files). The check needs one line per record; a
    file with blank lines or records spanning lines is left to polars, which
    still reports rows that are too long.
    """
    if frame.width <= 2:
        return
    candidates = frame.select(pl.col(frame.columns[-1]).is_null().arg_true()).to_series()
    if candidates.len() == 0:
        return
    lines_total = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if lines_total != frame.height + 1:
        return
    lines = data.split(b"\n")
    picked = [lines[i + 1] for i in candidates.to_list()]
    sep = info.separator
    sep_bytes = sep.encode()
    width = frame.width - 1
    for index, raw in zip(candidates.to_list(), picked, strict=True):
        raw = raw.rstrip(b"\r")
        if not raw.strip():
            continue
        if b'"' in raw:
            text = raw.decode("utf-8", errors="replace")
            fields = len(next(csv.reader([text], delimiter=sep), []))
        else:
            # without quotes every separator ends a field (and parsing each
            # line with csv cost a second on a million accounts)
            fields = raw.count(sep_bytes) + 1
        if fields != width:
            raise ImportFileError(
                f"{info.path}, line {index + 2}: {fields} fields where the header has "
                f"{width} (a missing or stray delimiter?)"
            )


def _read_xlsx(info: SourceInfo) -> pl.DataFrame:
    try:
        frame = pl.read_excel(
            info.path, sheet_name=info.sheet, engine="calamine", infer_schema_length=0
        )
    except Exception as exc:  # fastexcel/calamine errors
        raise ImportFileError(
            f"cannot read sheet '{info.sheet}' of {info.path}: {_first_line(exc)}"
        ) from None
    frame = frame.select(pl.all().cast(pl.String)).with_row_index(ROW, offset=FIRST_DATA_ROW)
    return frame.rename({c: str(c).strip() for c in frame.columns if c != ROW})


def _read_parquet(info: SourceInfo) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(info.path)
    except Exception as exc:
        raise ImportFileError(
            f"{info.path} is not a readable Parquet file ({_first_line(exc)})"
        ) from None
    return _strings(frame).with_row_index(ROW, offset=FIRST_DATA_ROW)


def _strings(frame: pl.DataFrame) -> pl.DataFrame:
    """Typed columns as the text a CSV export would hold.

    Timestamps without fractions of a second and whole-number floats (ids
    written by pandas with NaN for missing: ``17850.0``) read as they would in a
    CSV, so the same data gives the same import whatever the format.
    """
    exprs = []
    for name, dtype in frame.schema.items():
        c = pl.col(name)
        if dtype == pl.Datetime or isinstance(dtype, pl.Datetime):
            exprs.append(c.dt.strftime("%Y-%m-%d %H:%M:%S").alias(name))
        elif dtype.is_float():
            whole = frame.select((c.is_null() | c.is_nan() | (c == c.round(0))).all()).item()
            big = frame.select(c.abs().max()).item() or 0
            if whole and big < 2**53:
                exprs.append(
                    pl.when(c.is_nan())
                    .then(None)
                    .otherwise(c)
                    .cast(pl.Int64)
                    .cast(pl.String)
                    .alias(name)
                )
            else:
                exprs.append(c.cast(pl.String))
        else:
            exprs.append(c.cast(pl.String))
    return frame.select(exprs)


def _finish(frame: pl.DataFrame, path: Path) -> pl.DataFrame:
    frame = frame.with_columns(pl.col(ROW).cast(pl.Int64))
    names = [c for c in frame.columns if c != ROW]
    if not names or all(not n for n in names):
        raise ImportFileError(f"{path} has no header row")
    return frame.select(ROW, *names)


def read_source(path: str | Path, sheet: str | None = None) -> pl.DataFrame:
    """The whole file as a frame of strings (as read) plus ``ROW``, its spreadsheet row number."""
    info = sniff_source(path, sheet)
    return read_whole(info)


def read_whole(info: SourceInfo) -> pl.DataFrame:
    if info.format == "csv":
        frame = _read_csv_frame(info)
    elif info.format == "xlsx":
        frame = _read_xlsx(info)
    else:
        frame = _read_parquet(info)
    return _finish(frame, info.path)


def iter_batches(
    info: SourceInfo, batch_size: int = 1_000_000, columns: list[str] | None = None
) -> Iterator[pl.DataFrame]:
    """The file in batches of at most ``batch_size`` rows (``ROW`` always included).

    Large plain UTF-8 CSV files are streamed; everything else is read whole and
    sliced. ``columns`` restricts the source columns read.
    """
    if not info.streamable:
        frame = read_whole(info)
        if columns is not None:
            frame = frame.select(ROW, *columns)
        for offset in range(0, max(frame.height, 1), batch_size):
            yield frame.slice(offset, batch_size)
        return
    lazy = pl.scan_csv(
        info.path,
        separator=info.separator,
        infer_schema=False,
        has_header=True,
        row_index_name=ROW,
        row_index_offset=FIRST_DATA_ROW,
        quote_char='"',
    )
    # Header names may carry spaces the sniffer stripped; select by raw name.
    raw_names = [c for c in lazy.collect_schema().names() if c != ROW]
    renames = {c: c.strip().lstrip("\ufeff") for c in raw_names}
    if columns is not None:
        wanted = set(columns)
        raw_names = [c for c in raw_names if renames[c] in wanted]
    lazy = lazy.select(ROW, *raw_names).rename({c: renames[c] for c in raw_names})
    try:
        for batch in lazy.collect_batches(chunk_size=batch_size):
            yield batch.with_columns(pl.col(ROW).cast(pl.Int64))
    except pl.exceptions.ComputeError as exc:
        message = str(exc)
        if "utf-8" in message.lower():
            raise ImportFileError(
                f"{info.path} is not valid UTF-8 beyond its first megabyte; "
                "save it as UTF-8 (large files are streamed and must be UTF-8)"
            ) from None
        if "more fields" in message:
            raise ImportFileError(
                f"{info.path}: a row has more fields than the header "
                "(a stray delimiter or an unclosed quote?)"
            ) from None
        first = message.strip().splitlines()[0] if message.strip() else type(exc).__name__
        raise ImportFileError(f"{info.path} is not a well-formed CSV file: {first}") from None


# (resolved path, size, mtime in ns) -> digest: the CLI asks for the hash of
# the same file twice (no-op check, then prepare), and hashing 2 GB takes 4 s.
_DIGESTS: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path, chunk: int = 8 * 1024 * 1024) -> str:
    """The SHA-256 of the file, remembered while its size and mtime stay the same."""
    import hashlib

    key = (str(Path(path).resolve()), *file_stamp(path))
    if key in _DIGESTS:
        return _DIGESTS[key]
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    if file_stamp(path) == key[1:]:  # not rewritten while we read it
        _DIGESTS[key] = digest.hexdigest()
    return digest.hexdigest()


def file_stamp(path: Path) -> tuple[int, int]:
    """(size, mtime in ns): cheap check that a file did not change between two reads."""
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns
