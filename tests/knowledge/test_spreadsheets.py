"""FAQ lists read from and written to CSV and Excel files, checked row by row."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from knowledge.spreadsheets import (
    FaqRow,
    RowError,
    SpreadsheetError,
    read_faq_rows,
    write_faq_rows,
)

HEADER = ["external_id", "question", "answer", "category", "language", "status", "alternatives", "tags"]


def make_csv(rows: list[list[str]], *, bom: bool = False, delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    output = io.StringIO(newline="")
    csv.writer(output, delimiter=delimiter).writerows(rows)
    return ("\ufeff" if bom else "").encode(encoding) + output.getvalue().encode(encoding)


def make_xlsx(rows: list[list[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def only_error(sheet) -> RowError:
    assert not sheet.rows
    assert len(sheet.errors) == 1
    return sheet.errors[0]


# Good files


def test_a_csv_file_gives_one_faq_row_per_line_numbered_as_in_excel():
    content = make_csv(
        [
            HEADER,
            [
                "IT-1",
                "VPN 連不上怎麼辦？",
                "重新啟動 VPN。",
                "IT",
                "zh-hant",
                "published",
                "VPN 斷線\nVPN 不能用",
                "vpn, 網路",
            ],
            ["HR-1", "How do I apply for leave?", "Use the HR portal.", "HR", "en", "draft", "", ""],
        ]
    )

    sheet = read_faq_rows("faq.csv", content)

    assert sheet.errors == ()
    assert sheet.rows == (
        FaqRow(
            external_id="IT-1",
            question="VPN 連不上怎麼辦？",
            answer="重新啟動 VPN。",
            category="IT",
            language="zh-hant",
            status="published",
            alternatives=("VPN 斷線", "VPN 不能用"),
            tags=("vpn", "網路"),
        ),
        FaqRow(
            external_id="HR-1",
            question="How do I apply for leave?",
            answer="Use the HR portal.",
            category="HR",
            language="en",
            status="draft",
        ),
    )
    assert [row.row_number for row in sheet.rows] == [2, 3]


def test_excel_utf8_csv_with_a_bom_and_chinese_headers_is_read():
    content = make_csv(
        [
            ["編號", "問題", "答案", "分類", "語言", "狀態", "其他問法", "標籤"],
            [
                "HR-7",
                "特休怎麼請？",
                "在系統提出申請。",
                "人事",
                "中文",
                "已發布",
                "特休假申請",
                "假勤，人事",
            ],
        ],
        bom=True,
    )

    sheet = read_faq_rows("常見問題.csv", content)

    assert sheet.rows == (
        FaqRow(
            external_id="HR-7",
            question="特休怎麼請？",
            answer="在系統提出申請。",
            category="人事",
            language="zh-hant",
            status="published",
            alternatives=("特休假申請",),
            tags=("假勤", "人事"),
        ),
    )


def test_headers_match_whatever_their_case_spacing_and_order():
    content = make_csv([["Answer", " QUESTION ", "External ID", "Language"], ["Restart.", "VPN down?", "IT-1", "EN"]])

    sheet = read_faq_rows("faq.csv", content)

    assert sheet.rows == (FaqRow(question="VPN down?", answer="Restart.", external_id="IT-1", language="en"),)


def test_only_question_and_answer_are_required_and_the_rest_default():
    sheet = read_faq_rows("faq.csv", make_csv([["question", "answer"], ["Q?", "A."]]))

    assert sheet.rows == (FaqRow(question="Q?", answer="A.", language="zh-hant", status="draft"),)


def test_columns_lantern_does_not_know_are_ignored_and_named():
    sheet = read_faq_rows("faq.csv", make_csv([["question", "備註", "answer", "Owner"], ["Q?", "note", "A.", "bob"]]))

    assert sheet.rows == (FaqRow(question="Q?", answer="A."),)
    assert sheet.ignored_columns == ("備註", "Owner")


def test_semicolon_separated_csv_from_european_excel_is_read():
    content = make_csv([["question", "answer", "category"], ["Q?", "A, with a comma.", "IT"]], delimiter=";")

    assert read_faq_rows("faq.csv", content).rows == (FaqRow(question="Q?", answer="A, with a comma.", category="IT"),)


def test_big5_csv_saved_by_excel_on_traditional_chinese_windows_is_read():
    content = make_csv([["問題", "答案"], ["特休怎麼請？", "在系統提出申請。"]], encoding="cp950")

    assert read_faq_rows("faq.csv", content).rows == (FaqRow(question="特休怎麼請？", answer="在系統提出申請。"),)


def test_blank_rows_are_skipped_but_still_counted_in_row_numbers():
    content = make_csv([["question", "answer"], ["Q1?", "A1."], ["", ""], [], ["Q2?", "A2."]])

    sheet = read_faq_rows("faq.csv", content)

    assert [(row.question, row.row_number) for row in sheet.rows] == [("Q1?", 2), ("Q2?", 5)]


def test_a_multi_line_cell_counts_as_one_row():
    content = make_csv([["question", "answer"], ["Q1?", "line one\nline two\nline three"], ["", "no question"]])

    assert only_error_row_number(read_faq_rows("faq.csv", content)) == 3


def only_error_row_number(sheet) -> int:
    assert len(sheet.errors) == 1
    return sheet.errors[0].row_number


def test_an_xlsx_file_is_read_from_its_first_sheet():
    content = make_xlsx(
        [
            ["編號", "問題", "答案", "語言", "狀態", "其他問法"],
            [1001, "VPN 連不上怎麼辦？", "重新啟動 VPN。", "zh-TW", "草稿", "VPN 斷線\nVPN 不能用"],
            [None, None, None, None, None, None],
            [1002.0, "Where is the Wi-Fi password?", "Ask IT.", "English", "Published", None],
        ]
    )

    sheet = read_faq_rows("faq.xlsx", content)

    assert sheet.errors == ()
    assert sheet.rows == (
        FaqRow(
            external_id="1001",
            question="VPN 連不上怎麼辦？",
            answer="重新啟動 VPN。",
            language="zh-hant",
            status="draft",
            alternatives=("VPN 斷線", "VPN 不能用"),
        ),
        FaqRow(
            external_id="1002",
            question="Where is the Wi-Fi password?",
            answer="Ask IT.",
            language="en",
            status="published",
        ),
    )
    assert [row.row_number for row in sheet.rows] == [2, 4]


@pytest.mark.parametrize(
    ("spelling", "language"),
    [
        ("en", "en"),
        ("EN", "en"),
        ("English", "en"),
        ("en-US", "en"),
        ("英文", "en"),
        ("zh-hant", "zh-hant"),
        ("zh-Hant", "zh-hant"),
        ("zh-TW", "zh-hant"),
        ("zh_TW", "zh-hant"),
        ("中文", "zh-hant"),
        ("繁體中文", "zh-hant"),
        ("", "zh-hant"),
    ],
)
def test_common_spellings_of_a_language_are_understood(spelling, language):
    sheet = read_faq_rows("faq.csv", make_csv([["question", "answer", "language"], ["Q?", "A.", spelling]]))

    assert sheet.rows[0].language == language


@pytest.mark.parametrize(
    ("spelling", "status"),
    [
        ("draft", "draft"),
        ("Published", "published"),
        ("ARCHIVED", "archived"),
        ("草稿", "draft"),
        ("已發布", "published"),
        ("封存", "archived"),
        ("", "draft"),
    ],
)
def test_statuses_in_english_or_chinese_are_understood(spelling, status):
    sheet = read_faq_rows("faq.csv", make_csv([["question", "answer", "status"], ["Q?", "A.", spelling]]))

    assert sheet.rows[0].status == status


def test_alternatives_and_tags_are_trimmed_and_deduplicated():
    content = make_csv(
        [
            ["question", "answer", "alternatives", "tags"],
            ["VPN?", "A.", " VPN down \n\nVPN?\nVPN down\r\nNo VPN ", "a, b、a ,"],
        ]
    )

    row = read_faq_rows("faq.csv", content).rows[0]

    assert row.alternatives == ("VPN down", "No VPN")
    assert row.tags == ("a", "b")


# Rows that need fixing


def test_a_row_without_a_question_names_its_row():
    sheet = read_faq_rows("faq.csv", make_csv([["question", "answer"], ["Q?", "A."], ["", "An answer."]]))

    assert len(sheet.rows) == 1
    assert sheet.errors == (RowError(row_number=3, reasons=("the question is empty",)),)
    assert sheet.errors[0].message == "Row 3: the question is empty."


def test_a_row_without_an_answer_names_its_row():
    error = only_error(read_faq_rows("faq.csv", make_csv([["external_id", "question", "answer"], ["IT-9", "Q?", " "]])))

    assert (error.row_number, error.reasons, error.external_id) == (2, ("the answer is empty",), "IT-9")


def test_an_unknown_language_is_explained():
    error = only_error(read_faq_rows("faq.csv", make_csv([["question", "answer", "language"], ["Q?", "A.", "fr"]])))

    assert error.row_number == 2
    assert "the language 'fr' is not one Lantern answers in: write zh-hant or en" in error.reasons[0]


def test_simplified_chinese_is_not_taken_for_traditional():
    error = only_error(read_faq_rows("faq.csv", make_csv([["question", "answer", "language"], ["Q?", "A.", "zh-CN"]])))

    assert "zh-CN" in error.reasons[0]


def test_an_unknown_status_is_explained():
    error = only_error(read_faq_rows("faq.csv", make_csv([["question", "answer", "status"], ["Q?", "A.", "live"]])))

    assert "the status 'live' is not one Lantern knows: write draft, published or archived" in error.reasons[0]


def test_a_repeated_external_id_points_at_its_first_row():
    content = make_csv(
        [
            ["external_id", "question", "answer"],
            ["IT-1", "Q1?", "A1."],
            ["IT-2", "Q2?", "A2."],
            ["IT-1", "Q3?", "A3."],
        ]
    )

    sheet = read_faq_rows("faq.csv", content)

    assert [row.external_id for row in sheet.rows] == ["IT-1", "IT-2"]
    assert sheet.errors == (
        RowError(row_number=4, reasons=("the external_id 'IT-1' is already used in row 2",), external_id="IT-1"),
    )


def test_rows_without_an_external_id_are_not_duplicates_of_each_other():
    content = make_csv([["external_id", "question", "answer"], ["", "Q1?", "A1."], ["", "Q2?", "A2."]])

    assert len(read_faq_rows("faq.csv", content).rows) == 2


def test_questions_and_answers_over_the_limits_are_refused():
    content = make_csv([["question", "answer"], ["Q" * 11, "A."], ["Q?", "A" * 21], ["Q" * 10, "A" * 20]])

    sheet = read_faq_rows("faq.csv", content, max_question_chars=10, max_answer_chars=20)

    assert [row.row_number for row in sheet.rows] == [4]
    assert [(error.row_number, error.reasons) for error in sheet.errors] == [
        (2, ("the question is 11 characters long; at most 10 fit",)),
        (3, ("the answer is 21 characters long; at most 20 fit",)),
    ]


def test_an_external_id_longer_than_lantern_stores_is_refused():
    error = only_error(
        read_faq_rows("faq.csv", make_csv([["external_id", "question", "answer"], ["X" * 101, "Q?", "A."]]))
    )

    assert error.reasons == ("the external_id is 101 characters long; at most 100 fit",)


def test_every_problem_of_a_row_is_reported_at_once():
    content = make_csv([["question", "answer", "language", "status"], ["", "", "fr", "live"]])

    error = only_error(read_faq_rows("faq.csv", content))

    assert len(error.reasons) == 4
    assert error.message.startswith("Row 2: the question is empty; the answer is empty; the language 'fr'")


# Formulas


def test_a_csv_cell_that_excel_would_compute_is_refused():
    content = make_csv([["question", "answer"], ["Q?", '=HYPERLINK("http://evil.example","Click")']])

    error = only_error(read_faq_rows("faq.csv", content))

    assert "the answer cell is a formula" in error.reasons[0]


def test_an_xlsx_formula_cell_is_refused():
    error = only_error(read_faq_rows("faq.xlsx", make_xlsx([["question", "answer"], ["Q?", "=1+1"]])))

    assert "the answer cell is a formula" in error.reasons[0]


def test_an_apostrophe_keeps_a_leading_equals_sign_as_text():
    sheet = read_faq_rows("faq.csv", make_csv([["question", "answer"], ["Q?", "'=1+1 is two"]]))

    assert sheet.rows == (FaqRow(question="Q?", answer="=1+1 is two"),)


def test_markdown_lists_phone_numbers_and_mentions_are_kept_as_text():
    content = make_csv([["question", "answer", "tags"], ["+886 號碼是？", "- step one\n- step two", "@it"]])

    assert read_faq_rows("faq.csv", content).rows == (
        FaqRow(question="+886 號碼是？", answer="- step one\n- step two", tags=("@it",)),
    )


def test_csv_export_puts_an_apostrophe_before_cells_excel_would_compute():
    row = FaqRow(question="-1 day?", answer='=HYPERLINK("http://evil.example")', category="+IT", tags=("@x",))

    exported = write_faq_rows([row], format="csv").decode("utf-8-sig")

    cells = list(csv.reader(io.StringIO(exported)))[1]
    assert cells[1:4] == ["'-1 day?", '\'=HYPERLINK("http://evil.example")', ""]
    assert cells[4:6] == ["'+IT", "'@x"]


def test_xlsx_export_stores_every_cell_as_quoted_text_never_a_formula():
    row = FaqRow(question="-1 day?", answer="=1+1", external_id="IT-1")

    workbook = openpyxl.load_workbook(io.BytesIO(write_faq_rows([row], format="xlsx")))
    cells = {cell.value: cell for cell in workbook.active[2]}

    assert cells["=1+1"].data_type == "s"
    assert cells["=1+1"].quotePrefix
    assert cells["-1 day?"].quotePrefix
    assert not cells["IT-1"].quotePrefix
    assert all(cell.data_type != "f" for row in workbook.active.iter_rows() for cell in row)


# Export and round trip

ROUND_TRIP_ROWS = [
    FaqRow(
        external_id="IT-1",
        question="VPN 連不上怎麼辦？",
        answer="1. 重新啟動 VPN。\n2. 還是不行就打 **分機 1234**。",
        category="IT",
        language="zh-hant",
        status="published",
        alternatives=("VPN 斷線", "VPN, 不能用"),
        tags=("vpn", "網路"),
    ),
    FaqRow(
        external_id="HR-1",
        question='"Quoted", with commas; and semicolons',
        answer="=SUM(A1:A2) is not a formula here\n- and a list",
        language="en",
        status="archived",
        tags=("@hr",),
    ),
    FaqRow(question="+886 2 1234 5678 是誰的電話？", answer="-", status="draft"),
]


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_exported_rows_read_back_the_same(file_format):
    content = write_faq_rows(ROUND_TRIP_ROWS, format=file_format)

    sheet = read_faq_rows(f"export.{file_format}", content)

    assert sheet.errors == ()
    assert list(sheet.rows) == ROUND_TRIP_ROWS


def test_csv_export_starts_with_a_bom_so_excel_shows_chinese():
    content = write_faq_rows(ROUND_TRIP_ROWS, format="csv")

    assert content.startswith(b"\xef\xbb\xbf")
    assert (
        content[3:]
        .decode("utf-8")
        .startswith("external_id,question,answer,alternatives,category,tags,language,status\r\n")
    )


def test_an_unknown_export_format_is_refused():
    with pytest.raises(ValueError, match="format"):
        write_faq_rows(ROUND_TRIP_ROWS, format="ods")  # type: ignore[arg-type]


# Files that cannot be read


def expect_error(filename: str, content: bytes, match: str, **options) -> None:
    with pytest.raises(SpreadsheetError, match=match) as raised:
        read_faq_rows(filename, content, **options)
    assert filename in raised.value.message


@pytest.mark.parametrize(
    ("filename", "match"),
    [
        ("faq.xls", r"Save it in Excel as \.xlsx"),
        ("faq.txt", r"from \.csv or \.xlsx files"),
        ("faq", "not faq"),
    ],
)
def test_files_that_are_not_csv_or_xlsx_are_refused(filename, match):
    expect_error(filename, b"question,answer\nQ,A\n", match)


@pytest.mark.parametrize("filename", ["faq.csv", "faq.xlsx"])
def test_an_empty_file_is_refused(filename):
    expect_error(filename, b"", "is empty")


def test_a_csv_of_only_blank_lines_is_refused():
    expect_error("faq.csv", b"\r\n\r\n,,\r\n", "is empty")


@pytest.mark.parametrize("content", [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", make_xlsx([["question", "answer"]])])
def test_a_binary_file_named_csv_is_refused(content):
    expect_error("faq.csv", content, "is not a CSV text file")


def test_a_csv_in_neither_utf8_nor_big5_is_refused_with_how_to_save_it():
    expect_error("faq.csv", "question,answer\nCafé?,Oui\n".encode("latin-1"), "CSV UTF-8")


@pytest.mark.parametrize(
    "content", [b"PK\x03\x04 broken", b"question,answer\nQ,A\n", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"]
)
def test_a_damaged_or_password_protected_xlsx_is_refused(content):
    expect_error("faq.xlsx", content, "could not be opened as an .xlsx file")


def test_a_file_without_the_question_column_is_refused_naming_what_to_add():
    expect_error("faq.csv", make_csv([["問", "answer"], ["Q?", "A."]]), r"has no question column.*問題")


def test_a_file_without_either_required_column_is_refused():
    expect_error("faq.xlsx", make_xlsx([["title", "body"], ["Q?", "A."]]), "has no question or answer column")


def test_two_columns_for_the_same_field_are_refused():
    expect_error("faq.csv", make_csv([["question", "問題", "answer"], ["Q?", "Q?", "A."]]), "two question columns")


def test_a_header_without_rows_is_refused():
    expect_error("faq.xlsx", make_xlsx([["question", "answer"]]), "no FAQ rows")


def test_too_many_rows_are_refused_with_the_limit():
    rows = [["question", "answer"]] + [[f"Q{number}?", "A."] for number in range(4)]

    assert len(read_faq_rows("faq.csv", make_csv(rows), max_rows=4).rows) == 4
    expect_error("faq.csv", make_csv([*rows, ["Q5?", "A."]]), "more than 4 rows", max_rows=4)
    expect_error("faq.xlsx", make_xlsx([*rows, ["Q5?", "A."]]), "more than 4 rows", max_rows=4)
