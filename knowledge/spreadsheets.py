"""FAQ entries read from and written to CSV and Excel (.xlsx) files, checked row by row.

A file has a header row naming its columns, in English or Chinese (問題, 答案, 分類, 語言, 狀態, 其他問法,
編號, 標籤), in any order and case; other columns are ignored. Row numbers are the ones a person sees in
Excel, the header being row 1.

Formulas: a cell Excel would compute (an .xlsx formula cell, or a CSV cell starting with "=") is refused,
because its text is not what the curator saw; cells starting with "+", "-" or "@" are kept as text, since
Markdown lists, phone numbers and mentions start that way. A leading apostrophe before any of the four is
the spreadsheet way of saying "this is text" and is removed. On export every such cell is neutralised: an
apostrophe is put before it in CSV, and in .xlsx it is stored as text with Excel's quote prefix, so opening
an export can never run a formula.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import unicodedata
import zipfile
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Literal

import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

# The columns in export order; the first three are the curator's key and the entry itself.
COLUMNS = ("external_id", "question", "answer", "alternatives", "category", "tags", "language", "status")
REQUIRED_COLUMNS = ("question", "answer")

_COLUMN_ALIASES = {
    "external_id": ("external_id", "external id", "id", "key", "編號", "外部編號", "代號"),
    "question": ("question", "問題", "題目"),
    "answer": ("answer", "答案", "回答", "解答"),
    "alternatives": ("alternatives", "alternative questions", "其他問法", "相似問法", "同義問法"),
    "category": ("category", "分類", "類別"),
    "tags": ("tags", "tag", "標籤"),
    "language": ("language", "lang", "語言"),
    "status": ("status", "狀態"),
}
_LANGUAGE_ALIASES = {
    "en": ("en", "eng", "english", "en-us", "en-gb", "英文", "英語"),
    "zh-hant": (
        "zh-hant",
        "zh-tw",
        "zh-hant-tw",
        "zh-hk",
        "zh-hant-hk",
        "zh",
        "chinese",
        "traditional chinese",
        "中文",
        "繁體中文",
        "繁體",
        "繁中",
        "正體中文",
    ),
}
_STATUS_ALIASES = {
    "draft": ("draft", "草稿"),
    "published": ("published", "publish", "已發布", "已發佈", "發布", "發佈"),
    "archived": ("archived", "archive", "封存", "已封存", "歸檔"),
}

# The FaqEntry model's column sizes.
_MAX_EXTERNAL_ID_CHARS = 100
_MAX_CATEGORY_CHARS = 100
_MAX_TAG_CHARS = 50
# An .xlsx is a zip of XML: refuse one that would unpack to far more than any FAQ list does.
_MAX_UNPACKED_BYTES = 200 * 1024 * 1024

# Cells starting with these are run as formulas by spreadsheet programs (OWASP's CSV injection list).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class SpreadsheetError(ValueError):
    """A file that cannot be read as an FAQ list at all, with a message that tells the curator what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class FaqRow:
    """One FAQ entry as a spreadsheet row holds it, with its language and status already normalised."""

    question: str
    answer: str
    external_id: str = ""
    category: str = ""
    language: str = "zh-hant"
    status: str = "draft"
    alternatives: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    # Where the row was read from; two rows with the same content are equal wherever they sat.
    row_number: int = field(default=0, compare=False)


@dataclass(frozen=True)
class RowError:
    """A row that was not imported, with every reason a person needs to fix it."""

    row_number: int
    reasons: tuple[str, ...]
    external_id: str = ""
    # The row's question as written, so a person can find the row; not part of what makes two errors equal.
    question: str = field(default="", compare=False)

    @property
    def message(self) -> str:
        return f"Row {self.row_number}: " + "; ".join(self.reasons) + "."


@dataclass(frozen=True)
class ParsedSheet:
    """The rows of a file that can be imported, and those that cannot with the reasons why."""

    rows: tuple[FaqRow, ...]
    errors: tuple[RowError, ...]
    ignored_columns: tuple[str, ...] = ()  # header cells that name no column Lantern knows
    # The known columns the header names, in COLUMNS order: a column the file lacks says nothing about a value.
    columns: tuple[str, ...] = COLUMNS


