"""Uploaded documents read into sections, and sections cut into chunks."""

from __future__ import annotations

import io
import itertools
import zipfile

import docx
import pypdf
import pytest
from docx.enum.style import WD_STYLE_TYPE
from hypothesis import given, settings
from hypothesis import strategies as st

from knowledge.documents import (
    MEBIBYTE,
    DocumentError,
    Section,
    chunk_sections,
    parse_document,
)

HANDBOOK_MARKDOWN = """\
# 員工手冊

歡迎加入 Acme。

## 請假

特休假需於三日前提出申請。

病假請附醫生證明。

### 病假

```
# 這一行是程式碼，不是標題
```

## VPN

Connect with the **Acme VPN** app.
"""


def make_pdf(pages: list[list[str]], *, title: str = "") -> bytes:
    """A small PDF: a page per list, a line of Helvetica text per string; [] is a page without text."""
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    kids = []
    for lines in pages:
        page = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >>"
        if lines:
            operators = "BT /F1 12 Tf 14 TL 72 720 Td " + " ".join(f"({line}) Tj T*" for line in lines) + " ET"
            objects.append(f"<< /Length {len(operators)} >>\nstream\n{operators}\nendstream")
            page += f" /Contents {len(objects)} 0 R"
        objects.append(page + " >>")
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    objects.append(f"<< /Title ({title}) >>")
    pdf = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(pdf))
        pdf += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(pdf)
    pdf += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    pdf += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    pdf += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {len(objects)} 0 R >>\n".encode()
    pdf += f"startxref\n{xref}\n%%EOF\n".encode()
    return pdf


def make_docx(build) -> bytes:
    document = docx.Document()
    build(document)
    output = io.BytesIO()
    document.save(output)
    return output.getvalue()


def texts_of(parsed):
    return [(section.heading_path, section.text) for section in parsed.sections]


# Markdown


def test_markdown_headings_become_nested_sections_and_the_first_h1_the_title():
    parsed = parse_document("handbook.md", HANDBOOK_MARKDOWN.encode())

    assert parsed.title == "員工手冊"
    assert texts_of(parsed) == [
        (("員工手冊",), "歡迎加入 Acme。"),
        (("員工手冊", "請假"), "特休假需於三日前提出申請。\n\n病假請附醫生證明。"),
        (("員工手冊", "請假", "病假"), "```\n# 這一行是程式碼，不是標題\n```"),
        (("員工手冊", "VPN"), "Connect with the **Acme VPN** app."),
    ]


def test_markdown_without_headings_is_one_section_titled_by_its_file_name():
    parsed = parse_document("notes.md", "第一段。\n\n第二段。\n".encode())

    assert parsed.title == "notes"
    assert texts_of(parsed) == [((), "第一段。\n\n第二段。")]


def test_heading_markup_is_left_out_of_the_heading_path():
    parsed = parse_document("x.md", b"## The **VPN** [app](https://vpn.example)\n\ntext\n")

    assert parsed.sections[0].heading_path == ("The VPN app",)


# HTML


def test_html_keeps_headings_as_sections_and_drops_scripts_and_styles():
    page = b"""<!doctype html><html><head><title> IT  Help </title>
    <style>body { color: red }</style><script>var secret = "tracking";</script></head>
    <body><h1>VPN</h1><p>Install the app.</p><script>alert("hi")</script>
    <h2>Troubleshooting</h2><p>Restart it.</p>
    <ul><li>Check Wi-Fi</li><li>Check password</li></ul></body></html>"""

    parsed = parse_document("help.html", page)

    assert parsed.title == "IT Help"
    assert [section.heading_path for section in parsed.sections] == [("VPN",), ("VPN", "Troubleshooting")]
    assert parsed.sections[0].text == "Install the app."
    assert "Restart it." in parsed.sections[1].text
    assert "Check password" in parsed.sections[1].text
    everything = " ".join(section.text for section in parsed.sections)
    assert "tracking" not in everything
    assert "alert" not in everything
    assert "color" not in everything


def test_html_in_its_declared_big5_encoding_is_decoded():
    page = '<html><head><meta charset="big5"><title>請假</title></head><body><p>特休假規定</p></body></html>'

    parsed = parse_document("leave.htm", page.encode("big5"))

    assert parsed.title == "請假"
    assert parsed.sections[0].text == "特休假規定"


# Plain text


