from __future__ import annotations

import re
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
from tests.support.web import say

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
        # The scheme is what a browser runs: "javascript:" later in an http address's path
        # (http://a/javascript:x) is only text.
        squashed = "".join(href.split()).lower()
        assert not squashed.startswith(("javascript:", "data:", "vbscript:")), href
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


# --- Plain text structured for a phone ---------------------------------------------------

LUDWORTH = (Path(__file__).resolve().parent / "data" / "notice-ludworth.txt").read_text(
    encoding="utf-8"
)


def headings(html: str) -> list[tuple[str, str | None, str]]:
    """(tag, id, text) of every h2-h4 outside the contents list."""
    body = html.split("</nav>", 1)[-1]
    return [
        (tag, ident, notices._plain(inner))
        for tag, ident, inner in re.findall(r'<(h[234])[^>]*?id="([^"]*)"[^>]*>(.*?)</\1>', body)
    ]


def test_a_short_line_without_a_full_stop_above_body_text_is_a_heading():
    html = notices.render(
        "Who we are\n\nWe are Oak Primary School.\n\nWhy we hold it\nTo teach your child.", "text"
    )
    assert headings(html) == [
        ("h2", "who-we-are", "Who we are"),
        ("h2", "why-we-hold-it", "Why we hold it"),
    ]
    assert '<p class="govuk-body">To teach your child.</p>' in html


def test_numbered_and_capital_headings_and_a_numbered_sentence_that_is_a_list_item():
    html = notices.render(
        "1. Who we are\n\nWe are Oak.\n\n2.1 Photos\n\nWe take photos.\n\nYOUR RIGHTS\n\n"
        "You can ask us.\n\n1. We will answer within a month.\n2. We will not charge you.",
        "text",
    )
    assert headings(html) == [
        ("h2", "1-who-we-are", "1. Who we are"),
        ("h3", "2-1-photos", "2.1 Photos"),
        ("h2", "your-rights", "YOUR RIGHTS"),
    ]
    assert (
        '<ol class="govuk-list govuk-list--number"><li>We will answer within a month.</li>'
        "<li>We will not charge you.</li></ol>"
    ) in html


def test_lines_that_are_not_headings_stay_in_their_paragraph():
    html = notices.render(
        "We collect your information to:\n· teach\n\nPersonal information such as;\n"
        "· names\n\nOak Primary School\nLower Fold\nStockport\n\nWe are the controller.",
        "text",
    )
    assert "<h2" not in html and "<h3" not in html
    assert '<p class="govuk-body">Oak Primary School<br>Lower Fold<br>Stockport</p>' in html


def test_a_postcode_on_its_own_line_is_not_a_heading():
    html = notices.render("Write to us.\n\nSK9 5AF\n\nWe answer within a month.", "text")
    assert "<h2" not in html
    assert '<p class="govuk-body">SK9 5AF</p>' in html


@pytest.mark.parametrize("bullet", ["•", "-", "*", "o", "·"])
def test_each_kind_of_bullet_makes_a_list(bullet):
    html = notices.render(f"We hold:\n{bullet} names\n{bullet} addresses", "text")
    assert '<ul class="govuk-list govuk-list--bullet"><li>names</li><li>addresses</li></ul>' in html


def test_web_and_email_addresses_become_links_with_the_text_as_written():
    html = notices.render(
        "See https://www.gov.uk/contact-dfe. Or www.oak.example.org, or write to "
        "dpo@oak.example.org (the officer) or http://old.example.org/a?b=1&c=2",
        "text",
    )
    links = re.findall(r'<a class="govuk-link" href="([^"]*)"[^>]*>([^<]*)</a>', html)
    assert links == [
        ("https://www.gov.uk/contact-dfe", "https://www.gov.uk/contact-dfe"),
        ("https://www.oak.example.org", "www.oak.example.org"),
        ("mailto:dpo@oak.example.org", "dpo@oak.example.org"),
        ("http://old.example.org/a?b=1&amp;c=2", "http://old.example.org/a?b=1&amp;c=2"),
    ]
    assert "contact-dfe</a>. Or" in html


@pytest.mark.parametrize(
    "address",
    [
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "vbscript:msgbox(1)",
        "ftp://files.example.org/notice",
    ],
)
def test_an_address_that_is_not_web_or_email_stays_text(address):
    html = notices.render(f"Read it at {address} today.", "text")
    assert "<a " not in html
    assert Elements(html).hrefs() == []


