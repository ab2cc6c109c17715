"""A guardian's marketing choices at one of their schools: their own, not their children's.

Thin views over `portal.marketing`. An answer is a plain form POST that redirects back with a
confirmation; htmx sends the same forms and gets the choices region back (`saved`). A "yes"
while the objection to direct marketing stands is not saved: the page (or the region) says
why it cannot count and how to withdraw the objection first.
"""

from __future__ import annotations

from flask import render_template, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response
from wtforms import HiddenField, StringField
from wtforms.validators import AnyOf, DataRequired

from .. import marketing, schools
from ..ledger import LedgerError
from ..models import Decision
from ..web.access import guardian_required
from ..web.forms import PortalForm, optional_id
from ..web.hypermedia import confirmation, page_or_fragment, saved
from ..web.incoming import parse_id
from ..web.language import page_language
from . import bp
from .layout import guardian_id

PAGE = "parent/marketing/page.html"
CHOICES = "parent/marketing/_partials/marketing.html"
SAVED_CATEGORY = "marketing"
SAID = {
    Decision.GRANT: _l("Saved. You said yes."),
    Decision.WITHDRAW: _l("Saved. You said no."),
    Decision.OBJECT: _l("Saved. You objected to all direct marketing."),
    Decision.LIFT_OBJECTION: _l("Saved. You withdrew your objection."),
}
PROBLEM = _l("Choose one of the answers shown.")
OBJECTION_STANDS = _l(
    "You have objected to all direct marketing, so a yes cannot count and nothing was saved: "
    "the school will not send you these emails. If you want them, withdraw your objection "
    "first, then say yes."
)


class MarketingForm(PortalForm):
    """The buttons carry the decision; `purpose` names one marketing purpose (none: all)."""

    decision = StringField(
        validators=[
            DataRequired(message=_l("Choose an answer")),
            AnyOf([d.value for d in Decision], message=_l("Choose one of the answers shown")),
        ]
    )
    purpose = HiddenField(validators=[optional_id(_l("Choose one of the answers shown"))])


@bp.get("/schools/<string:slug>/marketing", endpoint="marketing")
@guardian_required
def show(slug: str) -> str:
    school = schools.get_by_slug(slug)
    page = marketing.page(guardian_id(), school.id, language=page_language().tag)
    return render_template(PAGE, page=page, saved=confirmation(SAVED_CATEGORY), problem=None)


def _problem(message: str, href: str = "#marketing") -> dict[str, str]:
    """A problem for the error summary: its message, and the place on the page it links to."""
    return {"message": message, "href": href}


@bp.post("/schools/<string:slug>/marketing", endpoint="decide_marketing")
@guardian_required
def decide(slug: str) -> Response:
    school = schools.get_by_slug(slug)
    # 404 unless linked to this school
    page = marketing.page(guardian_id(), school.id, language=page_language().tag)
    form = MarketingForm()
    status, problem = 400, _problem(str(PROBLEM))
    if form.validate_on_submit():
        purpose_id = parse_id(form.purpose.data)
        try:
            marketing.decide(
                guardian_id(),
                school.id,
                form.decision.data or "",
                purpose_id=purpose_id,
                language=page_language().tag,
            )
        except marketing.ObjectionStands:
            # Nothing saved: why, and the button that withdraws the objection.
            status, problem = 409, _problem(str(OBJECTION_STANDS), "#marketing-object")
        except LedgerError:
            pass
        else:
            return saved(
                str(SAID[Decision(form.decision.data)]),
                fragment=CHOICES,
                redirect_to=url_for(".marketing", slug=slug, _anchor="marketing"),
                category=SAVED_CATEGORY,
                fragment_context=lambda: {
                    "page": marketing.page(guardian_id(), school.id, language=page_language().tag)
                },
                problem=None,
            )
    return page_or_fragment(PAGE, CHOICES, status=status, page=page, saved=None, problem=problem)
