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
import re
import stat
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from core.errors import SegscopeError, UsageError
from storage import limits

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
    encoding: str = "utf-8"  # "utf-8", "cp1252", "latin-1", "cp932" or one given
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


def _check_header(names: Sequence[object], path: Path, where: str = "") -> None:
    """Refuse a header too wide to import, or with two columns of the same name.

    Names are compared with surrounding spaces stripped (``name`` and
    ``name `` are the same column to a person, and to the mapping).
    """
    if len(names) > limits.MAX_IMPORT_COLUMNS:
        raise ImportFileError(
            f"{path}{where} has {len(names):,} columns; segscope imports at most "
            f"{limits.MAX_IMPORT_COLUMNS:,} columns a file (drop the columns you do not need)"
        )
    seen: dict[str, int] = {}
    for number, raw in enumerate(names, start=1):
        name = str(raw).strip().lstrip("\ufeff")
        if not name:
            continue
        if name in seen:
            raise ImportFileError(
                f"{path}{where}: columns {seen[name]} and {number} are both named '{name}' "
                "(ignoring surrounding spaces); rename one of them"
            )
        seen[name] = number


_NOT_REGULAR = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _check_file(path: Path) -> int:
    # os.stat before any open(): opening a FIFO for reading blocks until a
    # writer comes, and a device can stream forever.
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ImportFileError(f"{path}: no such file") from None
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise ImportFileError(f"{path} is a directory, not a data file")
    if not stat.S_ISREG(st.st_mode):
        what = next((name for test, name in _NOT_REGULAR if test(st.st_mode)), "not a file")
        raise ImportFileError(f"{path} is {what}, not a regular file; import a saved file")
    try:
        # Opened without blocking and checked again: the path may have been
        # swapped for a FIFO since the stat above.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        try:
            st = os.fstat(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise ImportFileError(f"{path} is not a regular file; import a saved file")
    size = st.st_size
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


# Japanese text: hiragana, katakana, CJK ideographs, full-width ASCII forms.
# Not the half-width katakana: GBK, Big5 and EUC bytes read as Shift-JIS
# come out as those.
_JAPANESE = re.compile(r"[\u3000-\u30ff\u4e00-\u9fff\uff01-\uff5e]")
_JAPANESE_RUN = re.compile(r"[\u3000-\u30ff\u4e00-\u9fff\uff01-\uff5e]{2,}")
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]{3,}")
ENCODING_HINT = (
    "save it as UTF-8, or name its encoding with --encoding "
    "(e.g. cp1252, latin-1, shift_jis, gbk, big5, euc_kr)"
)


def _decodes(sample: bytes, encoding: str, complete: bool) -> str | None:
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    try:
        return decoder.decode(sample, final=complete)
    except UnicodeDecodeError:
        return None


def _looks_japanese(text: str) -> bool:
    """Shift-JIS read as Shift-JIS: many Japanese characters, nearly all in runs.

    A Western cp1252 file can decode as Shift-JIS too (``John’s`` gives one
    ideograph between ASCII letters); Japanese words are runs of them.
    """
    odd = sum(1 for ch in text if ord(ch) > 127)
    japanese = len(_JAPANESE.findall(text))
    if japanese < 4 or japanese < odd * 0.9:
        return False
    in_runs = sum(len(run) for run in _JAPANESE_RUN.findall(text))
    return in_runs >= japanese * 0.8