def test_markup_in_plain_text_is_shown_escaped_in_every_structure():
    html = notices.render(
        '<script>alert(1)</script>\n\nWe hold "names" & <b>more</b>.\n\n'
        "• <img src=x onerror=alert(1)>\n\n1. <script>x</script>",
        "text",
    )
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert {tag for tag, _ in Elements(html).tags} <= notices.ALLOWED_TAGS


def test_a_heading_written_twice_gets_a_second_anchor():
    html = notices.render("Contact\n\nWrite to us.\n\nContact\n\nOr call.", "text")
    assert [ident for _, ident, _ in headings(html)] == ["contact", "contact-2"]


def test_a_short_notice_has_no_contents_list():
    html = notices.render("Who we are\n\nWe are Oak.", "text")
    assert "Contents" not in html and "<nav" not in html


def test_a_long_markdown_notice_gets_a_contents_list_of_its_headings():
    html = notices.render("".join(f"## Part {n}\n\nText {n}.\n\n" for n in range(1, 6)), "markdown")
    assert html.startswith(
        '<nav class="portal-notice-contents" aria-labelledby="contents-title">'
        '<h2 class="govuk-heading-s" id="contents-title">Contents</h2>'
    )
    contents = html.split("</nav>")[0]
    assert re.findall(r'href="#([^"]+)">([^<]+)<', contents) == [
        (f"part-{n}", f"Part {n}") for n in range(1, 6)
    ]
    assert all(f'id="part-{n}"' in html for n in range(1, 6))


def test_the_contents_of_a_markdown_notice_with_one_title_list_its_sections():
    contents = notices.render(EXAMPLE, "markdown").split("</nav>")[0]
    entries = re.findall(r'href="#([^"]+)">([^<]+)<', contents)
    assert len(entries) == 5
    assert ("who-we-are", "Who we are") in entries
    assert "how-riverside" not in contents  # the one "#" heading is the notice's title


def test_a_heading_without_words_makes_no_empty_contents_entry():
    html = notices.render(
        "#\n\n" + "".join(f"# Part {n}\n\nText.\n\n" for n in range(5)), "markdown"
    )
    contents = html.split("</nav>")[0]
    assert contents.count("<li>") == 5 and "></a>" not in contents


def test_a_notice_of_many_words_gets_a_contents_list_with_few_headings():
    html = notices.render("Who we are\n\n" + "We hold names. " * 500, "text")
    assert 'href="#who-we-are"' in html.split("</nav>")[0]


def test_the_ludworth_notice_gets_headings_links_and_contents():
    html = notices.render(LUDWORTH, "text")
    texts = [text for _, _, text in headings(html)]
    for heading in (
        "Collecting this information",
        "Storing this information",
        "Who we share this information with",
        "The National Pupil Database (NPD)",
        "Requesting access to your personal data",
        "Complaints",
    ):
        assert heading in texts
    # Sentences and lead-ins to lists are not headings.
    assert "We collect your information to:" not in texts
    assert "Wycliffe House" not in texts
    hrefs = Elements(html).hrefs()
    for href in (
        "mailto:admin@ludworth.stockport.sch.uk",
        "mailto:IGschoolsupport@stockport.gov.uk",
        "https://www.gov.uk/contact-dfe",
        "https://www.gov.uk/data-protection-how-we-collect-and-share-research-data",
        "https://ico.org.uk/concerns/",
    ):
        assert href in hrefs
    contents = html.split("</nav>")[0]
    assert 'href="#complaints">Complaints</a>' in contents
    assert contents.count("<li>") == len(headings(html))
    assert "<li>Support children and monitor their progress</li>" in html


def test_a_brief_is_structured_with_headings_below_the_notice_in_brief():
    html = notices.render_brief("What we hold\n\nYour child's name.\n\n• photos\n• marks")
    assert '<h3 class="govuk-heading-s" id="brief-what-we-hold">What we hold</h3>' in html
    assert '<ul class="govuk-list govuk-list--bullet"><li>photos</li>' in html
    assert "<nav" not in html


def test_publishing_with_a_brief_keeps_it_and_its_html(app):
    school = make_school()
    notice = make_notice(school, source=LUDWORTH, source_format="text", brief="We hold names.")
    assert notice.brief == "We hold names."
    assert notice.brief_html == '<p class="govuk-body">We hold names.</p>'
    again = notices.publish(
        school, title=notice.title, source=LUDWORTH, source_format="text", brief="We hold names."
    )
    assert not again.created
    changed = notices.publish(
        school, title=notice.title, source=LUDWORTH, source_format="text", brief="Names only."
    )
    assert changed.created and changed.notice.version == 2


