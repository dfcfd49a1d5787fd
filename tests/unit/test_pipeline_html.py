"""Article HTML: rendered from the writer's Markdown and sanitised."""

from __future__ import annotations

from autopilot.pipeline.run import render_html, word_count


def test_render_html_drops_script_tags_and_their_content() -> None:
    """A <script> block in the Markdown leaves no trace in the HTML."""
    html = render_html("## Kop\n\n<script>alert(1)</script>\n\nTekst.\n")

    assert "<script" not in html.lower()
    assert "alert(1)" not in html
    assert "<h2>Kop</h2>" in html and "<p>Tekst.</p>" in html


def test_render_html_drops_event_handler_attributes() -> None:
    """onerror and onclick attributes are removed, the elements stay."""
    html = render_html(
        'Foto <img src="a.png" onerror="alert(1)"> en '
        '<a href="https://example.org" onclick="alert(2)">link</a>\n'
    )

    assert "onerror" not in html and "onclick" not in html
    assert '<img src="a.png">' in html
    assert 'href="https://example.org"' in html


def test_render_html_refuses_javascript_links() -> None:
    """A javascript: link target never becomes an href."""
    html = render_html('[klik](javascript:alert(1)) en <a href="javascript:x()">b</a>')

    assert 'href="javascript' not in html.lower()


def test_render_html_keeps_ordinary_markdown() -> None:
    """Headings, lists, emphasis, links and tables come through as HTML."""
    html = render_html(
        "# T\n\n- een\n- **twee**\n\n[site](https://example.org)\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n"
    )

    for fragment in (
        "<h1>T</h1>",
        "<li>een</li>",
        "<strong>twee</strong>",
        "<td>2</td>",
    ):
        assert fragment in html
    assert '<a href="https://example.org"' in html


def test_word_count_counts_words_not_markup() -> None:
    """Markdown symbols on their own are not words."""
    assert word_count("## Kop\n\n- een twee\n- drie\n\n---\n") == 4