def test_utf8_text_with_a_byte_order_mark_has_no_stray_mark():
    parsed = parse_document("faq.txt", "\ufeff公司 Wi-Fi 密碼在哪裡？\r\n\r\n問 IT。".encode())

    assert parsed.title == "faq"
    assert texts_of(parsed) == [((), "公司 Wi-Fi 密碼在哪裡？\n\n問 IT。")]


def test_big5_text_is_detected():
    text = "員工請假規定：特休假需於三日前提出申請，並經主管核准。病假請附醫生證明。"

    parsed = parse_document("leave.txt", text.encode("big5"))

    assert parsed.sections[0].text == text


def test_utf16_text_with_a_byte_order_mark_is_read():
    parsed = parse_document("leave.txt", "請假規定".encode("utf-16"))

    assert parsed.sections[0].text == "請假規定"


# PDF


def test_pdf_pages_become_sections_numbered_from_one():
    pdf = make_pdf([["Leave policy", "Apply three days ahead."], [], ["VPN setup"]], title="Handbook")

    parsed = parse_document("handbook.pdf", pdf)

    assert parsed.title == "Handbook"
    assert [(section.page, section.text) for section in parsed.sections] == [
        (1, "Leave policy\nApply three days ahead."),
        (3, "VPN setup"),
    ]


def test_pdf_chunks_link_to_their_page():
    parsed = parse_document("handbook.pdf", make_pdf([["one"], ["two"]]))

    chunks = chunk_sections(parsed.sections)

    assert [(chunk.text, chunk.page, chunk.anchor) for chunk in chunks] == [
        ("one", 1, "page=1"),
        ("two", 2, "page=2"),
    ]
    assert parsed.title == "handbook"


def test_pdf_locked_only_against_editing_is_read():
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(make_pdf([["Open to all"]])))
    writer.encrypt(user_password="", owner_password="owner")
    output = io.BytesIO()
    writer.write(output)

    parsed = parse_document("open.pdf", output.getvalue())

    assert parsed.sections[0].text == "Open to all"


# Word


def test_word_heading_styles_become_sections_and_the_title_style_the_title():
    def build(document):
        document.add_heading("員工手冊", level=0)
        document.add_paragraph("歡迎。")
        document.add_heading("請假", level=1)
        document.add_paragraph("特休假需於三日前提出申請。")
        document.add_heading("病假", level=2)
        document.add_paragraph("請附證明。")
        document.add_heading("VPN", level=1)
        document.add_paragraph("Use the app.")

    parsed = parse_document("handbook.docx", make_docx(build))

    assert parsed.title == "員工手冊"
    assert texts_of(parsed) == [
        ((), "歡迎。"),
        (("請假",), "特休假需於三日前提出申請。"),
        (("請假", "病假"), "請附證明。"),
        (("VPN",), "Use the app."),
    ]


def test_word_tables_are_kept_row_by_row_in_their_section():
    def build(document):
        document.add_heading("Contacts", level=1)
        table = document.add_table(rows=2, cols=2)
        table.cell(0, 0).text, table.cell(0, 1).text = "Team", "Extension"
        table.cell(1, 0).text, table.cell(1, 1).text = "IT", "1234"
        document.add_paragraph("Call any time.")

    parsed = parse_document("contacts.docx", make_docx(build))

    assert texts_of(parsed) == [(("Contacts",), "Team | Extension\nIT | 1234\n\nCall any time.")]


def test_a_custom_word_style_based_on_a_heading_is_a_heading():
    def build(document):
        style = document.styles.add_style("Policy Heading", WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = document.styles["Heading 2"]
        document.add_paragraph("Leave", style="Policy Heading")
        document.add_paragraph("Three days ahead.")

    parsed = parse_document("policy.docx", make_docx(build))

    assert texts_of(parsed) == [(("Leave",), "Three days ahead.")]


def test_word_document_title_comes_from_its_properties_without_a_title_paragraph():
    def build(document):
        document.core_properties.title = "IT Policy"
        document.add_paragraph("Text.")

    assert parse_document("policy.docx", make_docx(build)).title == "IT Policy"


# What cannot be read


def expect_error(filename: str, content: bytes, match: str, **options) -> None:
    with pytest.raises(DocumentError, match=match) as raised:
        parse_document(filename, content, **options)
    assert filename in raised.value.message


def test_an_empty_file_is_refused():
    expect_error("empty.md", b"", "is empty")


def test_an_oversized_file_is_refused_with_the_limit():
    expect_error("big.txt", b"a" * (MEBIBYTE + 1), r"at most 1 MB", max_bytes=MEBIBYTE)


@pytest.mark.parametrize(
    ("filename", "match"),
    [("tool.exe", r"cannot read \.exe files"), ("README", "without a type"), ("old.doc", "save it as .docx")],
)
def test_unsupported_file_types_are_refused_with_what_to_upload_instead(filename, match):
    expect_error(filename, b"some bytes", match)


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00",
        bytes(range(1, 32)) * 20,
        bytes(range(256)) * 8,
    ],
)
def test_binary_garbage_with_a_text_extension_is_refused(content):
    expect_error("notes.txt", content, "does not look like text")