@pytest.mark.parametrize(
    ("brief", "message"),
    [
        ("word " * 301, "has 301 words; keep it to 300 or fewer"),
        ("Names\x07 only.", "has a control character"),
    ],
)
def test_a_brief_too_long_or_with_a_control_character_is_refused(app, brief, message):
    school = make_school()
    with pytest.raises(notices.NoticeError, match=message) as refused:
        notices.publish(school, title="Notice", source="Text.", source_format="text", brief=brief)
    assert refused.value.field == "brief"
    assert db.session.scalar(select(func.count()).select_from(NoticeVersion)) == 0


def test_a_version_published_before_keeps_its_html(app):
    """Versions are immutable: the new rendering applies to new publications only."""
    school = make_school()
    old = make_notice(school, source="Who we are\n\nWe are Oak.", source_format="text")
    stored = "<p>Who we are</p>\n<p>We are Oak.</p>"
    db.session.execute(
        NoticeVersion.__table__.update().where(NoticeVersion.id == old.id).values(body_html=stored)
    )
    db.session.commit()
    make_notice(school, source="Who we are\n\nWe are Oak Primary.", source_format="text")
    db.session.expire_all()
    assert db.session.get(NoticeVersion, old.id).body_html == stored


# --- translations ----------------------------------------------------------------------------

POLISH = "# Kim jesteśmy\n\nSzkoła Oak. <script>alert(1)</script>\n\n- imię dziecka\n"


def translate(school, version: int = 1, **changes):
    values = {"language": "pl", "title": "Informacja o prywatności", "source": POLISH,
              "source_format": "markdown"}  # fmt: skip
    return notices.publish_translation(school, version, **{**values, **changes})


def test_a_translation_is_rendered_as_a_version_is_with_its_own_title_and_brief(app):
    school = make_school()
    english = make_notice(school)
    translation = translate(school, brief="Przechowujemy imię dziecka.\n\n• klasa\n• zdjęcia")
    assert translation.notice_version_id == english.id
    assert (translation.language, translation.title) == ("pl", "Informacja o prywatności")
    assert translation.body_html == notices.render(POLISH, "markdown")
    assert '<h2 class="govuk-heading-m" id="kim-jeste-my">Kim jesteśmy</h2>' in (
        translation.body_html
    )
    assert "<script" not in translation.body_html
    assert translation.brief_html == notices.render_brief(translation.brief or "")
    assert "<li>klasa</li>" in (translation.brief_html or "")
    # The English version is as it was.
    assert notices.get_version(school, 1).body_html == english.body_html
    # Plain text is structured as the English is.
    text = translate(school, language="cy", title="Hysbysiad", source="Pwy ydym ni\n\nYsgol.",
                     source_format="text")  # fmt: skip
    assert text.body_html == notices.render("Pwy ydym ni\n\nYsgol.", "text")


def test_a_tag_is_stored_as_the_portal_writes_it(app):
    school = make_school()
    make_notice(school)
    assert translate(school, language="PL-pl").language == "pl"
    assert translate(school, language="pa-IN").language == "pa-Guru"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"language": "en"}, "language", "the notice's own version is in English"),
        ({"language": "en-GB"}, "language", "the notice's own version is in English"),
        ({"language": "de"}, "language", "'de' is not a language the portal offers; use one of "
                                         "cy, pl, ur, pa-Guru, gu, bn, so, ar"),
        ({"language": "en-XA"}, "language", "the notice's own version is in English"),
        ({"language": "pa"}, "language", "'pa' is not a language the portal offers"),
        ({"title": " "}, "title", "a translation needs a title"),
        ({"title": "a\nb"}, "title", "the title "),
        ({"source": "\n"}, "source", "the translation is empty"),
        ({"brief": "word " * 301}, "brief", "the notice in brief has 301 words"),
        ({"source_format": "html"}, "source_format", "unknown notice format 'html'"),
    ],
)  # fmt: skip
def test_a_translation_is_refused_with_a_clear_message(app, changes, field, message):
    school = make_school()
    make_notice(school)
    with pytest.raises(notices.NoticeError) as refused:
        translate(school, **changes)
    assert str(refused.value).startswith(message)
    assert refused.value.field == field
    assert notices.translations(school) == {}


def test_a_version_that_does_not_exist_cannot_be_translated(app):
    school = make_school()
    with pytest.raises(notices.NoticeError, match="Oak Primary School has no notice version 1"):
        translate(school)
    make_notice(school)
    other = make_school(slug="ash", name="Ash School")
    make_notice(other)
    make_notice(other, source="Version two.")
    with pytest.raises(notices.NoticeError, match="has no notice version 2"):
        translate(school, version=2)  # Ash has a version 2; Oak does not
    assert notices.translations(school) == {}