def _looks_western(text: str) -> bool:
    """cp1252/latin-1 text of a Western language: accented letters mostly alone.

    Double-byte encodings (GBK, Big5, EUC-KR) read as cp1252 turn every
    character into a pair of accented letters, so their words are long runs.
    """
    odd = [ch for ch in text if ord(ch) > 127]
    if not odd:
        return True
    controls = sum(1 for ch in odd if ord(ch) < 0xA0)  # C1 controls: latin-1 only
    if controls > max(2, len(odd) // 100):
        return False
    in_runs = sum(len(run) for run in _NON_ASCII_RUN.findall(text))
    return in_runs <= len(odd) * 0.2


def _detect_encoding(sample: bytes, complete: bool, path: Path | None = None) -> str:
    """UTF-8 when valid; Shift-JIS (cp932) when it reads as Japanese; cp1252 or
    latin-1 when it reads as a Western language; otherwise refused."""
    if _decodes(sample, "utf-8", complete) is not None:
        return "utf-8"
    japanese = _decodes(sample, "cp932", complete)
    if japanese is not None and _looks_japanese(japanese):
        return "cp932"
    western = _decodes(sample, "cp1252", complete)
    if western is not None and _looks_western(western):
        return "cp1252"
    # cp1252 leaves five bytes undefined; latin-1 maps every byte.
    if western is None and _looks_western(sample.decode("latin-1")):
        return "latin-1"
    raise ImportFileError(
        f"{path} is not UTF-8 and does not read as Western European (cp1252) or "
        f"Shift-JIS text; {ENCODING_HINT}"
    )


def _given_encoding(sample: bytes, complete: bool, encoding: str, path: Path) -> str:
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise UsageError(f"--encoding '{encoding}' is not an encoding Python knows") from None
    decoder = codecs.getincrementaldecoder(name)("strict")
    try:
        decoder.decode(sample, final=complete)
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"{path} is not valid {name}: byte {exc.start} ({sample[exc.start : exc.start + 1]!r}) "
            f"cannot be decoded; {ENCODING_HINT}"
        ) from None
    return name


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


def sniff_source(
    path: str | Path, sheet: str | None = None, encoding: str | None = None
) -> SourceInfo:
    """Recognise the format, encoding and delimiter of ``path`` without reading it all.

    ``encoding`` (``--encoding``) names the text encoding of a CSV file instead
    of detecting it.
    """
    path = Path(path).expanduser()
    size = _check_file(path)
    with path.open("rb") as fh:
        magic = fh.read(16)
    if encoding is not None and magic.startswith((b"PK\x03\x04", b"PAR1")):
        raise UsageError(f"--encoding applies to CSV files only; {path} is XLSX or Parquet")
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
        _check_header(columns, path)
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
    if encoding is not None:
        encoding = _given_encoding(sample, complete, encoding, path)
    else:
        encoding = _detect_encoding(sample, complete, path)
    text = sample.decode(encoding, errors="ignore")
    separator = _sniff_separator(text, path)
    header = next(csv.reader(io.StringIO(text.splitlines()[0]), delimiter=separator))
    _check_header(header, path)
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
    _check_xlsx_bounds(path, sheet)
    return SourceInfo(path, "xlsx", sheet=sheet, size=size)


# -- XLSX bounds -------------------------------------------------------------------
#
# calamine (under fastexcel) allocates a sheet's whole used range, from the
# first to the last cell however empty the cells between, and reserves room
# for the range its <dimension> element claims. One value in XFD1048576 asks
# for 17 billion cells. So before it is handed over, the sheet's XML is
# scanned (streamed from the zip, a regex over each chunk) for its dimension
# and the rows and columns of its cells, and a range past the limits of
# storage.limits is refused.

_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_DIMENSION = re.compile(
    rb"<(?:\w+:)?dimension\b[^>]*?\sref=\"([A-Z]{1,3})([0-9]{1,7})(?::([A-Z]{1,3})([0-9]{1,7}))?\""
)
_CELL_COLUMN = re.compile(rb"<(?:\w+:)?c\s[^>]*?\br=\"([A-Z]{1,3})[0-9]")
_CELL_ROW = re.compile(rb"<(?:\w+:)?c\s[^>]*?\br=\"[A-Z]{1,3}([0-9]{1,7})\"")
_ROW_NUMBER = re.compile(rb"<(?:\w+:)?row\s[^>]*?\br=\"([0-9]{1,7})\"")
_SCAN_CHUNK = 16 * 1024 * 1024
_SMALL_PART = 64 * 1024 * 1024  # workbook.xml and its relationships


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n


