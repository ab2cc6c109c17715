"""Our GOV.UK component macros (templates/_components.html) against govuk-frontend-jinja's.

Each macro must emit the markup govuk-frontend-jinja's macro emits for the same parameters,
compared as bench/components.py compares them: parsed, whitespace collapsed, the attributes of
each element sorted and its classes as a set, the elements, end tags and text nodes in order.
A GOV.UK upgrade that changes a component's markup fails here; follow it in _components.html
(docs/architecture.md, "GOV.UK components"). And no template outside the components file
writes a button, a table or an error summary by hand.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from markupsafe import Markup, escape

from portal import PROJECT_ROOT

TEMPLATES = PROJECT_ROOT / "templates"
COMPONENTS = "_components.html"
GOVUK = "govuk_frontend_jinja/components"

# Data with markup in it: it must come out escaped, the same way both sides.
TITLE = 'Name & photo in the "newsletter" <b>'
MESSAGE = 'Enter at least 2 letters of a name, like "Am" or O\'N <i>'


class _Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        shown = []
        for name, value in attrs:
            value = " ".join((value or "").split())
            if name == "class":
                value = " ".join(sorted(value.split()))
            shown.append(f'{name}="{value}"')
        self.items.append("<" + " ".join([tag, *sorted(shown)]) + ">")

    def handle_endtag(self, tag: str) -> None:
        self.items.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if text:
            self.items.append(text)


def markup(html: str) -> list[str]:
    parser = _Markup()
    parser.feed(html)
    parser.close()
    return parser.items


def render(app: Flask, source: str, **context: Any) -> str:
    # from_string templates are autoescaped in Flask, as .html files are
    return app.jinja_env.from_string(source).render(**context)


def own(app: Flask, call: str, **context: Any) -> str:
    used = re.findall(r"\b(button|form_error_summary|error_summary|table)\(", call)
    names = ", ".join(sorted(set(used)))
    return render(app, f'{{% from "{COMPONENTS}" import {names} %}}{call}', **context)


def govuk(app: Flask, component: str, macro: str, params: dict[str, Any]) -> str:
    source = (
        f'{{% from "{GOVUK}/{component}/macro.html" import {macro} %}}{{{{ {macro}(params) }}}}'
    )
    return render(app, source, params=params)


def with_hidden(text: str, hidden: str) -> Markup:
    """govukButton's `html` for a text and a visually hidden suffix, each escaped."""
    return Markup('{}<span class="govuk-visually-hidden">{}</span>').format(text, hidden)


BUTTONS = [
    pytest.param(
        'button("Yes, I agree", name="decision", value="grant", id="answer-40",'
        ' hidden=" to " ~ title|lower)',
        {
            "html": with_hidden("Yes, I agree", " to " + TITLE.lower()),
            "name": "decision",
            "value": "grant",
            "id": "answer-40",
        },
        id="primary, name, value, id, hidden suffix",
    ),
    pytest.param(
        'button("No", name="decision", value="withdraw", secondary=true, id="answer-40-no",'
        ' hidden=" to " ~ title)',
        {
            "html": with_hidden("No", " to " + TITLE),
            "name": "decision",
            "value": "withdraw",
            "classes": "govuk-button--secondary",
            "id": "answer-40-no",
        },
        id="secondary",
    ),
    pytest.param(
        'button("Deactivate", warning=true, classes="govuk-!-margin-bottom-0",'
        ' id="user-3-deactivate")',
        {
            "text": "Deactivate",
            "classes": "govuk-button--warning govuk-!-margin-bottom-0",
            "id": "user-3-deactivate",
        },
        id="warning, classes",
    ),
    pytest.param(
        "button(title, prevent_double_click=true)",
        {"text": TITLE, "preventDoubleClick": True},
        id="text escaped, prevent double click",
    ),
    pytest.param(
        'button("Search", name="action", value="search", secondary=true,'
        ' attributes={"hx-get": "/search?a=1&b=2", "hx-include": "#q, #pupils"})',
        {
            "text": "Search",
            "name": "action",
            "value": "search",
            "classes": "govuk-button--secondary",
            "attributes": {"hx-get": "/search?a=1&b=2", "hx-include": "#q, #pupils"},
        },
        id="attributes",
    ),
]