def test_a_second_translation_of_a_version_into_the_same_language_is_refused(app):
    school = make_school()
    make_notice(school)
    first = translate(school)
    with pytest.raises(notices.NoticeError) as refused:
        translate(school, language="pl-PL", title="Inny tytuł")
    assert str(refused.value) == (
        "version 1 already has a translation into Polish, and a published translation cannot "
        "change: to change it, publish a new version of the notice and translate that"
    )
    assert refused.value.field == "language"
    assert notices.translations(school) == {1: [first]}
    # Another language, or the next version in Polish, is a translation of its own.
    welsh = translate(school, language="cy", title="Hysbysiad preifatrwydd")
    make_notice(school, source="Version two.")
    second = translate(school, version=2)
    assert notices.translations(school) == {1: [welsh, first], 2: [second]}


def test_an_admin_translation_is_in_the_audit_log(app):
    import json

    from portal.models import StaffAuditEntry
    from tests.support.factories import make_staff

    school = make_school()
    make_notice(school)
    admin = make_staff(school, email="admin@oak.example.org", role="admin")
    translation = translate(school, language="ur", title="رازداری کا نوٹس", published_by=admin)
    assert translation.published_by_id == admin.id
    [entry] = db.session.scalars(select(StaffAuditEntry)).all()
    assert (entry.staff_user_id, entry.action) == (admin.id, "notice.translate")
    assert json.loads(entry.detail) == {"version": 1, "language": "ur", "title": "رازداری کا نوٹس"}


def test_a_page_shows_the_translation_in_its_language_or_the_english_with_a_flag(app):
    school = make_school()
    english = make_notice(school, title="Privacy notice", brief="We hold names.")
    translation = translate(school)
    polish = notices.shown(english, "pl")
    assert (polish.title, polish.language, polish.fallback) == (
        "Informacja o prywatności", "pl", False,
    )  # fmt: skip
    assert polish.body_html == translation.body_html
    assert polish.brief_html is None  # the translation has no brief: none is shown
    assert polish.translation == translation
    for page, fallback in [("en", False), (None, False), ("cy", True), ("en-XA", True)]:
        shown = notices.shown(english, page)
        assert (shown.title, shown.language, shown.fallback) == ("Privacy notice", "en", fallback)
        assert shown.body_html == english.body_html and shown.brief_html == english.brief_html
    # A translation of version 1 is not shown for version 2.
    second = make_notice(school, source="Version two.")
    assert (notices.shown(second, "pl").language, notices.shown(second, "pl").fallback) == (
        "en", True,
    )  # fmt: skip


def test_the_contents_heading_of_a_long_translation_is_in_its_language_or_marked_english(app):
    source = "".join(f"# Rozdział {n}\n\nTekst.\n\n" for n in range(1, 7))
    school = make_school()
    make_notice(school)
    html = translate(school, source=source).body_html
    # The heading in the translation's language, from the portal's catalogue.
    heading = say("pl", "Contents")
    assert heading != "Contents"
    assert f'<h2 class="govuk-heading-s" id="contents-title">{heading}</h2>' in html
    assert '<a class="govuk-link" href="#rozdzia-1">Rozdział 1</a>' in html
    # The English notice's heading is as it always was.
    assert '<h2 class="govuk-heading-s" id="contents-title">Contents</h2>' in notices.render(
        source, "markdown"
    )


def test_a_catalogue_without_the_contents_heading_leaves_it_english_and_says_so(make_app, tmp_path):
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    from portal.web.language import babel

    catalog = Catalog(locale="pl")
    catalog.add("Your children", "Twoje dzieci")  # but no "Contents"
    folder = tmp_path / "translations" / "pl" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "messages.mo").open("wb") as file:
        write_mo(file, catalog)
    app = make_app(BABEL_TRANSLATION_DIRECTORIES=str(tmp_path / "translations"))
    # Flask-Babel keeps the catalogues it read per process, by locale: read this one afresh,
    # and leave none of it for the tests that follow.
    cache = babel.domain_instance.cache
    cache.clear()
    try:
        with app.app_context():
            school = make_school()
            make_notice(school)
            source = "".join(f"# Rozdział {n}\n\nTekst.\n\n" for n in range(1, 7))
            html = translate(school, source=source).body_html
    finally:
        cache.clear()
    assert (
        '<h2 class="govuk-heading-s" id="contents-title" lang="en" dir="ltr">Contents</h2>'
    ) in html
