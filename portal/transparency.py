"""The daily checkpoint: each school's ledger signed, written outside the database and sent
to the school's data protection officer (docs/ledger.md, "Signed checkpoints").

Registered as a daily job (`portal.wiring`) when PORTAL_CHECKPOINT_KEY and
PORTAL_CHECKPOINT_DIR are set; `flask ledger checkpoint` does the same by hand. A school whose
ledger has grown gets a new checkpoint, and its DPO an email holding it: a copy the portal
cannot reach, to check the ledger against later. A ledger that no longer extends its last
checkpoint is not signed, and the DPO is told at once. No Flask request state.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask import current_app

from .database import writing
from .extensions import db
from .ledger import checkpoints
from .mail import outbox
from .models import School

log = logging.getLogger(__name__)

JOB = "checkpoints"
TEMPLATE = "checkpoint"
SUBJECT = "{subject}"


def daily(day: date, now: datetime) -> str:
    """Sign every school's checkpoint; email each DPO a new one, or a refusal."""
    config = current_app.config
    signer = checkpoints.load_signer(config["PORTAL_CHECKPOINT_KEY"])
    results = checkpoints.sign(signer, out_dir=Path(config["PORTAL_CHECKPOINT_DIR"]), now=now)
    with writing():
        for result in results:
            if not result.ok:
                log.error("checkpoint of %s NOT SIGNED: %s", result.slug, result.problem)
            if not result.dpo_email or (result.ok and not result.new):
                continue
            payload: dict[str, Any] = {"school_id": result.school_id, "size": result.size}
            if not result.ok:
                payload["problem"] = result.problem
            outbox.enqueue(
                to_address=result.dpo_email,
                template=TEMPLATE,
                payload=payload,
                school_id=result.school_id,
                dedupe_key=f"checkpoint:{result.school_id}:{result.size}:{day.isoformat()}",
                now=now,
            )
    signed = sum(1 for r in results if r.ok and r.new)
    refused = [r.slug for r in results if not r.ok]
    summary = f"{signed} signed, {sum(1 for r in results if r.ok and not r.new)} unchanged"
    if refused:
        summary += f"; NOT SIGNED (history changed?): {', '.join(refused)}"
    return summary


def email_context(payload: dict[str, Any], now: datetime) -> tuple[dict[str, Any] | None, str]:
    """The DPO's email: the checkpoint itself (or why none was signed) and how to use it."""
    school = db.session.get(School, int(payload["school_id"]))
    if school is None:
        return None, "the school no longer exists"
    base = str(current_app.config["BASE_URL"])
    size = int(payload["size"])
    context: dict[str, Any] = {
        "school_name": school.name,
        "size": size,
        "problem": payload.get("problem"),
        "checkpoint_url": f"{base}/schools/{school.slug}/ledger/checkpoint",
        "verifier_key_url": f"{base}/schools/{school.slug}/ledger/verifier-key",
        "origin": checkpoints.origin(school.slug),
    }
    if context["problem"]:
        context["subject"] = f"Action needed: {school.name}'s consent record was not signed"
        return context, ""
    found = checkpoints.latest(school.id, size)
    if found is None:
        return None, "the checkpoint is no longer stored"
    context.update(
        subject=f"The signed consent record of {school.name}: {size} decisions",
        note=found.note,
        verifier_key=found.verifier_key,
    )
    return context, ""
