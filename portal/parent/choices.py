"""The family's choices: "Your children", a child's page, and answering one of its choices.

Thin views over `portal.choices`. Every answer is a plain form POST that redirects back to the
child's page with a confirmation; htmx sends the same form from the card and gets just the
card back (`saved`), with the confirmation for the live region. A form with a problem answers
with the card (htmx) or the whole page, the problem shown beside the answer.

The buttons carry the decision (name="decision"); the hidden fields say what the page showed,
so a stale page cannot agree to wording nobody read.

"Give the same answers for" a brother or sister is asked once per page, not on every card: a
small GET form at the top reloads the page with `?also=<id>`, and every card's form then
carries the chosen children as hidden `also` fields (and says so beside its buttons). The
choice lives in the address, so it works alike with and without JavaScript, and a redirect
after an answer keeps it.
"""

from __future__ import annotations

from typing import Any

from flask import get_flashed_messages, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from werkzeug.wrappers import Response
from wtforms import IntegerField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange, Optional

from .. import choices, ledger
from ..ledger import LedgerError
from ..models import Decision
from ..web.access import guardian_required
from ..web.forms import PortalForm, strip
from ..web.hypermedia import page_or_fragment, saved
from ..web.incoming import MAX_ID
from ..web.language import join_list, page_language
from . import bp
from .layout import family, guardian_email, guardian_id

HOME_PAGE = "parent/choices/home.html"
CHILD_PAGE = "parent/choices/child.html"
CARD = "parent/choices/_partials/card.html"

MAX_REASON = 1000
# The confirmation of each decision, for the children named (`_names`).
SAID = {
    Decision.GRANT: _l("Saved. You said yes for %(names)s."),
    Decision.WITHDRAW: _l("Saved. You said no for %(names)s."),
    Decision.OBJECT: _l("Saved. You objected for %(names)s."),
    Decision.LIFT_OBJECTION: _l("Saved. You withdrew your objection for %(names)s."),
}
STALE = _l(
    "The school changed the wording of this choice while the page was open. "
    "Read the new wording, then answer again."
)
DOES_NOT_FIT = _l("That answer does not fit this choice. Choose one of the answers shown.")
# The hidden fields say what the page showed: wrong only on a page changed by hand.
RELOAD = _l("Reload the page, then answer again.")


class DecisionForm(PortalForm):
    """One purpose's answer for a child (and, ticked, their brothers and sisters)."""

    decision = StringField(
        validators=[
            DataRequired(message=_l("Choose an answer")),
            AnyOf(
                [d.value for d in Decision if d not in ledger.OUTCOMES],
                message=_l("Choose one of the answers shown"),
            ),
        ]
    )
    purpose_version = IntegerField(
        validators=[InputRequired(message=RELOAD), NumberRange(min=1, max=MAX_ID, message=RELOAD)]
    )
    notice_version = IntegerField(
        validators=[Optional(), NumberRange(min=1, max=MAX_ID, message=RELOAD)]
    )
    note = TextAreaField(
        filters=[strip],
        validators=[
            Optional(),
            Length(
                max=MAX_REASON,
                message=_l("Your reason must be %(num)d characters or fewer", num=MAX_REASON),
            ),
        ],
    )
    also = SelectMultipleField(coerce=int, validate_choice=False)


# --- your children -------------------------------------------------------------------------


@bp.get("")
@guardian_required
def home() -> str:
    their_family = family()
    summary = choices.family_summary(
        guardian_id(), family=their_family, language=page_language().tag
    )
    # Children who have left: listed read-only, with a way to their history.
    return render_template(HOME_PAGE, summary=summary, left=their_family.left)


# --- a child's page ------------------------------------------------------------------------


def _saved_messages() -> dict[str, str]:
    """The confirmations flashed by `saved` after a plain POST, by card ("purpose-<id>")."""
    flashed: list[tuple[str, str]] = get_flashed_messages(with_categories=True)  # type: ignore[assignment]
    return {category: message for category, message in flashed if category.startswith("purpose-")}