@pytest.mark.parametrize(("call", "params"), BUTTONS)
def test_button_is_govuk_button(app: Flask, call: str, params: dict[str, Any]) -> None:
    ours = own(app, f"{{{{ {call} }}}}", title=TITLE)
    assert markup(ours) == markup(govuk(app, "button", "govukButton", params))


def test_button_escapes_and_keeps_the_space_before_its_hidden_suffix(app: Flask) -> None:
    ours = own(app, '{{ button("No", hidden=" to " ~ title) }}', title=TITLE)
    assert f'No<span class="govuk-visually-hidden"> to {escape(TITLE)}</span></button>' in ours
    assert "<b>" not in ours and "&lt;b&gt;" in ours


ERRORS = [
    ("#purpose", "Choose what the photo will be used for"),
    ("#answer-40", MESSAGE),
    ('#q" onclick="x', "Enter a name"),
]


def test_error_summary_is_govuk_error_summary(app: Flask) -> None:
    ours = own(app, "{{ error_summary(errors) }}", errors=ERRORS)
    params = {
        "titleText": "There is a problem",
        "errorList": [{"href": href, "text": message} for href, message in ERRORS],
    }
    theirs = govuk(app, "error-summary", "govukErrorSummary", params)
    assert markup(ours) == markup(theirs)
    # GOV.UK's current markup: a plain outer div, the alert role on an inner one
    assert '<div class="govuk-error-summary" data-module="govuk-error-summary">' in ours
    assert '<div role="alert">' in ours and "tabindex" not in ours
    assert "<i>" not in ours and 'onclick="x' not in ours


def test_error_summary_heading_level_changes_only_the_heading(app: Flask) -> None:
    h2 = own(app, "{{ error_summary(errors) }}", errors=ERRORS[:1])
    h4 = own(app, "{{ error_summary(errors, heading_level=4) }}", errors=ERRORS[:1])
    assert h4.replace("<h4 ", "<h2 ").replace("</h4>", "</h2>") == h2


class _Field:
    def __init__(self, id: str) -> None:
        self.id = id


class _Form:
    """What form_error_summary reads of a WTForms form: errors by field name, and its fields."""

    def __init__(self, errors: dict[str, list[str]], fields: dict[str, str]) -> None:
        self.errors = errors
        self._fields = {name: _Field(id) for name, id in fields.items()}

    def __contains__(self, name: str) -> bool:
        return name in self._fields

    def __getitem__(self, name: str) -> _Field:
        return self._fields[name]


def test_form_error_summary_links_each_error_to_its_field(app: Flask) -> None:
    form = _Form(
        {"class_name": ["Choose a class", MESSAGE], "confirm": ["Tick the box"]},
        {"class_name": "class"},
    )
    expected = [("#class", "Choose a class"), ("#class", MESSAGE), ("#confirm", "Tick the box")]
    ours = own(app, "{{ form_error_summary(form) }}", form=form)
    assert markup(ours) == markup(own(app, "{{ error_summary(errors) }}", errors=expected))
    assert own(app, "{{ form_error_summary(form) }}", form=_Form({}, {})).strip() == ""


ROWS = [
    ("Amira O'Neill", "3B", "✓ Yes", "✗ NO — Court order <restricted>"),
    ("Ben Smith", "3B", "✗ NO — Not answered", "✓ Yes"),
]
# Our rows are the caller's, written by hand as the templates write them.
ROWS_BY_HAND = """
{%- for name, class_name, first, second in rows %}
<tr class="govuk-table__row">
  <th scope="row" class="govuk-table__header">{{ name }}</th>
  <td class="govuk-table__cell">{{ class_name }}</td>
  <td class="govuk-table__cell govuk-table__cell--numeric">{{ first }}</td>
  <td class="govuk-table__cell portal-mark">{{ second }}</td>
</tr>
{%- endfor %}"""


