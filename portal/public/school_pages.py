"""A school's public pages: the schools on the portal, the privacy notice (current and earlier
versions) and people's rights. Thin views over `portal.school_pages`; no sign-in."""

from __future__ import annotations

from flask import redirect, render_template, url_for
from werkzeug.wrappers import Response

from .. import school_pages
from ..parent import rights_requests
from ..web.language import page_language
from . import bp

HOME_PAGE = "public/school_pages/home.html"
NOTICE_PAGE = "public/school_pages/notice.html"
RIGHTS_PAGE = "public/school_pages/rights.html"


@bp.get("/")
def home() -> str | Response:
    schools = school_pages.directory()
    if len(schools) == 1:
        return redirect(url_for(".notice", slug=schools[0].slug))
    return render_template(HOME_PAGE, schools=schools)


@bp.get("/schools/<string:slug>/privacy-notice")
def notice(slug: str) -> str:
    page = school_pages.notice(slug, language=page_language().tag)
    return render_template(NOTICE_PAGE, **_notice_context(page))


@bp.get("/schools/<string:slug>/privacy-notice/versions/<int:version>")
def notice_version(slug: str, version: int) -> str:
    page = school_pages.notice(slug, version, language=page_language().tag)
    return render_template(NOTICE_PAGE, **_notice_context(page))


def _notice_context(page: school_pages.NoticePage) -> dict[str, object]:
    return {
        "school": page.school,
        "notice": page.notice,
        "versions": page.versions,
        "is_current": page.is_current,
        "shown": page.shown,
    }


@bp.get("/schools/<string:slug>/your-rights")
def rights(slug: str) -> str:
    school = school_pages.rights(slug)
    # A signed-in parent or carer of this school also gets the form to make a request.
    return render_template(
        RIGHTS_PAGE, school=school, request_form=rights_requests.form_context(school)
    )