def test_a_password_protected_pdf_is_refused():
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(make_pdf([["Secret"]])))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-128")
    output = io.BytesIO()
    writer.write(output)

    expect_error("locked.pdf", output.getvalue(), "password-protected")


@pytest.mark.parametrize(
    "content",
    [
        b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R >>\nendobj\ntrailer\n<<>>\n%%EOF",
        b"%PDF-1.7\n" + b"\xff" * 300,
    ],
)
def test_a_damaged_pdf_is_refused(content):
    expect_error("broken.pdf", content, "could not be read as a PDF|has no pages")


def test_a_truncated_pdf_is_refused():
    expect_error("cut.pdf", make_pdf([["Leave policy"]])[:120], "could not be read as a PDF|has no pages|scanned")


def test_a_file_named_pdf_that_is_not_one_is_refused():
    expect_error("letter.pdf", b"Dear team, ...", "is not a PDF")


def test_a_pdf_without_a_text_layer_is_called_scanned():
    expect_error("scan.pdf", make_pdf([[], []]), "scanned PDF: no text layer")


@pytest.mark.parametrize("content", [b"PK\x03\x04 not really a zip", b"just text"])
def test_a_damaged_word_file_is_refused(content):
    expect_error("broken.docx", content, "could not be read as a Word document")


def test_a_zip_that_is_not_a_word_document_is_refused():
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("hello.txt", "hello")
    expect_error("fake.docx", archive.getvalue(), "could not be read as a Word document")


def test_a_word_file_that_unpacks_to_far_more_than_it_holds_is_refused():
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("word/document.xml", b"\x00" * (30 * 1024 * 1024))
    expect_error("bomb.docx", archive.getvalue(), "unpacks to far more", max_bytes=MEBIBYTE)


def test_a_word_file_without_text_is_refused():
    expect_error("blank.docx", make_docx(lambda document: None), "no text")


def test_an_html_page_with_only_scripts_is_refused():
    expect_error("app.html", b"<html><script>render()</script></html>", "no text")


# Chunking


def test_small_paragraphs_under_one_heading_share_a_chunk():
    sections = [Section(("請假",), "特休假需於三日前提出申請。\n\n病假請附醫生證明。\n\n事假不支薪。")]

    chunks = chunk_sections(sections, max_chars=800)

    assert [chunk.text for chunk in chunks] == ["特休假需於三日前提出申請。\n\n病假請附醫生證明。\n\n事假不支薪。"]


def test_sections_are_never_merged():
    sections = [Section(("請假",), "特休。"), Section(("VPN",), "Use the app.")]

    chunks = chunk_sections(sections)

    assert [(chunk.heading_path, chunk.text, chunk.position) for chunk in chunks] == [
        (("請假",), "特休。", 0),
        (("VPN",), "Use the app.", 1),
    ]


def test_paragraphs_that_fit_are_never_split():
    paragraphs = [f"Paragraph {number} " + "word " * 25 for number in range(12)]
    section = Section(("Policy",), "\n\n".join(paragraph.strip() for paragraph in paragraphs))

    chunks = chunk_sections([section], max_chars=300, overlap_chars=0)

    assert all(len(chunk.text) <= 300 for chunk in chunks)
    for paragraph in paragraphs:
        assert sum(paragraph.strip() in chunk.text for chunk in chunks) == 1
    assert len(chunks) > 1