@dataclass(frozen=True)
class _Cell:
    text: str
    formula: bool = False


# The non-blank rows of a sheet, each with its row number.
_Records = Generator[tuple[int, list[_Cell]], None, None]


def read_faq_rows(
    filename: str,
    content: bytes,
    *,
    max_rows: int = 5000,
    max_question_chars: int = 1000,
    max_answer_chars: int = 20000,
) -> ParsedSheet:
    """FAQ rows from a CSV or .xlsx file; bad rows come back as errors, a bad file raises SpreadsheetError."""
    records, header_row_number, positions, ignored_columns = _open_sheet(filename, content)
    rows: list[FaqRow] = []
    errors: list[RowError] = []
    first_row_by_external_id: dict[str, int] = {}
    for row_number, cells in records:
        if len(rows) + len(errors) == max_rows:
            raise SpreadsheetError(
                f"{filename} has more than {max_rows:,} rows: split it into files of at most {max_rows:,} rows."
            )
        values = {
            column: cells[position] if position < len(cells) else _Cell("") for column, position in positions.items()
        }
        result = _faq_row(
            row_number,
            values,
            first_row_by_external_id=first_row_by_external_id,
            max_question_chars=max_question_chars,
            max_answer_chars=max_answer_chars,
        )
        if isinstance(result, FaqRow):
            rows.append(result)
        else:
            errors.append(result)
    if not rows and not errors:
        raise SpreadsheetError(f"{filename} has a header (row {header_row_number}) but no FAQ rows under it.")
    return ParsedSheet(
        rows=tuple(rows),
        errors=tuple(errors),
        ignored_columns=ignored_columns,
        columns=tuple(column for column in COLUMNS if column in positions),
    )


def check_faq_spreadsheet(filename: str, content: bytes) -> None:
    """Raise SpreadsheetError when the file cannot be an FAQ list at all (its type, its encoding, its header),
    reading no further than its first FAQ row: quick enough for an upload form."""
    records, header_row_number, _positions, _ignored_columns = _open_sheet(filename, content)
    try:
        if next(records, None) is None:
            raise SpreadsheetError(f"{filename} has a header (row {header_row_number}) but no FAQ rows under it.")
    finally:
        records.close()


def _open_sheet(filename: str, content: bytes) -> tuple[_Records, int, dict[str, int], tuple[str, ...]]:
    """The records after the header, the header's row number, the known columns' positions, the ignored ones."""
    suffix = PurePath(filename).suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        hint = " Save it in Excel as .xlsx, or as CSV UTF-8." if suffix in (".xls", ".ods", ".numbers") else ""
        raise SpreadsheetError(f"Lantern reads FAQ lists from .csv or .xlsx files, not {filename}.{hint}")
    if not content:
        raise SpreadsheetError(f"{filename} is empty: choose the file again, or check it was saved.")
    records = _csv_records(filename, content) if suffix == ".csv" else _xlsx_records(filename, content)
    header_row_number, header = next(records, (0, []))
    if not header:
        raise SpreadsheetError(f"{filename} is empty: it has no header row.")
    positions, ignored_columns = _column_positions(filename, [cell.text for cell in header])
    return records, header_row_number, positions, ignored_columns


def write_faq_rows(rows: Iterable[FaqRow], *, format: Literal["csv", "xlsx"]) -> bytes:
    """FAQ rows as a CSV (UTF-8 with a BOM, for Excel) or .xlsx file that read_faq_rows reads back."""
    table = [[_export_value(row, column) for column in COLUMNS] for row in rows]
    if format == "csv":
        return _write_csv(table)
    if format == "xlsx":
        return _write_xlsx(table)
    raise ValueError(f"Unknown format {format!r}: use 'csv' or 'xlsx'.")