def _column_letters(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def _numeric_extremes(found: list[bytes]) -> tuple[int, int]:
    """(min, max) of decimal digit strings without converting each one."""
    longest = max(map(len, found))
    shortest = min(map(len, found))
    return (
        int(min(x for x in found if len(x) == shortest)),
        int(max(x for x in found if len(x) == longest)),
    )


def _sheet_part(zf: object, sheet: str) -> str | None:
    """The zip member holding ``sheet`` (None when the workbook does not say)."""
    import posixpath
    import xml.etree.ElementTree as ET

    def small_xml(name: str) -> ET.Element | None:
        try:
            info = zf.getinfo(name)  # type: ignore[attr-defined]
        except KeyError:
            return None
        if info.file_size > _SMALL_PART:
            raise ImportFileError(f"{name} in the workbook is {info.file_size:,} bytes; refused")
        return ET.fromstring(zf.read(name))  # type: ignore[attr-defined]

    workbook = small_xml("xl/workbook.xml")
    rels = small_xml("xl/_rels/workbook.xml.rels")
    if workbook is None or rels is None:
        return None
    rel_id = next(
        (
            el.get(_REL_NS)
            for el in workbook.iter()
            if el.tag.endswith("}sheet") and el.get("name") == sheet
        ),
        None,
    )
    target = next(
        (el.get("Target") for el in rels.iter() if el.get("Id") == rel_id and rel_id), None
    )
    if not target:
        return None
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join("xl", target))


# (resolved path, size, mtime in ns, sheet) of sheets already found inside the
# bounds: the CLI sniffs a file twice (no-op check, then prepare).
_XLSX_CHECKED: set[tuple[str, int, int, str]] = set()


def _check_xlsx_bounds(path: Path, sheet: str) -> None:
    key = (str(path.resolve()), *file_stamp(path), sheet)
    if key not in _XLSX_CHECKED:
        _scan_xlsx_bounds(path, sheet)
        _XLSX_CHECKED.add(key)


def _scan_xlsx_bounds(path: Path, sheet: str) -> None:
    import xml.etree.ElementTree as ET
    import zipfile

    where = f"{path}, sheet '{sheet}'"
    try:
        with zipfile.ZipFile(path) as zf:
            part = _sheet_part(zf, sheet)
            if part is None:
                return  # fastexcel explains what is missing
            for name in (part, "xl/sharedStrings.xml"):
                try:
                    info = zf.getinfo(name)
                except KeyError:
                    continue
                if info.file_size > limits.MAX_XLSX_PART_BYTES:
                    raise ImportFileError(
                        f"{where}: {name} unpacks to {info.file_size:,} bytes, beyond the "
                        f"limit of {limits.MAX_XLSX_PART_BYTES:,}; save the sheet as CSV"
                    )
            with zf.open(part) as fh:
                rows, cols, claimed = _scan_sheet(fh, where)
    except ImportFileError:
        raise
    except (zipfile.BadZipFile, ET.ParseError, OSError, EOFError, zlib.error, KeyError) as exc:
        raise ImportFileError(
            f"{path} is not a readable XLSX workbook ({_first_line(exc)})"
        ) from None
    ranges = [(rows, cols, "holds cells")]
    if claimed is not None:
        ranges.append((*claimed, "declares a used range"))
    for (r0, r1), (c0, c1), what in ranges:
        n_rows, n_cols = r1 - r0 + 1, c1 - c0 + 1
        span = f"{_column_letters(c0)}{r0}:{_column_letters(c1)}{r1}"
        if (
            n_cols > limits.MAX_XLSX_COLUMNS
            or n_rows > limits.MAX_XLSX_ROWS
            or (n_rows * n_cols > limits.MAX_XLSX_CELLS)
        ):
            raise ImportFileError(
                f"{where} {what} over {span} ({n_rows:,} rows x {n_cols:,} columns); "
                f"segscope reads at most {limits.MAX_XLSX_COLUMNS:,} columns and "
                f"{limits.MAX_XLSX_CELLS:,} cells of a sheet (stray far cells? delete them, "
                "or save the data as CSV)"
            )


