"""A school's ledger, for anyone to check: its latest signed checkpoint and the verifier key,
consistency proofs between two sizes of its Merkle tree (RFC 6962, section 2.1.2), and the
inclusion proof of one event for whoever holds its link (docs/ledger.md, "Signed
checkpoints"). Thin views over `portal.ledger.checkpoints`; no sign-in.

The checkpoint and consistency proofs are plain text, as transparency-log clients read them
(one base64 hash a line). An event's proof shows its canonical bytes (ids, the decision, its
time), so it answers only with the token its link carries: a family's receipt and history
page, and the school's staff, have it; guessing another event's address finds nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from flask import Response, request
from flask_babel import gettext as _

from .. import schools
from ..errors import NotFound
from ..ledger import checkpoints
from ..models import LedgerCheckpoint
from . import bp

TEXT = "text/plain; charset=utf-8"


def _text(body: str, status: int = 200) -> Response:
    response = Response(body, status=status, mimetype="text/plain")
    response.headers["Content-Type"] = TEXT
    # Public, but changing: a cache may keep it a minute.
    response.headers["Cache-Control"] = "public, max-age=60"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _latest(slug: str, part: Callable[[LedgerCheckpoint], str]) -> Response:
    found = checkpoints.latest(schools.get_by_slug(slug).id)
    if found is None:
        return _text("No checkpoint of this school's ledger has been signed yet.\n", 404)
    return _text(part(found))


@bp.get("/schools/<string:slug>/ledger/checkpoint")
def ledger_checkpoint(slug: str) -> Response:
    return _latest(slug, lambda found: found.note)


@bp.get("/schools/<string:slug>/ledger/verifier-key")
def ledger_verifier_key(slug: str) -> Response:
    return _latest(slug, lambda found: found.verifier_key + "\n")


@bp.get("/schools/<string:slug>/ledger/consistency")
def ledger_consistency(slug: str) -> Response:
    school = schools.get_by_slug(slug)
    first = request.args.get("from", type=int)
    second = request.args.get("to", type=int)
    if first is None or second is None:
        return _text("Give two tree sizes: ?from=A&to=B (whole numbers, A <= B).\n", 400)
    try:
        proof = checkpoints.consistency(school, first, second)
    except checkpoints.CheckpointError as exc:
        return _text(f"{exc}\n", 400)
    return _text("".join(line + "\n" for line in checkpoints.b64(proof)))


@bp.get("/schools/<string:slug>/ledger/proof/<int:leaf>")
def ledger_proof(slug: str, leaf: int) -> Response:
    school = schools.get_by_slug(slug)
    if not checkpoints.token_matches(school.id, leaf, request.args.get("t")):
        raise NotFound("no such proof")
    size = request.args.get("size", type=int)
    try:
        document = checkpoints.proof_document(school, leaf, size)
    except checkpoints.NotCovered:
        message = (
            _("That checkpoint does not hold this answer.")
            if size is not None
            else _(
                "This answer is not in a signed checkpoint yet. The school signs one every "
                "day: try again tomorrow."
            )
        )
        response = _text(message + "\n", 404)
        response.headers["Cache-Control"] = "no-store"
        return response
    body = json.dumps(document, indent=2, ensure_ascii=True) + "\n"
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = (
        f'inline; filename="{school.slug}-proof-{leaf}-at-{document["tree_size"]}.json"'
    )
    # It names one family's decision: not for shared caches.
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
