"""Uploaded documents read into sections under their headings, and sections cut into chunks for retrieval.

Markdown, HTML, plain text, PDF and Word (.docx) are read. Markdown is split at its headings; HTML is
first turned into Markdown by html2text (scripts and styles dropped), then split the same way; Word
headings come from the Heading 1-9 paragraph styles; PDF pages become one section each, numbered.
"""

from __future__ import annotations

import codecs
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import PurePath

import charset_normalizer
import docx
import html2text
import pypdf
from docx.document import Document as WordDocument
from docx.styles.style import BaseStyle
from docx.table import Table
from docx.text.paragraph import Paragraph
from markdown.extensions.toc import slugify_unicode, unique
from markdown_it import MarkdownIt
from markdown_it.token import Token

MEBIBYTE = 1024 * 1024
# A .docx is a zip of XML: refuse one that would unpack to far more than any real document does.
_MAX_UNPACKED_RATIO = 20
# More than this share of control characters means the bytes are not text, whatever the file is called.
_MAX_CONTROL_CHARACTER_SHARE = 0.01

_SUPPORTED = "Markdown (.md), HTML (.html), plain text (.txt), PDF (.pdf) or Word (.docx)"


class DocumentError(ValueError):
    """A document that cannot be read, with a message that tells the person who uploaded it what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Section:
    """The text under one heading; a heading with no text of its own keeps the outline with empty text."""

    heading_path: tuple[str, ...]
    text: str
    page: int | None = None  # the PDF page the text is on


@dataclass(frozen=True)
class ParsedDocument:
    """A document's title (its own, or its file name) and its sections in reading order."""

    title: str
    sections: tuple[Section, ...]


@dataclass(frozen=True)
class Chunk:
    """A piece of a section small enough to embed, with the headings it sits under and an anchor to it."""

    heading_path: tuple[str, ...]
    text: str
    position: int
    anchor: str  # the heading's slug, "page=3" for a PDF page, "" before the first heading
    page: int | None = None

    @property
    def heading(self) -> str:
        return " > ".join(self.heading_path)

    @property
    def indexed_text(self) -> str:
        """The text to embed and index: headings first, so a chunk is found by what its section is about."""
        return f"{self.heading}\n{self.text}" if self.heading_path else self.text


def parse_document(filename: str, content: bytes, *, max_bytes: int = 10 * MEBIBYTE) -> ParsedDocument:
    """Read an uploaded file into a title and sections, or raise DocumentError saying what is wrong."""
    _check_size(filename, content, max_bytes=max_bytes)
    suffix = PurePath(filename).suffix.lower()
    stem = PurePath(filename).stem
    if suffix in (".md", ".markdown"):
        title, sections = _read_markdown(_decode_text(filename, content))
    elif suffix in (".html", ".htm"):
        title, sections = _read_html(_decode_text(filename, content, declared=_declared_html_charset(content)))
    elif suffix == ".txt":
        title, sections = "", [Section(heading_path=(), text=_decode_text(filename, content).strip())]
    elif suffix == ".pdf":
        title, sections = _read_pdf(filename, content)
    elif suffix == ".docx":
        title, sections = _read_docx(filename, content, max_unpacked_bytes=max_bytes * _MAX_UNPACKED_RATIO)
    else:
        raise _unsupported(filename, suffix)
    if not any(section.text for section in sections):
        raise DocumentError(f"{filename} has no text in it: check it is the right file.")
    return ParsedDocument(title=title or stem, sections=tuple(sections))


def check_document(filename: str, content: bytes, *, max_bytes: int = 10 * MEBIBYTE) -> None:
    """Raise DocumentError for a file that is plainly not the kind of document its name says: quick enough for
    an upload form. A file that passes can still fail when it is read in full (a damaged or scanned PDF)."""
    _check_size(filename, content, max_bytes=max_bytes)
    suffix = PurePath(filename).suffix.lower()
    if suffix in (".md", ".markdown", ".txt", ".html", ".htm"):
        declared = _declared_html_charset(content) if suffix in (".html", ".htm") else None
        if not _decode_text(filename, content, declared=declared).strip():
            raise DocumentError(f"{filename} has no text in it: check it is the right file.")
    elif suffix == ".pdf":
        _check_pdf_header(filename, content)
    elif suffix == ".docx":
        if not zipfile.is_zipfile(io.BytesIO(content)):
            raise DocumentError(_damaged_word_document(filename))
    else:
        raise _unsupported(filename, suffix)


