"""The canonical encoding (portal/ledger/__init__.py), checked against `json.dumps` itself,
and every stored hash recomputed the way a program outside the portal would."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from portal import ledger
from portal.extensions import db
from portal.models import GENESIS_HASH, ActorType, Channel, Decision
from tests.support.world import T0, decide

KEYS = [
    "actor_id",
    "actor_type",
    "channel",
    "decision",
    "guardian_id",
    "note",
    "notice_version",
    "occurred_at",
    "pupil_id",
    "purpose_id",
    "purpose_version",
    "school_id",
    "seq",
]

ids = st.integers(min_value=1, max_value=2**63 - 1)
# Any text at all: every code point, surrogates included, with the awkward ones made likely.
awkward = st.sampled_from(['"', "\\", "\x00", "\x1f", "\x7f", "\u2028", "\ud800", "😀", "é", "/"])
notes = (
    st.none()
    | st.text(st.characters(codec=None, exclude_categories=()))
    | st.lists(awkward | st.characters(), max_size=12).map("".join)
)
times = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.timezones()
)


def independent_time(value: datetime) -> str:
    utc = value.astimezone(UTC)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % (  # noqa: UP031
        utc.year,
        utc.month,
        utc.day,
        utc.hour,
        utc.minute,
        utc.second,
        utc.microsecond,
    )


@settings(max_examples=300, deadline=None)
@given(
    school_id=ids,
    seq=ids,
    occurred_at=times,
    actor_type=st.sampled_from(list(ActorType)),
    actor_id=st.none() | ids,
    guardian_id=ids,
    pupil_id=st.none() | ids,
    purpose_id=ids,
    purpose_version=ids,
    notice_version=st.none() | ids,
    decision=st.sampled_from(list(Decision)),
    channel=st.sampled_from(list(Channel)),
    note=notes,
)
def test_canonical_is_json_dumps_sorted_compact_ascii(**fields: Any):
    encoded = ledger.canonical(**fields)

    plain = {
        **fields,
        "occurred_at": independent_time(fields["occurred_at"]),
        "actor_type": fields["actor_type"].value,
        "decision": fields["decision"].value,
        "channel": fields["channel"].value,
    }
    assert encoded == json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    assert encoded.isascii()
    assert list(json.loads(encoded)) == KEYS
    assert json.loads(encoded) == plain


@settings(max_examples=300, deadline=None)
@given(
    school_id=ids,
    seq=ids,
    occurred_at=times,
    actor_type=st.sampled_from(list(ActorType)),
    actor_id=st.none() | ids,
    guardian_id=ids,
    pupil_id=st.none() | ids,
    purpose_id=ids,
    purpose_version=ids,
    notice_version=st.none() | ids,
    decision=st.sampled_from(list(Decision)),
    channel=st.sampled_from(list(Channel)),
    note_commitment=st.none() | st.text(max_size=70),
    answers_seq=st.none() | ids,
    language=st.none() | st.sampled_from(["en", "pl", "pa-Guru", "cy"]) | st.text(max_size=40),
)
def test_format_2_is_json_dumps_of_its_sixteen_keys(**fields: Any):
    encoded = ledger.canonical(**fields, note="never encoded in format 2", format=2)

    plain = {
        **fields,
        "format": 2,
        "occurred_at": independent_time(fields["occurred_at"]),
        "actor_type": fields["actor_type"].value,
        "decision": fields["decision"].value,
        "channel": fields["channel"].value,
    }
    assert encoded == json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    assert list(json.loads(encoded)) == sorted(KEYS_2)


@given(salt=st.text(max_size=70), note=notes.filter(lambda n: n is not None))
def test_a_note_commitment_is_sha256_of_salt_and_note(salt: str, note: str):
    try:
        salted = (salt + note).encode("utf-8")
    except UnicodeEncodeError:
        return  # a lone surrogate: the ledger refuses such a note before it is committed
    assert ledger.note_commitment(salt, note) == hashlib.sha256(salted).hexdigest()


def test_every_new_event_is_format_2_with_a_fresh_salt_per_note(world):
    photos, a = world.oak.purposes["photos-website"], world.oak.pupils["A"]
    first = decide(world.ada, photos, "withdraw", pupil=a, staff=world.oak.staff, note="Same")
    second = decide(world.ada, photos, "grant", pupil=a, staff=world.oak.staff, note="Same")
    bare = decide(world.ada, photos, "withdraw", pupil=a)
    assert (first.format, second.format, bare.format) == (2, 2, 2)
    assert first.note_salt != second.note_salt and len(first.note_salt) == 64
    assert first.note_commitment != second.note_commitment
    assert (bare.note, bare.note_salt, bare.note_commitment) == (None, None, None)
    # The language of what the person read: the portal's English pages for their own
    # decision; unknown for one staff took down from a form.
    assert (bare.language, first.language) == ("en", None)
    with pytest.raises(ledger.LedgerError, match="not a language tag"):
        decide(world.ada, photos, "grant", pupil=a, language="english please")


@given(value=times)
def test_times_are_utc_with_six_fractional_digits(value: datetime):
    assert ledger.format_time(value) == independent_time(value)
    assert ledger.format_time(value).endswith("Z") and len(ledger.format_time(value)) == 27


def test_a_time_without_a_zone_is_refused():
    import pytest

    with pytest.raises(ValueError, match="timezone-aware"):
        ledger.format_time(datetime(2025, 1, 1))


@settings(max_examples=100, deadline=None)
@given(
    occurred=st.text(max_size=30),
    actor_type=st.text(max_size=12),
    decision=st.text(max_size=12),
    channel=st.text(max_size=12),
)
def test_canonical_text_escapes_any_tampered_value_as_json_would(
    occurred: str, actor_type: str, decision: str, channel: str
):
    # verify encodes what it reads from the table, which may be anything after tampering.
    fields = {
        "school_id": 1,
        "seq": 2,
        "occurred_at": occurred,
        "actor_type": actor_type,
        "actor_id": None,
        "guardian_id": 3,
        "pupil_id": None,
        "purpose_id": 4,
        "purpose_version": 1,
        "notice_version": None,
        "decision": decision,
        "channel": channel,
        "note": None,
    }
    assert ledger.canonical(**fields) == json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True
    )


# --- every stored hash, recomputed from the rows ---------------------------------------------

TRICKY_NOTES = [
    'She said "yes" at the fair',
    "C:\\forms\\2025\\consent.pdf",
    "tab\there, newline\nthere, bell\x07, escape\x1b, unit separator\x1f, delete\x7f",
    "Zoë, Łukasz, Ἀθηνᾶ, 中文, עברית, العربية",
    "emoji 😀👨‍👩‍👧 and a line separator\u2028 inside",
    "</script><b>not html</b>",
    None,
]


# Format 2 (docs/ledger.md): the note's salted commitment instead of the note, the objection
# an outcome answers, and the format itself.
KEYS_2 = [key for key in KEYS if key != "note"] + [
    "answers_seq",
    "format",
    "language",
    "note_commitment",
]


def outside_program_hashes() -> list[tuple[int, int, str, str, str]]:
    """(school, seq, prev_hash, stored hash, recomputed hash) for every event, from plain SQL.
    A format-2 event's note must also match its commitment (else the recomputed hash is
    reported as "note does not match")."""
    rows = db.session.execute(
        text(
            "SELECT school_id, seq, occurred_at, actor_type, actor_id, guardian_id, pupil_id,"
            " purpose_id, purpose_version, notice_version, decision, channel, note, prev_hash,"
            " hash, format, note_salt, note_commitment, answers_seq, language"
            " FROM consent_events ORDER BY school_id, seq"
        )
    ).mappings()
    out = []
    for row in rows:
        occurred = row["occurred_at"]
        if isinstance(occurred, str):  # SQLite keeps UTC as text
            occurred = datetime.fromisoformat(occurred).replace(tzinfo=UTC)
        occurred = occurred.astimezone(UTC)
        keys = KEYS_2 if row["format"] == 2 else KEYS
        fields = {key: row[key] for key in keys if key != "occurred_at"}
        fields["occurred_at"] = occurred.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if row["format"] == 2 and row["note"] is not None:
            salted = (row["note_salt"] + row["note"]).encode("utf-8")
            if hashlib.sha256(salted).hexdigest() != row["note_commitment"]:
                out.append((row["school_id"], row["seq"], row["prev_hash"], row["hash"], "note"))
                continue
        body = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        digest = hashlib.sha256((row["prev_hash"] + body).encode("utf-8")).hexdigest()
        out.append((row["school_id"], row["seq"], row["prev_hash"], row["hash"], digest))
    return out


def test_every_stored_hash_can_be_recomputed_with_hashlib_and_json(world):
    a, b, x = world.oak.pupils["A"], world.oak.pupils["B"], world.elm.pupils["X"]
    for i, note in enumerate(TRICKY_NOTES):
        decide(
            world.ada,
            world.oak.purposes["photos-website"],
            "grant" if i % 3 else "withdraw",
            pupil=a if i % 2 else b,
            staff=world.oak.staff,
            note=note,
            now=T0 + timedelta(minutes=i, microseconds=i * 7919),
        )
    decide(world.ada, world.oak.purposes["marketing-emails"], "object")
    ledger.record(
        actor=ledger.Actor.system(),
        guardian=world.ada,
        pupil=x,
        purpose=world.elm.purposes["class-photos"],
        decision="object",
        channel="email",
        note="Sent by the MIS",
    )

    rows = outside_program_hashes()

    assert len(rows) == len(TRICKY_NOTES) + 2
    for school_id, seq, _prev, stored, recomputed in rows:
        assert stored == recomputed, (school_id, seq)
    by_school: dict[int, list[tuple[int, str, str]]] = {}
    for school_id, seq, prev, stored, _ in rows:
        by_school.setdefault(school_id, []).append((seq, prev, stored))
    for chain in by_school.values():
        assert [seq for seq, _, _ in chain] == list(range(1, len(chain) + 1))
        assert [prev for _, prev, _ in chain] == [GENESIS_HASH] + [h for _, _, h in chain[:-1]]
    stored_notes = db.session.scalars(
        text("SELECT note FROM consent_events WHERE school_id = :s ORDER BY seq"),
        {"s": world.oak.id},
    ).all()
    assert stored_notes[: len(TRICKY_NOTES)] == TRICKY_NOTES
    assert ledger.verify().ok


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    note=st.text(
        st.characters(exclude_characters="\x00", exclude_categories=["Cs"]),
        min_size=1,
        max_size=40,
    )
)
def test_any_storable_note_round_trips_and_verifies(world, note: str):
    event = decide(
        world.eve,
        world.oak.purposes["trip-videos"],
        "grant",
        pupil=world.oak.pupils["C"],
        staff=world.oak.staff,
        channel="phone",
        note=note,
    )
    school_id, seq, _prev, stored, recomputed = outside_program_hashes()[-1]
    assert (school_id, seq) == (world.oak.id, event.seq)
    assert stored == recomputed == event.hash
    assert event.note == (note.strip() or None)
    assert ledger.verify(world.oak.school).ok