def _scan_sheet(
    fh: io.BufferedIOBase,
    where: str,
) -> tuple[tuple[int, int], tuple[int, int], tuple[tuple[int, int], tuple[int, int]] | None]:
    """((first row, last row), (first column, last column), dimension or None) of a sheet's XML."""
    letters: set[bytes] = set()
    cells = 0  # cells written without a position count too
    row_lo = row_hi = None
    claimed = None
    tail = b""
    first = True
    while True:
        chunk = fh.read(_SCAN_CHUNK)
        if not chunk:
            break
        block = tail + chunk
        if first:
            first = False
            m = _DIMENSION.search(block)
            if m is not None:
                a, r_a, b, r_b = m.groups()
                b, r_b = (b, r_b) if b else (a, r_a)
                claimed = (
                    (int(r_a), int(r_b)),
                    (_column_number(a), _column_number(b)),
                )
        letters.update(_CELL_COLUMN.findall(block))
        cells += block.count(b"<c ") + block.count(b"<c>") + block.count(b"<c/>")
        if cells > limits.MAX_XLSX_CELLS:
            raise ImportFileError(
                f"{where} holds more than {limits.MAX_XLSX_CELLS:,} cells, the most "
                "segscope reads of a sheet; save the data as CSV"
            )
        for pattern in (_CELL_ROW, _ROW_NUMBER):
            found = pattern.findall(block)
            if found:
                lo, hi = _numeric_extremes(found)
                row_lo = lo if row_lo is None else min(row_lo, lo)
                row_hi = hi if row_hi is None else max(row_hi, hi)
        # A tag cut at the chunk's end is scanned again with the next chunk
        # (counting a cell twice changes no extreme).
        cut = block.rfind(b"<")
        tail = block[cut:] if cut >= 0 and len(block) - cut < 4096 else b""
    if not letters or row_lo is None:
        return (1, 1), (1, 1), claimed
    numbers = [_column_number(x) for x in letters]
    return (row_lo, row_hi), (min(numbers), max(numbers)), claimed


# -- reading -------------------------------------------------------------------


def _csv_bytes(info: SourceInfo) -> bytes:
    """The whole CSV as UTF-8 bytes (decompressed and transcoded when needed)."""
    try:
        if info.compressed:
            with gzip.open(info.path, "rb") as fh:
                # a gzip bomb (a few MB that unpack to many GB) stops here
                data = fh.read(limits.MAX_GZIP_BYTES + 1)
            if len(data) > limits.MAX_GZIP_BYTES:
                raise ImportFileError(
                    f"{info.path} unpacks to more than {limits.MAX_GZIP_BYTES:,} bytes; "
                    "unpack it and import the CSV (large CSV files are streamed)"
                )
        else:
            data = info.path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise ImportFileError(f"cannot read {info.path}: {_first_line(exc)}") from None
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    if info.encoding in ("cp1252", "latin-1"):
        data = data.decode(info.encoding, errors="replace").encode("utf-8")
    elif info.encoding != "utf-8":
        try:
            data = data.decode(info.encoding).encode("utf-8")
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                f"{info.path} is not valid {info.encoding} at byte {exc.start:,}; {ENCODING_HINT}"
            ) from None
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