def _also(page: choices.ChildPage, wanted: list[int]) -> dict[str, Any]:
    """The brothers and sisters chosen to get the same answers (`?also=`, or a form's `also`
    fields), those of `wanted` that are this page's siblings, in the page's order; and their
    names with the child's, for the line beside each card's buttons; and the names of all
    the page's brothers and sisters, for the question."""
    also = [s for s in page.siblings if s.id in set(wanted)]
    return {
        "also": also,
        "answer_for": _names([page.pupil.forename, *(s.forename for s in also)]),
        "sibling_names": _names([s.forename for s in page.siblings]),
    }


@bp.get("/children/<int:pupil_id>")
@guardian_required
def child(pupil_id: int) -> str:
    page = choices.child_page(
        guardian_id(), pupil_id, family=family(), language=page_language().tag
    )
    return render_template(
        CHILD_PAGE,
        page=page,
        saved_messages=_saved_messages(),
        problem=None,
        **_also(page, request.args.getlist("also", type=int)),
    )


@bp.post("/children/<int:pupil_id>/choices/<int:purpose_id>")
@guardian_required
def decide(pupil_id: int, purpose_id: int) -> Response:
    form = DecisionForm()
    their_family = family()
    # 404 unless this is their child and the purpose a choice on the child's page.
    target = choices.answerable(guardian_id(), pupil_id, purpose_id, family=their_family)
    status, message = 400, None
    # The brothers and sisters this page answers for too: kept on the page after the answer.
    also = [s.id for s in target.siblings if s.id in set(_ids(form.also.raw_data))]
    if form.validate_on_submit():
        others = [pid for pid in form.also.data or [] if pid != pupil_id]
        try:
            choices.decide(
                guardian_id(),
                [pupil_id, *others],
                purpose_id,
                form.decision.data or "",
                note=form.note.data if form.decision.data == Decision.OBJECT else None,
                purpose_version=form.purpose_version.data,
                notice_version=form.notice_version.data,
                family=their_family,
                language=page_language().tag,
                email=guardian_email(),
            )
        except choices.StaleChoice:
            status, message = 409, str(STALE)
        except LedgerError:
            message = str(DOES_NOT_FIT)
        else:
            names = [target.pupil.forename]
            names += [s.forename for s in target.siblings if s.id in others]
            return saved(
                # The message is ours (a catalogue's); the names are escaped, in <bdi>.
                Markup(str(SAID[Decision(form.decision.data)])) % {"names": _names(names)},  # noqa: S704
                fragment=CARD,
                redirect_to=url_for(
                    ".child", pupil_id=pupil_id, also=also or None, _anchor=f"purpose-{purpose_id}"
                ),
                category=f"purpose-{purpose_id}",
                fragment_context=lambda: _card(pupil_id, purpose_id, their_family, also),
                problem=None,
            )
    else:
        found = next(iter(e for errors in form.errors.values() for e in errors), None)
        message = None if found is None else str(found)
    problem = {
        "purpose": purpose_id,
        "message": message,
        "field": "note" if form.note.errors else "answer",
        "note": form.note.data or "",  # what they typed is kept, not lost to the error
    }
    return page_or_fragment(
        CHILD_PAGE,
        CARD,
        status=status,
        problem=problem,
        saved=None,
        saved_messages={},
        **_card(pupil_id, purpose_id, their_family, also),
    )


def _card(
    pupil_id: int, purpose_id: int, their_family: choices.Family, also: list[int]
) -> dict[str, Any]:
    """The child's page read again, the card of the purpose answered, and the brothers and
    sisters the page answers for too."""
    page = choices.child_page(
        guardian_id(), pupil_id, family=their_family, language=page_language().tag
    )
    return {"page": page, "item": page.card(purpose_id), **_also(page, also)}


def _ids(values: list[str] | None) -> list[int]:
    """The whole numbers among a form's values (the others are not anyone's id)."""
    return [int(v) for v in values or [] if v.isascii() and v.isdigit() and len(v) < 12]


def _names(names: list[str]) -> Markup:
    """The children named in a confirmation: "A", "A and B", "A, B and C", in the page's
    language ("A, B i C"; Urdu and Arabic with their own comma), each name in <bdi>."""
    return join_list([Markup("<bdi>{}</bdi>").format(name) for name in names])