def govuk_rows() -> list[list[dict[str, Any]]]:
    return [
        [
            {"text": name},
            {"text": class_name},
            {"text": first, "format": "numeric"},
            {"text": second, "classes": "portal-mark"},
        ]
        for name, class_name, first, second in ROWS
    ]


TABLES = [
    pytest.param(
        'caption="May each child appear in a photo?",'
        ' caption_classes="govuk-table__caption--m govuk-visually-hidden",'
        ' classes="portal-print-sheet__table",'
        ' head=["Child", "Class", {"text": "Version", "format": "numeric"},'
        ' {"text": "Actions", "hidden": true}]',
        {
            "caption": "May each child appear in a photo?",
            "captionClasses": "govuk-table__caption--m govuk-visually-hidden",
            "classes": "portal-print-sheet__table",
            "head": [
                {"text": "Child"},
                {"text": "Class"},
                {"text": "Version", "format": "numeric"},
                {"html": Markup('<span class="govuk-visually-hidden">Actions</span>')},
            ],
        },
        id="caption, classes, numeric and hidden headings",
    ),
    pytest.param(
        "caption=none, head=[title, 'Class', 'First', 'Second']",
        {"head": [{"text": TITLE}, {"text": "Class"}, {"text": "First"}, {"text": "Second"}]},
        id="no caption, a heading escaped",
    ),
]


@pytest.mark.parametrize(("args", "params"), TABLES)
def test_table_is_govuk_table(app: Flask, args: str, params: dict[str, Any]) -> None:
    call = f"{{% call table({args}) %}}{ROWS_BY_HAND}{{% endcall %}}"
    ours = own(app, call, rows=ROWS, title=TITLE)
    theirs = govuk(
        app, "table", "govukTable", {**params, "firstCellIsHeader": True, "rows": govuk_rows()}
    )
    assert markup(ours) == markup(theirs)


def test_table_caption_id_is_the_only_addition(app: Flask) -> None:
    plain = own(app, '{% call table(caption="Ledger events", head=["Seq"]) %}{% endcall %}')
    with_id = own(
        app, '{% call table(caption="Ledger events", head=["Seq"], caption_id="c") %}{% endcall %}'
    )
    assert (
        with_id.replace(' id="c"', "") == plain
        and '<caption class="govuk-table__caption" id="c">' in with_id
    )


# --- no component by hand outside the components file --------------------------------------

# Not GOV.UK components: the header's sign-out is a form button styled as a header link.
NOT_COMPONENTS = {
    ("base.html", '<button type="submit" class="portal-header__link">{{ _("Sign out") }}</button>'),
    # Each language in the chooser is a form whose button looks like a link (in its language).
    (
        "public/languages/choose.html",
        '<button type="submit" class="portal-button-link" lang="{{ language.tag }}" '
        'dir="{{ language.direction }}"{% if language == page_language %} aria-current="true"'
        "{% endif %}>{{ language.name }}</button>",
    ),
}
BY_HAND = re.compile(
    r'<button\b|<table\b|<caption\b|<thead\b|class="govuk-table[" ]|class="govuk-error-summary'
)


def pages() -> list[Path]:
    skip = {TEMPLATES / "emails"}
    return sorted(
        path
        for path in TEMPLATES.rglob("*.html")
        if not any(folder in path.parents for folder in skip) and path.name != COMPONENTS
    )


def test_no_template_writes_a_button_table_or_error_summary_by_hand() -> None:
    found = []
    walked = pages()
    for path in walked:
        name = path.relative_to(TEMPLATES).as_posix()
        for line in path.read_text().splitlines():
            if BY_HAND.search(line) and (name, line.strip()) not in NOT_COMPONENTS:
                found.append(f"{name}: {line.strip()}")
    assert found == [], "use the macros of templates/_components.html"
    assert len(walked) > 40 and TEMPLATES / "base.html" in walked  # the walk found them
