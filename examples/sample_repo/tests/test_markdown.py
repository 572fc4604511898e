"""Unit tests for the Markdown helpers (run with ``python -m pytest`` from this folder)."""

from notes.markdown import render_inline, render_markdown, slugify, table_to_html_rows


def test_slugify_collapses_punctuation_and_accents():
    assert slugify("Héllo, World!  2024") == "hello-world-2024"
    assert slugify("***") == "untitled"


def test_table_rows_use_th_for_header():
    rows = table_to_html_rows(["| Name | Qty |", "|------|----:|", "| *apple* | 3 |"])
    assert rows == [
        "<tr><th>Name</th><th>Qty</th></tr>",
        "<tr><td><em>apple</em></td><td>3</td></tr>",
    ]


def test_inline_emphasis_leaves_code_alone():
    assert render_inline("**a** and `*b*`") == "<strong>a</strong> and <code>*b*</code>"


def test_document_heading_gets_anchor():
    html = render_markdown("## Shopping list\n\nBuy **milk**.")
    assert '<h2 id="shopping-list">' in html
    assert "<p>Buy <strong>milk</strong>.</p>" in html
