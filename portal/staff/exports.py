"""Marketing exports (marketing and admin): the marketing list and the suppression list.

The page shows how many people each list holds; each download is a POST (it writes an audit
entry, so it is a CSRF-protected state change) answered with a streamed CSV attachment
(docs/security.md, promise 19). The suppression list is a button with nothing to parse: its
POST needs only the CSRF token, which CSRFProtect checks for every POST.
"""

from __future__ import annotations

from werkzeug.wrappers import Response
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from .. import exports
from ..csv_files import filename
from ..web.access import fresh_second_factor, staff_required
from ..web.forms import PortalForm
from ..web.hypermedia import whole_page
from ..web.incoming import parse_id
from ..web.responses import csv_response
from . import bp
from .nav import ADMIN, MARKETING, current_school, current_staff

PAGE = "staff/exports/exports.html"


class MarketingExportForm(PortalForm):
    """Download the marketing list: of one marketing purpose, or of any of them."""

    purpose = SelectField("Who agreed to", choices=[], validate_choice=False)

    def offer(self, purposes: list[tuple[int, str]]) -> MarketingExportForm:
        self.purpose.choices = [SelectChoice("any", "Any marketing emails")] + [
            SelectChoice(str(pid), title) for pid, title in purposes
        ]
        return self

    def validate_purpose(self, field: SelectField) -> None:
        if field.data and field.data != "any" and parse_id(field.data) is None:
            raise ValidationError("Choose which marketing emails from the list")

    @property
    def purpose_id(self) -> int | None:
        value = self.purpose.data
        return parse_id(value) if value and value != "any" else None


def _page(form: MarketingExportForm | None = None, status: int = 200) -> Response:
    school = current_school()
    purposes = exports.marketing_purposes(school.id)
    choices = [(p.id, p.title) for p in purposes]
    form = form or MarketingExportForm(formdata=None)
    form.offer(choices)
    counts = exports.counts(school.id)
    per_purpose = (
        [(p.title, exports.counts(school.id, purpose_id=p.id).marketing) for p in purposes]
        if len(purposes) > 1
        else []
    )
    return whole_page(
        PAGE, status=status, form=form, purposes=purposes, counts=counts, per_purpose=per_purpose
    )


@bp.get("/exports", endpoint="exports")
@staff_required(ADMIN, MARKETING)
@fresh_second_factor(back="staff.exports")
def exports_page() -> Response:
    return _page()


@bp.post("/exports/marketing-list")
@staff_required(ADMIN, MARKETING)
@fresh_second_factor(back="staff.exports")
def export_marketing() -> Response:
    school = current_school()
    form = MarketingExportForm()
    form.offer([(p.id, p.title) for p in exports.marketing_purposes(school.id)])
    if not form.validate_on_submit():
        return _page(form, 400)
    purpose_id = form.purpose_id
    exports.start_marketing_export(current_staff(), purpose_id)  # NotFound: not this school's
    return csv_response(
        exports.marketing_csv(school.id, purpose_id=purpose_id),
        filename("marketing-list", school.slug),
    )


@bp.post("/exports/suppression-list")
@staff_required(ADMIN, MARKETING)
@fresh_second_factor(back="staff.exports")
def export_suppression() -> Response:
    school = current_school()
    exports.start_suppression_export(current_staff())
    return csv_response(
        exports.suppression_csv(school.id), filename("suppression-list", school.slug)
    )