def _faq_row(
    row_number: int,
    values: dict[str, _Cell],
    *,
    first_row_by_external_id: dict[str, int],
    max_question_chars: int,
    max_answer_chars: int,
) -> FaqRow | RowError:
    """The row as an FAQ entry, or every reason it cannot be one."""
    text = {column: cell.text for column, cell in values.items()}
    external_id = text.get("external_id", "")
    question = text["question"]
    answer = text["answer"]
    category = text.get("category", "")
    reasons = []
    if not question:
        reasons.append("the question is empty")
    if not answer:
        reasons.append("the answer is empty")
    reasons += [
        f"the {column} cell is a formula, so its text is not what Excel shows: paste it as a value, "
        "or start it with an apostrophe (') to keep the = as text"
        for column, cell in values.items()
        if cell.formula
    ]
    reasons += _too_long("question", question, max_question_chars)
    reasons += _too_long("answer", answer, max_answer_chars)
    reasons += _too_long("external_id", external_id, _MAX_EXTERNAL_ID_CHARS)
    reasons += _too_long("category", category, _MAX_CATEGORY_CHARS)

    alternatives = tuple(
        alternative
        for alternative in dict.fromkeys(line.strip() for line in text.get("alternatives", "").split("\n"))
        if alternative and alternative != question
    )
    for alternative in alternatives:
        reasons += _too_long("alternative question", alternative, max_question_chars)
    tags = tuple(dict.fromkeys(tag.strip() for tag in re.split(r"[,，、\n]", text.get("tags", "")) if tag.strip()))
    for tag in tags:
        reasons += _too_long(f"tag '{tag[:20]}…'", tag, _MAX_TAG_CHARS)

    language = _normalised(text.get("language", ""), _LANGUAGE_ALIASES, default="zh-hant")
    if language is None:
        reasons.append(
            f"the language '{text['language']}' is not one Lantern answers in: write zh-hant or en "
            "(中文, zh-TW and English are understood too)"
        )
    status = _normalised(text.get("status", ""), _STATUS_ALIASES, default="draft")
    if status is None:
        reasons.append(
            f"the status '{text['status']}' is not one Lantern knows: write draft, published or archived "
            "(草稿, 已發布 or 封存)"
        )

    if external_id:
        first_row = first_row_by_external_id.setdefault(external_id, row_number)
        if first_row != row_number:
            reasons.append(f"the external_id '{external_id}' is already used in row {first_row}")

    if reasons:
        return RowError(row_number=row_number, reasons=tuple(reasons), external_id=external_id, question=question)
    return FaqRow(
        question=question,
        answer=answer,
        external_id=external_id,
        category=category,
        language=language or "zh-hant",
        status=status or "draft",
        alternatives=alternatives,
        tags=tags,
        row_number=row_number,
    )


def _too_long(name: str, text: str, limit: int) -> list[str]:
    if len(text) <= limit:
        return []
    return [f"the {name} is {len(text):,} characters long; at most {limit:,} fit"]


def _normalised(value: str, aliases: dict[str, Sequence[str]], *, default: str) -> str | None:
    """The canonical name of a value in any accepted spelling; the default when blank; None if unknown."""
    key = _alias_key(value)
    if not key:
        return default
    for canonical, spellings in aliases.items():
        if key in (_alias_key(spelling) for spelling in spellings):
            return canonical
    return None


def _alias_key(value: str) -> str:
    """A header or value as compared: NFKC, lowercase, with runs of spaces, hyphens and underscores alike."""
    return re.sub(r"[\s_\-]+", "-", unicodedata.normalize("NFKC", value).strip().lower())


def _column_positions(filename: str, header: Sequence[str]) -> tuple[dict[str, int], tuple[str, ...]]:
    """Where each known column is in the header, and the header cells that name no known column."""
    columns_by_key = {_alias_key(alias): column for column, aliases in _COLUMN_ALIASES.items() for alias in aliases}
    positions: dict[str, int] = {}
    ignored: list[str] = []
    for position, name in enumerate(header):
        column = columns_by_key.get(_alias_key(name))
        if column is None:
            if name:
                ignored.append(name)
        elif column in positions:
            raise SpreadsheetError(
                f"{filename} has two {column} columns, '{header[positions[column]]}' and '{name}': keep one."
            )
        else:
            positions[column] = position
    missing = [column for column in REQUIRED_COLUMNS if column not in positions]
    if missing:
        accepted = "; ".join(f"{column}: " + ", ".join(_COLUMN_ALIASES[column]) for column in missing)
        raise SpreadsheetError(
            f"{filename} has no {' or '.join(missing)} column: "
            f"name it in the header row, the first row of the sheet ({accepted})."
        )
    return positions, tuple(ignored)