def test_a_long_chinese_paragraph_is_cut_at_sentence_ends():
    sentences = [
        "特休假需於三日前提出申請。",
        "主管核准後生效！",
        "病假要附證明嗎？",
        "是的，三日以上需要。",
    ] * 10
    section = Section(("請假",), "".join(sentences))

    chunks = chunk_sections([section], max_chars=120, overlap_chars=0)

    assert len(chunks) > 1
    assert all(len(chunk.text) <= 120 for chunk in chunks)
    assert all(chunk.text.endswith(("。", "！", "？")) for chunk in chunks)
    assert "".join(chunk.text for chunk in chunks) == section.text


def test_a_long_english_paragraph_is_cut_at_sentence_ends():
    section = Section((), " ".join(f"This is sentence {number}." for number in range(60)))

    chunks = chunk_sections([section], max_chars=200, overlap_chars=0)

    assert all(len(chunk.text) <= 200 and chunk.text.endswith(".") for chunk in chunks)
    assert " ".join(chunk.text for chunk in chunks) == section.text


def test_text_without_any_punctuation_is_still_cut_within_the_limit():
    section = Section((), "沒有標點符號的長句子" * 50)

    chunks = chunk_sections([section], max_chars=100, overlap_chars=20)

    assert all(len(chunk.text) <= 100 for chunk in chunks)
    assert len(chunks) >= 5


def test_a_continuing_chunk_starts_with_the_end_of_the_previous_one():
    section = Section(("VPN",), " ".join(f"Step {number} is done." for number in range(40)))

    chunks = chunk_sections([section], max_chars=200, overlap_chars=40)

    assert len(chunks) > 1
    for previous, chunk in itertools.pairwise(chunks):
        whole_sentence_tails = [
            previous.text[-length:]
            for length in range(1, 41)
            if previous.text[-length:].startswith("Step") and chunk.text.startswith(previous.text[-length:])
        ]
        assert whole_sentence_tails, (previous.text, chunk.text)
        assert len(chunk.text) <= 200


def test_chunks_carry_their_headings_for_retrieval_and_an_anchor_to_link_to():
    sections = [
        Section(("員工手冊", "請假規定"), "特休。"),
        Section(("員工手冊", "VPN Setup (Mac)"), "Install."),
        Section(("FAQ", "請假規定"), "再說一次。"),
        Section((), "Intro."),
    ]

    chunks = chunk_sections(sections)

    assert [chunk.anchor for chunk in chunks] == ["請假規定", "vpn-setup-mac", "請假規定_1", ""]
    assert chunks[0].heading == "員工手冊 > 請假規定"
    assert chunks[0].indexed_text == "員工手冊 > 請假規定\n特休。"
    assert chunks[3].indexed_text == "Intro."


def test_a_heading_without_text_of_its_own_makes_no_chunk():
    sections = [Section(("Handbook",), ""), Section(("Handbook", "Leave"), "Ask.")]

    assert [chunk.heading_path for chunk in chunk_sections(sections)] == [("Handbook", "Leave")]


@pytest.mark.parametrize(("max_chars", "overlap_chars"), [(0, 0), (100, 51), (100, -1)])
def test_impossible_chunk_sizes_are_refused(max_chars, overlap_chars):
    with pytest.raises(ValueError):
        chunk_sections([Section((), "text")], max_chars=max_chars, overlap_chars=overlap_chars)


@settings(max_examples=200, deadline=None, database=None)
@given(
    text=st.text(alphabet=st.sampled_from("請假規定。！？，. \n abcXYZ"), max_size=2000),
    max_chars=st.integers(min_value=4, max_value=300),
)
def test_chunks_never_exceed_the_limit_nor_lose_text(text, max_chars):
    chunks = chunk_sections([Section(("H",), text)], max_chars=max_chars, overlap_chars=0)

    assert all(0 < len(chunk.text) <= max_chars for chunk in chunks)
    assert "".join("".join(chunk.text.split()) for chunk in chunks) == "".join(text.split())


@settings(max_examples=100, deadline=None, database=None)
@given(
    text=st.text(alphabet=st.sampled_from("請假規定。！？，. \n abcXYZ"), max_size=2000),
    max_chars=st.integers(min_value=10, max_value=300),
    overlap_share=st.floats(min_value=0, max_value=0.5),
)
def test_chunks_with_overlap_never_exceed_the_limit(text, max_chars, overlap_share):
    chunks = chunk_sections([Section((), text)], max_chars=max_chars, overlap_chars=int(max_chars * overlap_share))

    assert all(0 < len(chunk.text) <= max_chars for chunk in chunks)