def _check_size(filename: str, content: bytes, *, max_bytes: int) -> None:
    if not content:
        raise DocumentError(f"{filename} is empty: choose the file again, or check it was saved.")
    if len(content) > max_bytes:
        raise DocumentError(
            f"{filename} is {len(content) / MEBIBYTE:.1f} MB; documents may be at most "
            f"{max_bytes / MEBIBYTE:g} MB. Split it into smaller files."
        )


def _unsupported(filename: str, suffix: str) -> DocumentError:
    if suffix == ".doc":
        return DocumentError(f"{filename} is an old Word file: save it as .docx in Word and upload that.")
    kind = f"{suffix} files" if suffix else "files without a type"
    return DocumentError(f"Lantern cannot read {kind} ({filename}): upload {_SUPPORTED}.")


def chunk_sections(sections: Iterable[Section], *, max_chars: int = 800, overlap_chars: int = 100) -> list[Chunk]:
    """Cut sections into chunks of at most max_chars, keeping paragraphs whole and sections apart.

    Small paragraphs under the same heading share a chunk; a paragraph longer than max_chars is cut at
    sentence ends (。！？!?.), then at line breaks, clause marks and spaces. A chunk that continues a
    section starts with up to overlap_chars of the end of the previous chunk. Headings are not counted in
    max_chars: they travel beside the text (see Chunk.indexed_text).
    """
    if max_chars < 1:
        raise ValueError("max_chars must be at least 1.")
    if not 0 <= overlap_chars <= max_chars // 2:
        raise ValueError("overlap_chars must be at least 0 and at most half of max_chars.")
    chunks: list[Chunk] = []
    used_anchors: set[str] = set()
    for section in sections:
        anchor = _anchor(section, used_anchors)
        for text in _section_texts(section.text, max_chars=max_chars, overlap_chars=overlap_chars):
            chunks.append(
                Chunk(
                    heading_path=section.heading_path,
                    text=text,
                    position=len(chunks),
                    anchor=anchor,
                    page=section.page,
                )
            )
    return chunks


def _anchor(section: Section, used_anchors: set[str]) -> str:
    """The id Python-Markdown's table of contents (slugify_unicode) gives the heading, so links land on it."""
    if section.page is not None:
        return f"page={section.page}"
    if not section.heading_path:
        return ""
    slug = slugify_unicode(section.heading_path[-1], "-")[:80]
    return unique(slug, used_anchors) if slug else ""


def _section_texts(text: str, *, max_chars: int, overlap_chars: int) -> list[str]:
    paragraphs = [paragraph.strip() for paragraph in re.split(r"\n\s*\n", text) if paragraph.strip()]
    # A long paragraph is cut short enough that each piece still has room for the overlap and a joiner.
    piece_chars = max(1, max_chars - overlap_chars - 2)
    texts: list[str] = []
    for paragraph in paragraphs:
        pieces = [paragraph] if len(paragraph) <= max_chars else _split_to_fit(paragraph, piece_chars)
        for index, piece in enumerate(pieces):
            starts_paragraph = index == 0
            if texts and starts_paragraph and len(texts[-1]) + 2 + len(piece) <= max_chars:
                texts[-1] += "\n\n" + piece
                continue
            if not texts:
                texts.append(piece)
                continue
            joiner = "\n\n" if starts_paragraph else _joiner(texts[-1])
            fits_overlap = overlap_chars > 0 and len(piece) + len(joiner) + overlap_chars <= max_chars
            tail = _tail(texts[-1], overlap_chars) if fits_overlap else ""
            texts.append(tail + joiner + piece if tail else piece)
    return texts


def _joiner(text: str) -> str:
    """How two pieces of one paragraph meet: nothing after Chinese, a space after a Western word."""
    return "" if text and ord(text[-1]) >= 0x2E80 else " "


# Where a too-long paragraph may be cut, best first: sentence ends, line breaks, clause marks, spaces.
_BREAKS = (
    re.compile(r"(?:[。！？!?]+|\.(?=\s|$))[」』”’\"'）)\]]*\s*"),
    re.compile(r"\n+"),
    re.compile(r"[，、；;：:,]\s*"),
    re.compile(r"\s+"),
)


def _split_to_fit(text: str, limit: int, level: int = 0) -> list[str]:
    if len(text) <= limit:
        return [text]
    if level == len(_BREAKS):
        return [text[start : start + limit] for start in range(0, len(text), limit)]
    pieces: list[str] = []
    for segment in _segments(text, _BREAKS[level]):
        pieces.extend(_split_to_fit(segment, limit, level + 1) if len(segment) > limit else [segment])
    return _pack(pieces, limit)


