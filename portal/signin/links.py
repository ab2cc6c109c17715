"""Asking for a sign-in email, and using its link or its code.

- A link works once, for at most 15 minutes, and a newer link for the same address
  supersedes older ones. Using a link is an atomic UPDATE ... WHERE used_at IS NULL, so two
  concurrent uses give exactly one session (docs/security.md, promise 3). Using or
  superseding a request erases its nonce, if its email has not already done so.
- The code is bound to the request that made it: the browser that asked for the link keeps
  the request's public id in its session and can type the code there; wrong codes are
  counted, and each count is committed before the refusal (promise 2).
- Asking does the same work whether the address is known (promise 5): `accept_request`
  writes a request and an outbox row for every well-formed address and resolves nobody; the
  email's builder (`message.email_context`) decides, after the answer has gone, whether
  there is anyone to write to.
- Every write is a conditional UPDATE or an INSERT that is right whatever happened since the
  reads that decided it, in a transaction of its own (`writing`).
"""

from __future__ import annotations

import enum
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ColumnElement, select, update

from .. import emails
from ..database import writing
from ..extensions import db
from ..mail import outbox
from ..models import Guardian, GuardianLink, PrincipalType, School, SignInRequest, StaffUser
from ..types import utcnow
from .tokens import digests, hash_code, hash_token, new_nonce

# The public id of a request made for an invitation's link (`invitation_links`): such a
# request signs in only as a parent or carer, and never takes a code.
INVITATION_PREFIX = "invite-"


def is_invitation(public_id: str | None) -> bool:
    return bool(public_id) and str(public_id).startswith(INVITATION_PREFIX)


