"""Page weight on a phone's first visit: every page of the parent journey, HTML, CSS and
JavaScript together, under 50 KB gzipped, in English and in the heaviest scripts (Urdu,
Arabic, Gujarati); an htmx fragment under 5 KB as sent.

Measured on the demo school (its real notice and purposes), with gzip at level 6, the level
most servers and proxies use for text.
"""

from __future__ import annotations

import gzip
import re
from typing import Any

import pytest
from sqlalchemy import select

from portal import demo
from portal.extensions import db
from portal.models import Pupil, Purpose
from tests.support.web import HTMX, post_form, sign_in_as

BUDGET = 50 * 1024
FRAGMENT_BUDGET = 5 * 1024
ASSET = re.compile(r'<(?:link rel="stylesheet" href|script src)="(/static/[^"]+)"')


def gzipped(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6))


def first_visit(client: Any, path: str) -> tuple[int, dict[str, int]]:
    """The gzipped size of a page and of every stylesheet and script it loads."""
    page = client.get(path)
    assert page.status_code == 200, path
    sizes = {path: gzipped(page.data)}
    for asset in ASSET.findall(page.text):
        response = client.get(asset)
        assert response.status_code == 200, asset
        sizes[asset] = gzipped(response.data)
        response.close()
    return sum(sizes.values()), sizes


@pytest.fixture
def farah(app: Any) -> Any:
    demo.load()
    db.session.commit()
    client = app.test_client()
    sign_in_as(client, "farah.hussain@example.org")
    return client


# English, and the languages whose text weighs most: Urdu and Arabic (two bytes a letter in
# UTF-8, right to left) and Gujarati (three).
@pytest.mark.parametrize("language", ["en", "ur", "ar", "gu"])
def test_every_page_of_the_journey_is_under_50_kb_on_a_first_visit(farah, language):
    farah.set_cookie("lang", language)
    amira = db.session.scalars(select(Pupil).where(Pupil.forename == "Amira")).one()
    paths = [
        "/family",
        f"/family/children/{amira.id}",
        "/family/schools/riverside-primary/marketing",
        "/family/history",
        "/schools/riverside-primary/privacy-notice",
        "/schools/riverside-primary/your-rights",
    ]
    for path in paths:
        total, sizes = first_visit(farah, path)
        assert total < BUDGET, f"{path} in {language} weighs {total} bytes gzipped: {sizes}"
        page = farah.get(path)
        assert f'<html lang="{"en-GB" if language == "en" else language}"' in page.text


def test_htmx_fragments_are_under_5_kb(farah):
    amira = db.session.scalars(select(Pupil).where(Pupil.forename == "Amira")).one()
    page = farah.get(f"/family/children/{amira.id}")
    for purpose in db.session.scalars(
        select(Purpose).where(Purpose.scope == "pupil", Purpose.choice != "none")
    ):
        decision = "grant" if purpose.choice == "consent" else "object"
        response = post_form(
            farah,
            f"/family/children/{amira.id}/choices/{purpose.id}",
            {"decision": decision, "purpose_version": purpose.version, "note": "x" * 900},
            page=page,
            headers=HTMX,
        )
        assert response.status_code == 200
        assert len(response.data) < FRAGMENT_BUDGET, (purpose.key, len(response.data))
    marketing = farah.get("/family/schools/riverside-primary/marketing")
    response = post_form(
        farah,
        "/family/schools/riverside-primary/marketing",
        {"decision": "object"},
        page=marketing,
        headers=HTMX,
    )
    assert response.status_code == 200
    assert len(response.data) < FRAGMENT_BUDGET, len(response.data)