def _segments(text: str, pattern: re.Pattern[str]) -> list[str]:
    """The text cut just after each match of the pattern, keeping every character."""
    segments, start = [], 0
    for match in pattern.finditer(text):
        if match.end() > start:
            segments.append(text[start : match.end()])
            start = match.end()
    if start < len(text):
        segments.append(text[start:])
    return segments


def _pack(pieces: Sequence[str], limit: int) -> list[str]:
    packed: list[str] = []
    current = ""
    for piece in pieces:
        if current and len((current + piece).strip()) > limit:
            packed.append(current.strip())
            current = ""
        current += piece
    if current.strip():
        packed.append(current.strip())
    return [piece for piece in packed if piece]


def _tail(text: str, limit: int) -> str:
    """The last whole sentences of a text that fit in limit, or failing that its last words."""
    tail = ""
    for sentence in reversed(_segments(text, _BREAKS[0])):
        if len(sentence + tail) > limit:
            break
        tail = sentence + tail
    if tail.strip():
        return tail.strip()
    window = text[-limit:]
    if len(text) > limit and not text[-limit - 1].isspace() and re.search(r"\s", window):
        window = re.sub(r"^\S*\s+", "", window, count=1)
    return window.strip()


def _decode_text(filename: str, content: bytes, *, declared: str | None = None) -> str:
    """Text from bytes: by BOM, as UTF-8, in the encoding the file declares, or in a detector's guess."""
    text: str | None = None
    if content.startswith(codecs.BOM_UTF8):
        text = _try_decode(content, "utf-8-sig")
    elif content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = _try_decode(content, "utf-16")
    elif b"\x00" not in content:
        text = _try_decode(content, "utf-8") or (declared and _try_decode(content, declared)) or None
        if text is None:
            guess = charset_normalizer.from_bytes(content).best()
            text = str(guess) if guess is not None else None
    if text is None or _control_character_share(text) > _MAX_CONTROL_CHARACTER_SHARE:
        raise DocumentError(
            f"{filename} does not look like text: it may be a different kind of file renamed. Upload {_SUPPORTED}."
        )
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _try_decode(content: bytes, encoding: str) -> str | None:
    try:
        return content.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _control_character_share(text: str) -> float:
    if not text:
        return 0.0
    controls = sum(1 for character in text if character not in "\t\n\r\f" and unicodedata.category(character) == "Cc")
    return controls / len(text)