def _xlsx_header(info: SourceInfo) -> tuple[object, ...]:
    """The header row as written (the reader renames a repeated name to ``name_1``)."""
    import fastexcel

    try:
        sheet = fastexcel.read_excel(str(info.path)).load_sheet(
            info.sheet, header_row=None, n_rows=1
        )
        rows = sheet.to_polars()
    except Exception as exc:  # fastexcel/calamine errors
        raise ImportFileError(
            f"cannot read sheet '{info.sheet}' of {info.path}: {_first_line(exc)}"
        ) from None
    return tuple("" if v is None else v for v in rows.row(0)) if rows.height else ()


def _read_xlsx(info: SourceInfo) -> pl.DataFrame:
    try:
        frame = pl.read_excel(
            info.path, sheet_name=info.sheet, engine="calamine", infer_schema_length=0
        )
    except Exception as exc:  # fastexcel/calamine errors
        raise ImportFileError(
            f"cannot read sheet '{info.sheet}' of {info.path}: {_first_line(exc)}"
        ) from None
    _check_header(_xlsx_header(info), info.path, f", sheet '{info.sheet}'")
    frame = frame.select(pl.all().cast(pl.String)).with_row_index(ROW, offset=FIRST_DATA_ROW)
    return frame.rename({c: str(c).strip() for c in frame.columns if c != ROW})


def _read_parquet(info: SourceInfo) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(info.path)
    except Exception as exc:
        raise ImportFileError(
            f"{info.path} is not a readable Parquet file ({_first_line(exc)})"
        ) from None
    return _strings(frame, info.path).with_row_index(ROW, offset=FIRST_DATA_ROW)


def _unsupported(name: str, dtype: pl.DataType, path: Path | None, what: str) -> ImportFileError:
    return ImportFileError(
        f"{path}: column '{name}' holds {what} ({dtype}), which segscope does not import; "
        "drop the column or write it as text"
    )


def _strings(frame: pl.DataFrame, path: Path | None = None) -> pl.DataFrame:
    """Typed columns as the text a CSV export would hold.

    Timestamps without fractions of a second and whole-number floats (ids
    written by pandas with NaN for missing: ``17850.0``) read as they would in a
    CSV, so the same data gives the same import whatever the format. Times of
    day read as ``HH:MM:SS``, binary columns as text when they are UTF-8.
    Lists, maps, structs, durations and binary data that is not text have no
    meaning as one cell of an account or a line: such a column is refused by
    name.
    """
    exprs = []
    for name, dtype in frame.schema.items():
        c = pl.col(name)
        if dtype.is_nested() or isinstance(dtype, (pl.List, pl.Array, pl.Struct, pl.Map)):
            raise _unsupported(name, dtype, path, "lists, maps or records")
        if isinstance(dtype, pl.Duration):
            raise _unsupported(name, dtype, path, "durations")
        if dtype == pl.Object:
            raise _unsupported(name, dtype, path, "objects")
        if dtype == pl.Binary:
            try:
                exprs.append(c.cast(pl.String).alias(name))
                frame.select(exprs[-1])
            except Exception:  # polars: invalid utf-8 in a binary cast
                raise _unsupported(
                    name, dtype, path, "binary data that is not UTF-8 text"
                ) from None
            continue
        if dtype == pl.Time:
            exprs.append(c.dt.strftime("%H:%M:%S").alias(name))
        elif dtype == pl.Datetime or isinstance(dtype, pl.Datetime):
            exprs.append(c.dt.strftime("%Y-%m-%d %H:%M:%S").alias(name))
        elif dtype.is_float():
            whole = frame.select(
                (c.is_null() | c.is_nan() | ~c.is_finite() | (c == c.round(0))).all()
            ).item()
            big = frame.select(c.filter(c.is_finite()).abs().max()).item() or 0
            finite = frame.select((c.is_finite() | c.is_nan()).all()).item()
            if whole and big < 2**53 and finite:
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
    try:
        return frame.select(exprs)
    except Exception as exc:  # a type polars cannot write as text
        raise ImportFileError(
            f"{path}: a column cannot be read as text ({_first_line(exc)})"
        ) from None


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
