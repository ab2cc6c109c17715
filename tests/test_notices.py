from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from portal import notices
from portal.extensions import db
from portal.models import NoticeVersion
from tests.support.factories import make_notice, make_school

EXAMPLE = (Path(__file__).resolve().parent.parent / "examples" / "notice.md").read_text(
    encoding="utf-8"
)


class Elements(HTMLParser):
    """Every start tag of a fragment, with its attributes."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def names(self) -> list[str]:
        return [tag for tag, _ in self.tags]

    def hrefs(self) -> list[str]:
        return [attrs.get("href") or "" for tag, attrs in self.tags if tag == "a"]


def test_markdown_renders_to_the_notice_styles_with_headings_below_the_page_title():
    html = notices.render(
        "# Who we are\n\nWe are **Oak** and _you_ can [write to us](mailto:dpo@oak.example.org)."
        "\n\n## Rights\n\n- access\n- erasure\n\n1. one\n2. two\n",
        "markdown",
    )
    assert '<h2 class="govuk-heading-m" id="who-we-are">Who we are</h2>' in html
    assert '<h3 class="govuk-heading-s" id="rights">Rights</h3>' in html
    assert "<strong>Oak</strong>" in html and "<em>you</em>" in html
    assert (
        '<a class="govuk-link" href="mailto:dpo@oak.example.org" rel="noopener noreferrer">'
        "write to us</a>"
    ) in html
    assert '<ul class="govuk-list govuk-list--bullet"><li>access</li>' in html.replace("\n", "")
    assert '<ol class="govuk-list govuk-list--number">' in html
    assert "<h1" not in html


def test_every_heading_level_stays_a_heading_and_none_is_an_h1():
    html = notices.render(
        "Who we are\n==========\n\nText.\n\n# One\n\n## Two\n\n### Three\n\n#### Four\n\n"
        "##### Five\n\n###### Six\n",
        "markdown",
    )
    tags = Elements(html).names()
    assert "h1" not in tags
    assert tags.count("h2") == 3  # Contents (seven headings), the underlined one and "# One"
    assert tags.count("h3") == 1
    assert tags.count("h4") == 4
    assert '<h2 class="govuk-heading-m" id="who-we-are">Who we are</h2>' in html
    assert '<h4 class="govuk-heading-s" id="six">Six</h4>' in html


def test_a_hash_inside_a_code_block_is_left_as_written():
    html = notices.render("```\n# not a heading\n```\n", "markdown")
    assert "<pre><code># not a heading\n</code></pre>" in html


def test_the_example_notice_renders():
    html = notices.render(EXAMPLE, "markdown")
    tags = Elements(html)
    # Contents (six headings: a long notice), the title and the sections.
    assert (tags.names().count("h2"), tags.names().count("h3")) == (2, 5)
    assert html.startswith('<nav class="portal-notice-contents"')
    assert "https://ico.org.uk/make-a-complaint/" in tags.hrefs()


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        'Hello <b onclick="alert(1)">there</b>',
        '<img src="x" onerror="alert(1)">',
        '<a href="javascript:alert(1)">click</a>',
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](  javascript:alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD4=)",
        "[click][ref]\n\n[ref]: javascript:alert(1)",
        "<javascript:alert(1)>",
        "![a photo](https://example.org/photo.jpg)",
        '![x](https://example.org/x.png" onerror="alert(1))',
        '[x](https://example.org "title" onmouseover="alert(1)")',
        "<iframe src=https://example.org></iframe>",
        "<style>body{display:none}</style>",
    ],
)
@pytest.mark.parametrize("source_format", ["markdown", "text"])
def test_rendering_never_lets_markup_scripts_or_dangerous_links_through(source, source_format):
    html = notices.render(source, source_format)
    elements = Elements(html)
    assert set(elements.names()) <= notices.ALLOWED_TAGS
    assert not {"script", "img", "iframe", "style"} & set(elements.names())
    assert "<script" not in html.lower()
    for _tag, attrs in elements.tags:
        assert not [name for name in attrs if name.startswith("on")]
        assert set(attrs) <= {"class", "href", "rel", "start", "scope"}
    for href in elements.hrefs():
        assert href.startswith(("https:", "http:", "mailto:", "tel:")), href


def test_raw_html_is_shown_as_text_not_rendered():
    html = notices.render("Hello <b>bold</b>", "markdown")
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "<b>" not in html


# Text that mixes Markdown, HTML and link syntax with anything else.
_pieces = st.sampled_from(
    ["<", ">", "<script>", "</script>", "<a href=", "javascript:", "JAVASCRIPT:", "onclick=",
     " onerror=", "\"", "'", "[x](", ")", "](", "![", "<img src=x", "#", "\n", "\n\n", "- ",
     "• ", "`", "```", "&", "&#106;avascript:", "java\tscript:", "<svg onload=", "http://a/",
     "data:", "*", "_", "=", "\\"]
)  # fmt: skip
_text = st.lists(st.one_of(_pieces, st.text(max_size=8)), max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(source=_text, source_format=st.sampled_from(notices.FORMATS))
def test_random_text_never_renders_a_script_a_javascript_link_or_an_event_handler(
    source, source_format
):
    html = notices.render(source, source_format)
    assert "<script" not in html.lower()
    elements = Elements(html)
    for tag, attrs in elements.tags:
        assert tag in notices.ALLOWED_TAGS
        assert not [name for name in attrs if name.lower().startswith("on")], (tag, attrs)
    for href in elements.hrefs():
        squashed = "".join(href.split()).lower()
        assert "javascript:" not in squashed, href
        assert href.startswith(("https:", "http:", "mailto:", "tel:")) or ":" not in href, href


def test_plain_text_with_dot_and_bullet_characters_becomes_a_list():
    html = notices.render(
        "What we hold:\n· your child's name\n• your contact details\n\nWe keep it <safe> & sound.",
        "text",
    )
    assert html == (
        '<p class="govuk-body">What we hold:</p>\n'
        '<ul class="govuk-list govuk-list--bullet"><li>your child\'s name</li>'
        "<li>your contact details</li></ul>\n"
        '<p class="govuk-body">We keep it &lt;safe&gt; &amp; sound.</p>'
    )


def test_plain_text_keeps_line_breaks_inside_a_paragraph_and_a_list_ends_at_text():
    html = notices.render("Line one\nline two\n\n- a\n- b\nAfter the list", "text")
    assert html == (
        '<p class="govuk-body">Line one<br>line two</p>\n'
        '<ul class="govuk-list govuk-list--bullet"><li>a</li><li>b</li></ul>\n'
        '<p class="govuk-body">After the list</p>'
    )


def test_plain_text_is_not_read_as_markdown():
    html = notices.render("# Not a heading\n\n**not bold** [not](https://a.example)", "text")
    assert "<h2" not in html and "<strong>" not in html
    assert "# Not a heading" in html
    # The address is a link whose text is the address as written, not the Markdown words.
    assert Elements(html).hrefs() == ["https://a.example"]
    assert "[not](<a " in html and ">https://a.example</a>)" in html


def test_an_unknown_format_is_refused():
    with pytest.raises(notices.NoticeError, match="unknown notice format 'html'"):
        notices.render("x", "html")


@pytest.mark.parametrize(
    ("filename", "expected"),
    [("notice.txt", "text"), ("NOTICE.TXT", "text"), ("notice.md", "markdown"),
     ("notice.markdown", "markdown"), ("notice", "markdown")],
)  # fmt: skip
def test_the_format_follows_the_file_name(filename, expected):
    assert notices.format_for_filename(filename) == expected


def test_publishing_makes_the_next_version_and_leaves_earlier_ones_unchanged(app):
    school = make_school()
    first = notices.publish(school, title="Privacy notice", source="One.", source_format="markdown")
    assert (first.created, first.notice.version) == (True, 1)
    before = (first.notice.id, first.notice.title, first.notice.source, first.notice.body_html,
              first.notice.published_at)  # fmt: skip

    second = notices.publish(school, title="Privacy notice", source="Two.", source_format="text")
    third = notices.publish(school, title="Our notice", source="Two.", source_format="text")

    assert (second.created, second.notice.version) == (True, 2)
    assert (third.created, third.notice.version) == (True, 3)
    db.session.expire_all()
    one = notices.get_version(school, 1)
    assert (one.id, one.title, one.source, one.body_html, one.published_at) == before
    assert [n.version for n in notices.versions(school)] == [3, 2, 1]
    assert notices.current(school).title == "Our notice"
    assert notices.get_version(school, 2).body_html == '<p class="govuk-body">Two.</p>'


def test_publishing_identical_content_creates_nothing(app):
    school = make_school()
    first = notices.publish(school, title=" Privacy notice ", source="One.",
                            source_format="markdown")  # fmt: skip
    again = notices.publish(school, title="Privacy notice", source="One.",
                            source_format="markdown")  # fmt: skip
    assert again.created is False
    assert again.notice.id == first.notice.id
    assert db.session.scalar(select(func.count()).select_from(NoticeVersion)) == 1


def test_the_same_text_in_another_format_is_a_new_version(app):
    school = make_school()
    make_notice(school, source="- one", source_format="markdown")
    result = notices.publish(school, title="Privacy notice", source="- one", source_format="text")
    assert (result.created, result.notice.version) == (True, 2)


@pytest.mark.parametrize(
    ("title", "source", "source_format", "message"),
    [
        ("", "Text.", "markdown", "a notice needs a title"),
        ("   ", "Text.", "markdown", "a notice needs a title"),
        ("Title", "", "markdown", "the notice is empty"),
        ("Title", " \n\t\n", "text", "the notice is empty"),
        ("T" * 201, "Text.", "markdown", "longer than 200 characters"),
        ("Privacy\r\nBcc: evil@example.org", "Text.", "markdown", "must be one line"),
        ("Title", "Text.", "html", "unknown notice format"),
    ],
)
def test_a_notice_without_a_title_or_text_is_refused(app, title, source, source_format, message):
    school = make_school()
    with pytest.raises(notices.NoticeError, match=message):
        notices.publish(school, title=title, source=source, source_format=source_format)
    assert notices.current(school) is None


def test_each_school_numbers_its_own_versions(app):
    oak = make_school(slug="oak-primary")
    ash = make_school(slug="ash-academy", name="Ash Academy")
    make_notice(oak, source="Oak one.")
    make_notice(oak, source="Oak two.")
    assert make_notice(ash, source="Ash one.").version == 1
    assert notices.current(oak).version == 2
    assert notices.get_version(ash, 2) is None


@pytest.mark.parametrize("target", ["%3Ehttp://a/", "/staff/users", "x:y", "//evil.example/"])
def test_a_link_that_goes_nowhere_outside_the_portal_loses_its_href(target):
    """Found by the property above: "%3Ehttp://a/" is a relative address with a colon in it."""
    html = notices.render(
        f"[here]({target}) and [top](#contents) and [web](https://a.example)", "markdown"
    )
    hrefs = Elements(html).hrefs()
    assert hrefs == ["", "#contents", "https://a.example"]  # the first link keeps its text only