class LinkState(enum.StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    USED = "used"
    SUPERSEDED = "superseded"
    UNKNOWN = "unknown"  # forged, mistyped, or never issued
    TOO_MANY_ATTEMPTS = "too_many_attempts"


class SignInError(Exception):
    def __init__(self, state: LinkState):
        super().__init__(state.value)
        self.state = state


@dataclass(frozen=True)
class Principal:
    """Someone a sign-in can act as: a guardian, or a staff user at one school."""

    type: PrincipalType
    id: int
    label: str  # in English; the choosing page says it in its language from these:
    school: str | None = None  # a staff account's school
    role: str | None = None  # a staff account's role

    @property
    def key(self) -> str:
        return f"{self.type.value}:{self.id}"


def principals_for(email: str) -> list[Principal]:
    """Everyone this address may sign in as: a guardian with a current link to a pupil, and
    each active staff account."""
    found: list[Principal] = []
    guardian = db.session.scalars(
        select(Guardian).where(
            Guardian.email == email,
            Guardian.id.in_(
                select(GuardianLink.guardian_id).where(GuardianLink.ended_at.is_(None))
            ),
        )
    ).first()
    if guardian is not None:
        found.append(Principal(PrincipalType.GUARDIAN, guardian.id, "Parent or carer"))
    for staff, school_name in db.session.execute(
        select(StaffUser, School.name)
        .join(School, School.id == StaffUser.school_id)
        .where(StaffUser.email == email, StaffUser.active.is_(True))
        .order_by(School.name)
    ):
        found.append(
            Principal(
                PrincipalType.STAFF,
                staff.id,
                f"Staff at {school_name} ({staff.role})",
                school=school_name,
                role=staff.role,
            )
        )
    return found


@dataclass(frozen=True)
class LinkRequest:
    public_id: str  # what the asking browser keeps, known address or not
    outbox_ids: list[int]


def outbox_key(public_id: str) -> str:
    """The outbox row's dedupe key for the email of request `public_id` (unique, indexed: the
    email's builder finds the row by it when there is nobody to write to)."""
    return f"sign_in:{public_id}"


def accept_request(
    address: str, *, now: datetime | None = None, language: str | None = None
) -> LinkRequest:
    """Ask for a sign-in email, as the sign-in page does: the same work whether or not the
    address is anyone's (docs/security.md, promise 5). Every well-formed address gets a
    request row (superseding its older ones) and an outbox row; nobody is looked up here.
    The email's builder decides whether there is anyone to write to, and forgets both rows
    of an address that is no one's. `language` is the tag of the page it was asked from:
    the email's language unless the person chose one (`message.email_language`)."""
    now = now or utcnow()
    public_id = secrets.token_urlsafe(16)
    try:
        email = emails.normalise(address)
    except emails.InvalidEmail:
        return LinkRequest(public_id, [])
    return _add_request(email, public_id, now, language)


def request_link(
    address: str, *, now: datetime | None = None, language: str | None = None
) -> LinkRequest:
    """A sign-in email for an address that is someone's now, and nothing for any other
    (scripts, benchmarks and tests that sign a known person in). It looks the address up
    first, so its timing tells whether the address is known: the sign-in page uses
    `accept_request`."""
    try:
        known = bool(principals_for(emails.normalise(address)))
    except emails.InvalidEmail:
        known = False
    if not known:
        db.session.rollback()
        return LinkRequest(secrets.token_urlsafe(16), [])
    return accept_request(address, now=now, language=language)


def _add_request(email: str, public_id: str, now: datetime, language: str | None) -> LinkRequest:
    """Supersede the address's unused requests, add a new one and its email to the outbox,
    in one transaction."""
    with writing() as session:
        session.execute(
            update(SignInRequest)
            .where(
                SignInRequest.email == email,
                SignInRequest.used_at.is_(None),
                SignInRequest.superseded_at.is_(None),
            )
            .values(superseded_at=now, nonce=None)
        )
        nonce = new_nonce()
        token_hash, code_hash = digests(nonce, public_id)
        minutes = min(15, int(current_app.config["SIGN_IN_LINK_MINUTES"]))
        session.add(
            SignInRequest(
                public_id=public_id,
                nonce=nonce,  # until the email is written (`message.email_context`)
                email=email,
                token_hash=token_hash,
                code_hash=code_hash,
                created_at=now,
                expires_at=now + timedelta(minutes=minutes),
                code_attempts=0,
            )
        )
        payload = {"request": public_id}
        if language:
            payload["language"] = language
        message = outbox.enqueue(
            to_address=email,
            template="sign_in",
            payload=payload,
            school_id=None,  # one person, who may be known to several schools
            dedupe_key=outbox_key(public_id),
            now=now,
        )
    return LinkRequest(public_id, [message.id])


def link_state(token: str, *, now: datetime | None = None) -> LinkState:
    """What a link would do now. Reads only: opening a link changes nothing."""
    now = now or utcnow()
    row = db.session.scalars(
        select(SignInRequest).where(SignInRequest.token_hash == hash_token(token))
    ).first()
    return state_of(row, now)


def state_of(row: SignInRequest | None, now: datetime) -> LinkState:
    """What the request `row` (None: no such request) would do at `now`."""
    if row is None:
        return LinkState.UNKNOWN
    if row.used_at is not None:
        return LinkState.USED
    if row.superseded_at is not None:
        return LinkState.SUPERSEDED
    if row.expires_at <= now:
        return LinkState.EXPIRED
    if row.code_attempts >= current_app.config["SIGN_IN_CODE_ATTEMPTS"]:
        return LinkState.TOO_MANY_ATTEMPTS
    return LinkState.VALID


def _usable(now: datetime) -> list[ColumnElement[bool]]:
    """The conditions under which a request can still be used at `now` (`state_of` VALID)."""
    return [
        SignInRequest.used_at.is_(None),
        SignInRequest.superseded_at.is_(None),
        SignInRequest.expires_at > now,
        SignInRequest.code_attempts < current_app.config["SIGN_IN_CODE_ATTEMPTS"],
    ]


def _consume(condition: ColumnElement[bool], now: datetime) -> tuple[str, str] | None:
    """Mark one usable request used, atomically, in a transaction of its own; return its
    email and public id, or None."""
    with writing() as session:
        result = session.execute(
            update(SignInRequest)
            .where(condition, *_usable(now))
            .values(used_at=now, nonce=None)
            .returning(SignInRequest.email, SignInRequest.public_id)
        )
        used = result.first()
    return (used.email, used.public_id) if used is not None else None


def use_link(token: str, *, now: datetime | None = None) -> list[Principal]:
    """Use a link once. Raises SignInError saying why it cannot be used. An invitation's
    link signs in only as the parent or carer the address is, never as staff (promise 22)."""
    now = now or utcnow()
    used = _consume(SignInRequest.token_hash == hash_token(token), now)
    if used is None:
        raise SignInError(link_state(token, now=now))
    email, public_id = used
    principals = _principals_or_fail(email)
    if is_invitation(public_id):
        principals = [p for p in principals if p.type == PrincipalType.GUARDIAN]
        if not principals:  # no longer a parent or carer, whatever else the address is
            raise SignInError(LinkState.UNKNOWN)
    return principals


def use_code(public_id: str | None, code: str, *, now: datetime | None = None) -> list[Principal]:
    """Use the code typed in the browser that asked for it. Wrong codes are counted.

    Every refusal in a browser that asked for a link costs the same counting UPDATE, which
    counts only on a request that can still be used: a browser that asked for an address that
    is no one's holds the id of a request the mail worker has forgotten, and the time of its
    answer does not tell it from a known address's (promise 5)."""
    now = now or utcnow()
    code = "".join(code.split())
    if is_invitation(public_id):  # never in a browser's session: an invitation has no code
        public_id = None
    row = (
        db.session.scalars(
            select(SignInRequest).where(SignInRequest.public_id == public_id)
        ).first()
        if public_id
        else None
    )
    state = state_of(row, now)
    typed = hash_code(public_id or "", code)
    if row is None or state != LinkState.VALID or not hmac.compare_digest(row.code_hash, typed):
        if public_id:
            _count_wrong_code(public_id, now)
        else:
            db.session.rollback()
        raise SignInError(LinkState.UNKNOWN if state == LinkState.VALID else state)
    used = _consume(SignInRequest.id == row.id, now)
    if used is None:
        raise SignInError(LinkState.USED)
    return _principals_or_fail(used[0])


def _count_wrong_code(public_id: str, now: datetime) -> None:
    """Count a wrong code on request `public_id` if it can still be used, committed before
    the refusal (which must not roll it back)."""
    with writing() as session:
        session.execute(
            update(SignInRequest)
            .where(SignInRequest.public_id == public_id, *_usable(now))
            .values(code_attempts=SignInRequest.code_attempts + 1)
        )


def _principals_or_fail(email: str) -> list[Principal]:
    principals = principals_for(email)
    if not principals:  # removed from the roster or deactivated since the email was sent
        raise SignInError(LinkState.UNKNOWN)
    return principals
