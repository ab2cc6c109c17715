from __future__ import annotations

from flask import abort, redirect, render_template, url_for
from werkzeug.wrappers import Response

from .. import notices, schools
from ..errors import NotFound
from ..models import School
from . import bp


def _school_or_404(slug: str) -> School:
    try:
        return schools.get_by_slug(slug)
    except NotFound:
        abort(404)


@bp.get("/")
def home() -> str | Response:
    all_schools = schools.all_schools()
    if len(all_schools) == 1:
        return redirect(url_for(".notice", slug=all_schools[0].slug))
    return render_template("public/home.html", schools=all_schools)


@bp.get("/schools/<string:slug>/privacy-notice")
def notice(slug: str) -> str:
    school = _school_or_404(slug)
    versions = notices.versions(school)
    current = versions[0] if versions else None
    return render_template(
        "public/notice.html", school=school, notice=current, versions=versions, is_current=True
    )


@bp.get("/schools/<string:slug>/privacy-notice/versions/<int:version>")
def notice_version(slug: str, version: int) -> str:
    school = _school_or_404(slug)
    versions = notices.versions(school)
    chosen = next((v for v in versions if v.version == version), None)
    if chosen is None:
        abort(404)
    return render_template(
        "public/notice.html",
        school=school,
        notice=chosen,
        versions=versions,
        is_current=chosen.version == versions[0].version,
    )


@bp.get("/schools/<string:slug>/your-rights")
def rights(slug: str) -> str:
    school = _school_or_404(slug)
    return render_template("public/rights.html", school=school)