def _csv_records(filename: str, content: bytes) -> _Records:
    """The non-blank rows of a CSV file with their row numbers."""
    if b"\x00" in content or content.startswith(b"PK\x03\x04"):
        raise SpreadsheetError(
            f"{filename} is not a CSV text file: it may be an Excel file renamed. Upload it as .xlsx."
        )
    text = _decode_csv(filename, content)
    # Only the delimiter is sniffed from the header (Excel writes ";" in some countries); quoting is Excel's.
    try:
        delimiter = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), csv.excel, delimiter=delimiter)
    try:
        for row_number, values in enumerate(reader, start=1):
            cells = [_imported_cell(value, formula=value.lstrip().startswith("=")) for value in values]
            if any(cell.text for cell in cells):
                yield row_number, cells
    except csv.Error as error:
        raise SpreadsheetError(f"{filename} could not be read as CSV ({error}): save it again as CSV UTF-8.") from error


def _decode_csv(filename: str, content: bytes) -> str:
    """UTF-8, with or without a BOM; else Big5 (cp950), as Excel on Traditional Chinese Windows saves."""
    for encoding in ("utf-8-sig", "cp950"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise SpreadsheetError(
        f"{filename} is not UTF-8 text: in Excel choose Save As, then 'CSV UTF-8 (逗號分隔)', and upload that file."
    )


def _xlsx_records(filename: str, content: bytes) -> _Records:
    """The non-blank rows of the first worksheet of an .xlsx file with their row numbers."""
    damaged = (
        f"{filename} could not be opened as an .xlsx file: it may be damaged, password-protected or an old "
        ".xls renamed. Save it again in Excel as .xlsx without a password."
    )
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked_bytes = sum(member.file_size for member in archive.infolist())
    except zipfile.BadZipFile as error:
        raise SpreadsheetError(damaged) from error
    if unpacked_bytes > _MAX_UNPACKED_BYTES:
        raise SpreadsheetError(f"{filename} unpacks to far more data than an FAQ list holds: check the file.")
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=False)
    except Exception as error:  # openpyxl raises many kinds of errors on damaged files
        raise SpreadsheetError(damaged) from error
    try:
        worksheet = workbook.worksheets[0]
        worksheet.reset_dimensions()  # the stored size of a sheet is sometimes wrong; read every row instead
        for row_number, row in enumerate(worksheet.iter_rows(), start=1):
            cells = [_imported_cell(_cell_text(cell.value), formula=cell.data_type == "f") for cell in row]
            if any(cell.text for cell in cells):
                yield row_number, cells
    finally:
        workbook.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def _imported_cell(value: str, *, formula: bool) -> _Cell:
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if text[:1] == "'" and text[1:2] in ("=", "+", "-", "@"):
        return _Cell(text[1:])
    return _Cell(text, formula=formula)


def _export_value(row: FaqRow, column: str) -> str:
    if column == "alternatives":
        return "\n".join(row.alternatives)
    if column == "tags":
        return ", ".join(row.tags)
    return getattr(row, column)


def _write_csv(table: Sequence[Sequence[str]]) -> bytes:
    output = io.StringIO(newline="")
    writer = csv.writer(output)
    writer.writerow(COLUMNS)
    for values in table:
        writer.writerow(["'" + value if value.startswith(_FORMULA_STARTS) else value for value in values])
    return output.getvalue().encode("utf-8-sig")


def _write_xlsx(table: Sequence[Sequence[str]]) -> bytes:
    workbook = openpyxl.Workbook()
    worksheet = workbook.active
    worksheet.title = "FAQ"
    worksheet.append(COLUMNS)
    for cell in worksheet[1]:
        cell.font = Font(bold=True)
    worksheet.freeze_panes = "A2"
    for row_number, values in enumerate(table, start=2):
        for column_number, value in enumerate(values, start=1):
            cell = worksheet.cell(row=row_number, column=column_number, value=ILLEGAL_CHARACTERS_RE.sub("", value))
            # Stored as text, never as a formula; the quote prefix keeps it text when someone edits the cell.
            cell.data_type = "s"
            if value.startswith(_FORMULA_STARTS):
                cell.quotePrefix = True
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()
