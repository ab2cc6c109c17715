"""Receipts as a parent meets them: three quick changes on the web make one email, sent by
the mail worker to a real SMTP server, with the three references."""

from __future__ import annotations

from datetime import timedelta

from portal.extensions import db
from portal.mail.delivery import send_pending
from portal.types import utcnow
from tests.support.mail import MailServer
from tests.support.web import post_form, sign_in_as
from tests.support.world import event_rows


def test_three_quick_changes_make_one_receipt_with_three_references(make_app, app, world):
    server = MailServer().start()
    try:
        smtp_app = make_app(**server.app_config)
        web = smtp_app.test_client()
        sign_in_as(web, "ada@example.org")
        a, b = world.oak.pupils["A"].id, world.oak.pupils["B"].id
        p = world.oak.purposes
        page = web.get(f"/family/children/{a}")
        for pupil, key, decision in ((a, "photos-website", "grant"),
                                     (b, "photos-website", "grant"),
                                     (a, "photos-website", "withdraw")):  # fmt: skip
            answer = {"decision": decision, "purpose_version": 1}
            path = f"/family/children/{pupil}/choices/{p[key].id}"
            response = post_form(web, path, answer, page=page)
            assert response.status_code == 302

        # Not before the receipt delay (two minutes by default): changes may still come.
        with smtp_app.app_context():
            assert send_pending().sent == 0
            assert send_pending(now=utcnow() + timedelta(minutes=3)).sent == 1
        (receipt,) = server.wait_for(1)
        server.assert_no_more(1, settle=0.1)
        assert receipt.rcpt_tos == ["ada@example.org"]
        assert receipt.message["Subject"] == (
            "Your choices at Oak Primary School: a record of what you changed"
        )
        text = receipt.text()
        db.session.remove()
        rows = event_rows(world.oak.id)
        assert len(rows) == 3
        for row in rows:
            assert f"Reference: OP-{row.seq}-{row.hash[:4].upper()}" in text
            assert f"Full fingerprint: {row.hash}" in text
        assert "ben@example.org" not in text and "dan@example.org" not in text
    finally:
        server.stop()