def _declared_html_charset(content: bytes) -> str | None:
    match = re.search(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", content[:4096], re.IGNORECASE)
    return match.group(1).decode("ascii") if match else None


_MARKDOWN = MarkdownIt("commonmark").enable("table")


def _read_markdown(text: str) -> tuple[str, list[Section]]:
    """Sections of a Markdown text, one per heading; the first top-level heading is the title."""
    lines = text.split("\n")
    tokens = _MARKDOWN.parse(text)
    blocks: list[tuple[int, str]] = []
    for index, token in enumerate(tokens):
        if token.level != 0 or token.map is None or token.nesting == -1 or token.type == "hr":
            continue
        if token.type == "heading_open":
            blocks.append((int(token.tag[1:]), _inline_text(tokens[index + 1])))
        else:
            blocks.append((0, "\n".join(lines[token.map[0] : token.map[1]]).strip()))
    title = next((text for level, text in blocks if level == 1), "")
    return title, _sections_from_blocks(blocks)


def _sections_from_blocks(blocks: Iterable[tuple[int, str]]) -> list[Section]:
    """Sections from blocks in reading order, each (heading level, heading) or (0, paragraph text)."""
    sections: list[Section] = []
    headings: list[tuple[int, str]] = []
    paragraphs: list[str] = []

    def close_section() -> None:
        if paragraphs or headings:
            heading_path = tuple(heading for _, heading in headings)
            sections.append(Section(heading_path=heading_path, text="\n\n".join(paragraphs)))
        paragraphs.clear()

    for level, text in blocks:
        if level == 0:
            if text:
                paragraphs.append(text)
            continue
        close_section()
        while headings and headings[-1][0] >= level:
            headings.pop()
        headings.append((level, text))
    close_section()
    return sections


def _inline_text(token: Token) -> str:
    """The plain words of a heading, without its Markdown emphasis and link syntax."""
    parts = [child.content for child in token.children or () if child.type in ("text", "code_inline")]
    return " ".join("".join(parts).split()) or token.content.strip()


def _read_html(text: str) -> tuple[str, list[Section]]:
    converter = html2text.HTML2Text()
    converter.body_width = 0
    converter.ignore_images = True
    markdown_title, sections = _read_markdown(converter.handle(text))
    title_finder = _HtmlTitle()
    title_finder.feed(text)
    title_finder.close()
    return " ".join(title_finder.title.split()) or markdown_title, sections


class _HtmlTitle(HTMLParser):
    """Collects the text of an HTML page's <title>."""

    def __init__(self) -> None:
        super().__init__()
        self.title = ""
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._inside = tag == "title" and not self.title

    def handle_endtag(self, tag: str) -> None:
        self._inside = False

    def handle_data(self, data: str) -> None:
        if self._inside:
            self.title += data


def _read_pdf(filename: str, content: bytes) -> tuple[str, list[Section]]:
    """One section per page with text, numbered from 1; raises for locked, damaged and scanned PDFs."""
    _check_pdf_header(filename, content)
    try:
        reader = pypdf.PdfReader(io.BytesIO(content))
        if reader.is_encrypted and reader.decrypt("") == pypdf.PasswordType.NOT_DECRYPTED:
            raise DocumentError(f"{filename} is password-protected: save a copy without the password and upload that.")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = (reader.metadata.title if reader.metadata else None) or ""
    except DocumentError:
        raise
    except Exception as error:  # pypdf raises many kinds of errors on damaged files
        raise DocumentError(
            f"{filename} could not be read as a PDF; it may be damaged. Export it to PDF again and upload that."
        ) from error
    if not pages:
        raise DocumentError(f"{filename} has no pages: export it to PDF again and upload that.")
    sections = [
        Section(heading_path=(), text=text.replace("\r\n", "\n").strip(), page=number)
        for number, text in enumerate(pages, start=1)
        if text.strip()
    ]
    if not sections:
        raise DocumentError(
            f"{filename} is a scanned PDF: no text layer. Run it through text recognition (OCR) "
            "and upload the result, or upload the original document."
        )
    return str(title).strip(), sections


def _check_pdf_header(filename: str, content: bytes) -> None:
    if b"%PDF-" not in content[:1024]:
        raise DocumentError(f"{filename} is not a PDF: check the file, or upload it with its real file type.")


def _damaged_word_document(filename: str) -> str:
    return f"{filename} could not be read as a Word document; it may be damaged. Save it again in Word."


def _read_docx(filename: str, content: bytes, *, max_unpacked_bytes: int) -> tuple[str, list[Section]]:
    """Sections of a Word document, one per Heading-styled paragraph; tables are kept row by row."""
    damaged = _damaged_word_document(filename)
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked_bytes = sum(member.file_size for member in archive.infolist())
    except zipfile.BadZipFile as error:
        raise DocumentError(damaged) from error
    if unpacked_bytes > max_unpacked_bytes:
        raise DocumentError(f"{filename} unpacks to far more data than a document holds: check the file.")
    try:
        document = docx.Document(io.BytesIO(content))
        title, blocks = _docx_blocks(document)
        title = title or (document.core_properties.title or "").strip()
    except Exception as error:  # python-docx raises many kinds of errors on damaged files
        raise DocumentError(damaged) from error

    return title, _sections_from_blocks(blocks)


def _docx_blocks(document: WordDocument) -> tuple[str, list[tuple[int, str]]]:
    """The document's title paragraph, and its blocks in order as (heading level or 0, text)."""
    title = ""
    blocks: list[tuple[int, str]] = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            text = _table_text(block)
            if text:
                blocks.append((0, text))
            continue
        assert isinstance(block, Paragraph)
        text = block.text.strip()
        if not text:
            continue
        level = _heading_level(block.style)
        if level == 0 and title == "" and _is_title_style(block.style):
            title = text
        else:
            blocks.append((level, text))
    return title, blocks


def _heading_level(style: BaseStyle | None) -> int:
    """1-9 for a Heading style, or a style based on one; 0 for body text."""
    while style is not None:
        match = re.fullmatch(r"heading\s*([1-9])", (style.name or "").strip(), re.IGNORECASE)
        if match:
            return int(match.group(1))
        style = style.base_style
    return 0


def _is_title_style(style: BaseStyle | None) -> bool:
    return style is not None and (style.name or "").strip().lower() == "title"


def _table_text(table: Table) -> str:
    rows = []
    for row in table.rows:
        cells = [cell.text.strip() for cell in row.cells]
        # A merged cell is repeated once per grid column it spans.
        distinct = [cell for index, cell in enumerate(cells) if index == 0 or cell != cells[index - 1]]
        if any(distinct):
            rows.append(" | ".join(distinct))
    return "\n".join(rows)
