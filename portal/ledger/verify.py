"""Reading, verifying and rebuilding the chains."""

from __future__ import annotations

import contextvars
import hashlib
import itertools
import json
import queue
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select, union_all, update

from ..database import PENDING_CHANGES, has_pending_changes, writing
from ..extensions import db
from ..models import (
    GENESIS_HASH,
    ConsentEvent,
    CurrentDecision,
    Decision,
    LedgerHead,
    School,
)
from . import tree
from .append import LedgerError, axis_of
from .encoding import _PLAIN_WORDS as PLAIN_WORDS
from .encoding import _TEMPLATE as CANONICAL_TEMPLATE
from .encoding import _TEMPLATE_2 as CANONICAL_TEMPLATE_2
from .encoding import canonical_text, canonical_text_2, event_canonical, format_time


@dataclass(frozen=True)
class Head:
    school_id: int
    slug: str
    seq: int
    hash: str


def heads(school: School | None = None) -> list[Head]:
    query = (
        select(School.id, School.slug, LedgerHead.seq, LedgerHead.hash)
        .join(LedgerHead, LedgerHead.school_id == School.id)
        .order_by(School.slug)
    )
    if school is not None:
        query = query.where(School.id == school.id)
    return [Head(*row) for row in db.session.execute(query)]


EVENT_COLUMNS = (
    ConsentEvent.seq,
    ConsentEvent.occurred_at,
    ConsentEvent.actor_type,
    ConsentEvent.actor_id,
    ConsentEvent.guardian_id,
    ConsentEvent.pupil_id,
    ConsentEvent.purpose_id,
    ConsentEvent.purpose_version,
    ConsentEvent.notice_version,
    ConsentEvent.decision,
    ConsentEvent.channel,
    ConsentEvent.note,
    ConsentEvent.prev_hash,
    ConsentEvent.hash,
    ConsentEvent.format,
    ConsentEvent.note_salt,
    ConsentEvent.note_commitment,
    ConsentEvent.answers_seq,
    ConsentEvent.language,
)


def stream_events(school_id: int, batch: int = 10_000) -> Iterator[Any]:
    """Every event of one school in seq order, fetched in batches (constant memory)."""
    query = (
        select(*EVENT_COLUMNS)
        .where(ConsentEvent.school_id == school_id)
        .order_by(ConsentEvent.seq)
        .execution_options(yield_per=batch)
    )
    yield from db.session.execute(query)


# --- verification ---------------------------------------------------------------------------

ProjectionKey = tuple[int, int | None, int, str]  # guardian, pupil, purpose, axis


@dataclass
class SchoolVerification:
    slug: str
    events: int = 0
    # Format-2 events whose note was erased (their commitment is still checked by the hash).
    erased_notes: int = 0
    ok: bool = True
    seq: int | None = None  # the first bad seq, when there is one
    problem: str | None = None
    # The Merkle tree's root recomputed from the events (None when the chain is broken), and
    # its root at each size asked for that the events reach.
    root: bytes | None = None
    roots: dict[int, bytes] = field(default_factory=dict)

    def fail(self, seq: int | None, problem: str) -> None:
        if self.ok:
            self.ok, self.seq, self.problem = False, seq, problem


@dataclass
class Verification:
    schools: list[SchoolVerification] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.schools)

    @property
    def events(self) -> int:
        return sum(s.events for s in self.schools)


def verify(
    school: School | None = None, *, sizes: dict[int, set[int]] | None = None
) -> Verification:
    """Recompute every chain, tree and the projection; name the first broken seq of each
    school. `sizes` asks, per school id, for the tree's root at those sizes (to compare with
    signed checkpoints).

    Reads one consistent snapshot (REPEATABLE READ on PostgreSQL; SQLite's read transaction),
    so appends that happen meanwhile neither block it nor make it report a false break.
    """
    session = db.session()
    if session.in_transaction():
        session.commit()
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    try:
        result = Verification()
        targets = [school] if school is not None else list(session.scalars(select(School)))
        targets = sorted(targets, key=lambda s: s.slug)
        if session.get_bind().dialect.name == "postgresql":
            # One reader for every school, a step ahead: the database reads the next batch
            # (and the next school) while this thread checks the one before.
            with _Feed(_raw_connection(), [target.id for target in targets]) as feed:
                token = _FEED.set(feed)
                try:
                    for target in targets:
                        result.schools.append(
                            verify_school(target.id, target.slug, (sizes or {}).get(target.id))
                        )
                finally:
                    _FEED.reset(token)
        else:
            for target in targets:
                result.schools.append(
                    verify_school(target.id, target.slug, (sizes or {}).get(target.id))
                )
    finally:
        session.rollback()
    return result


# One event as text, in the order of EVENT_COLUMNS: numbers as decimal text, the time as
# format_time writes it, None for NULL. Both databases are read into this one shape.
EventText = tuple[
    str, str, str, str | None, str, str | None, str, str, str | None, str, str, str | None, str,
    str, str, str | None, str | None, str | None, str | None,
]  # fmt: skip
AXES = {d.value: axis_of(d.value).value for d in Decision}
# PostgreSQL hands back a batch of events as one text value (a line per event, tab between
# fields, \N for NULL, the note hex-encoded): one round trip per 20,000 events instead of a
# message per row. A background thread fetches the next batch while this one is checked, so
# the database and Python work at the same time. Genuine values never hold a tab or a line
# break (the words are fixed by CHECK constraints, the hashes are hex, the note is hex); a
# tampered one that does breaks its line's shape, and verify names that event.
BATCH_EVENTS = (
    "SELECT string_agg(concat_ws(E'\\t', seq,"
    " to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
    " actor_type, coalesce(actor_id::text, '\\N'), guardian_id,"
    " coalesce(pupil_id::text, '\\N'), purpose_id, purpose_version,"
    " coalesce(notice_version::text, '\\N'), decision, channel,"
    " coalesce(encode(convert_to(note, 'UTF8'), 'hex'), '\\N'), prev_hash, hash, format,"
    " coalesce(note_salt, '\\N'), coalesce(note_commitment, '\\N'),"
    " coalesce(answers_seq::text, '\\N'), coalesce(language, '\\N')),"
    " E'\\n' ORDER BY seq)"
    " FROM consent_events WHERE school_id = %s AND seq >= %s AND seq < %s"
)
BATCH = 20_000
FIELDS = 19


def _parse_batch(data: str) -> Iterator[EventText]:
    null = "\\N"
    for line in data.split("\n"):
        fields: list[Any] = line.split("\t")
        if len(fields) != FIELDS:
            yield tuple(fields)  # type: ignore[misc]  # malformed: verify reports it
            continue
        # Only these columns may be NULL: actor_id, pupil_id, notice_version, note.
        if fields[3] == null:
            fields[3] = None
        if fields[5] == null:
            fields[5] = None
        if fields[8] == null:
            fields[8] = None
        if fields[15] == null:
            fields[15] = None
        if fields[16] == null:
            fields[16] = None
        if fields[17] == null:
            fields[17] = None
        if fields[18] == null:
            fields[18] = None
        note = fields[11]
        if note == null:
            fields[11] = None
        else:
            try:
                fields[11] = bytes.fromhex(note).decode("utf-8")
            except ValueError:
                yield (fields[0],)  # type: ignore[misc]  # malformed: verify reports it
                continue
        yield fields  # type: ignore[misc]  # a list: one object fewer per event


def _events_as_text_postgresql(school_id: int) -> Iterator[EventText]:
    raw = db.session.connection().connection.driver_connection
    if raw is None:
        raise RuntimeError("no database connection")
    with raw.cursor() as cursor:
        cursor.execute(
            "SELECT min(seq), max(seq) FROM consent_events WHERE school_id = %s", (school_id,)
        )
        low, high = cursor.fetchone()
    if low is None:
        return
    starts = list(range(min(low, 1), high + 1, BATCH))
    # Each item is a batch's text ("" for a range with no events), or None once all are read.
    batches: queue.Queue[tuple[str | None, BaseException | None]] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def fetch() -> None:
        # Only this thread uses the connection until the last batch is handed over.
        try:
            with raw.cursor() as cursor:
                for start in starts:
                    if stop.is_set():
                        return
                    cursor.execute(BATCH_EVENTS, (school_id, start, start + BATCH))
                    batches.put((cursor.fetchone()[0] or "", None))
        except BaseException as exc:  # handed to the reading thread, which raises it
            batches.put((None, exc))
            return
        batches.put((None, None))

    worker = threading.Thread(target=fetch, name="ledger-verify-fetch", daemon=True)
    worker.start()
    try:
        while True:
            data, error = batches.get()
            if error is not None:
                raise error
            if data is None:
                break
            if data:
                yield from _parse_batch(data)
    finally:
        stop.set()
        while worker.is_alive():
            try:
                batches.get(timeout=0.1)
            except queue.Empty:
                continue
        worker.join()


def _events_as_text_generic(school_id: int) -> Iterator[EventText]:
    def text(value: int | None) -> str | None:
        return None if value is None else str(value)

    for row in stream_events(school_id):
        yield (
            str(row.seq), format_time(row.occurred_at), row.actor_type, text(row.actor_id),
            str(row.guardian_id), text(row.pupil_id), str(row.purpose_id),
            str(row.purpose_version), text(row.notice_version), row.decision, row.channel,
            row.note, row.prev_hash, row.hash, str(row.format), row.note_salt,
            row.note_commitment, text(row.answers_seq), row.language,
        )  # fmt: skip


def events_as_text(school_id: int) -> Iterator[EventText]:
    feed = _FEED.get()
    if feed is not None:
        return feed.events(school_id)
    if db.session.get_bind().dialect.name == "postgresql":
        return _events_as_text_postgresql(school_id)
    return _events_as_text_generic(school_id)


def _raw_connection() -> Any:
    raw = db.session.connection().connection.driver_connection
    if raw is None:
        raise RuntimeError("no database connection")
    return raw


HEAD_QUERY = "SELECT seq, hash, tree FROM ledger_heads WHERE school_id = %s"


def head_of(school_id: int) -> tuple[int, str, bytes | None] | None:
    """The school's chain head (seq, hash, the tree's stored edge), or None."""
    feed = _FEED.get()
    if feed is not None:
        return feed.head(school_id)
    row = db.session.execute(
        select(LedgerHead.seq, LedgerHead.hash, LedgerHead.tree).where(
            LedgerHead.school_id == school_id
        )
    ).one_or_none()
    return None if row is None else (row.seq, row.hash, row.tree)


class _Feed:
    """Reads, in a thread of its own and on the verifying transaction's connection, what
    `verify` needs of each school in turn (the events a batch at a time, the chain head,
    the projection), a few items ahead of the thread that checks them. While it runs, only
    it uses the connection."""

    def __init__(self, raw: Any, school_ids: list[int]) -> None:
        self._raw = raw
        self._school_ids = school_ids
        self._items: queue.Queue[tuple[str, int | None, Any]] = queue.Queue(maxsize=3)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._fetch, name="ledger-verify-feed", daemon=True)

    def __enter__(self) -> _Feed:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._items.get(timeout=0.1)
            except queue.Empty:
                continue
        self._thread.join()

    def _put(self, item: tuple[str, int | None, Any]) -> bool:
        while not self._stop.is_set():
            try:
                self._items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _fetch(self) -> None:
        try:
            with self._raw.cursor() as cursor:
                for school_id in self._school_ids:
                    cursor.execute(
                        "SELECT min(seq), max(seq) FROM consent_events WHERE school_id = %s",
                        (school_id,),
                    )
                    low, high = cursor.fetchone()
                    if low is not None:
                        for start in range(min(low, 1), high + 1, BATCH):
                            cursor.execute(BATCH_EVENTS, (school_id, start, start + BATCH))
                            if not self._put(("events", school_id, cursor.fetchone()[0] or "")):
                                return
                    cursor.execute(HEAD_QUERY, (school_id,))
                    head = cursor.fetchone()
                    cursor.execute(PROJECTION_QUERY, {"school": school_id})
                    projection = cursor.fetchone()[0] or ""
                    for item in (
                        ("events_end", school_id, None),
                        ("head", school_id, None if head is None else tuple(head)),
                        ("projection", school_id, projection),
                    ):
                        if not self._put(item):
                            return
        except BaseException as exc:  # handed to the checking thread, which raises it
            self._put(("error", None, exc))

    def _take(self, school_id: int) -> tuple[str, Any]:
        kind, of, payload = self._items.get()
        if kind == "error":
            raise payload
        if of != school_id:
            raise RuntimeError(f"verify read school {of}'s {kind} for school {school_id}")
        return kind, payload

    def _batches(self, school_id: int) -> Iterator[str]:
        while True:
            kind, payload = self._take(school_id)
            if kind == "events_end":
                return
            if kind != "events":
                raise RuntimeError(f"verify read {kind} where events were expected")
            if payload:
                yield payload

    def events(self, school_id: int) -> Iterator[EventText]:
        return itertools.chain.from_iterable(map(_parse_batch, self._batches(school_id)))

    def _expect(self, school_id: int, wanted: str) -> Any:
        kind, payload = self._take(school_id)
        if kind != wanted:
            raise RuntimeError(f"verify read {kind} where {wanted} was expected")
        return payload

    def head(self, school_id: int) -> tuple[int, str, bytes | None] | None:
        return self._expect(school_id, "head")  # type: ignore[no-any-return]

    def projection(self, school_id: int) -> str:
        return self._expect(school_id, "projection")  # type: ignore[no-any-return]


# The feed of the `verify` running in this context, if any (verify_school alone reads for
# itself).
_FEED: contextvars.ContextVar[_Feed | None] = contextvars.ContextVar("ledger_feed", default=None)


# The words the CHECK constraints allow, as canonical_text writes them (in quotes).
_QUOTED = {word: '"' + word + '"' for word in PLAIN_WORDS}


_HEX = frozenset("0123456789abcdef")
# A language tag that JSON writes as it is (letters, digits, hyphens): anything else, such as
# a tampered value, goes through canonical_text_2 and json.dumps.
_PLAIN_TAG = re.compile(r"[A-Za-z0-9-]{1,35}")


def _is_hex_digest(value: str) -> bool:
    return len(value) == 64 and _HEX.issuperset(value)


def verify_school(school_id: int, slug: str, sizes: set[int] | None = None) -> SchoolVerification:
    """Recompute one school's chain and Merkle tree from its events, in seq order, in
    constant memory (but for the replayed projection, which grows with decisions in force,
    not with events). `sizes`: the tree sizes whose roots to keep (`check.roots`)."""
    check = SchoolVerification(slug)
    wanted = sizes or set()
    edge: list[bytes] = []  # the tree's right edge (portal/ledger/tree.py)
    replay: dict[tuple[str, str | None, str, str], tuple[Any, ...]] = {}
    school_text = str(school_id)
    expected = 1
    prev = GENESIS_HASH
    sha256 = hashlib.sha256
    quoted, template, dumps, axes = _QUOTED, CANONICAL_TEMPLATE, json.dumps, AXES
    template_2 = CANONICAL_TEMPLATE_2
    events = 0
    erased = 0
    intact = True  # check.ok, kept in a local for the loop
    for fields in events_as_text(school_id):
        events += 1
        if len(fields) != FIELDS:
            head_field = fields[0]
            check.fail(
                int(head_field) if head_field.isdigit() else expected,
                "an event holds a tab, a line break or undecodable text where a genuine "
                "event never does: it was changed",
            )
            intact = False
            continue
        (seq, occurred, actor_type, actor_id, guardian_id, pupil_id, purpose_id,
         purpose_version, notice_version, decision, channel, note, prev_hash, digest,
         form, salt, commitment, answers_seq, language,
         ) = fields  # fmt: skip
        number = int(seq)
        if intact:
            if number != expected:
                first = expected if number > expected else number
                check.fail(first, f"seq {expected} expected, found seq {number}")
                intact = False
            elif prev_hash != prev:
                check.fail(number, "prev_hash does not match the previous event's hash")
                intact = False
            elif form == "2":
                a, c, d = quoted.get(actor_type), quoted.get(channel), quoted.get(decision)
                if (
                    a is None or c is None or d is None
                    or (commitment is not None and not _is_hex_digest(commitment))
                    or (language is not None and not _PLAIN_TAG.fullmatch(language))
                ):  # fmt: skip
                    text = canonical_text_2(
                        school_text, seq, occurred, actor_type, actor_id, guardian_id,
                        pupil_id, purpose_id, purpose_version, notice_version, decision,
                        channel, commitment, answers_seq, language,
                    )  # fmt: skip
                else:
                    text = template_2 % (
                        "null" if actor_id is None else actor_id, a,
                        "null" if answers_seq is None else answers_seq, c, d, guardian_id,
                        "null" if language is None else '"' + language + '"',
                        "null" if commitment is None else '"' + commitment + '"',
                        "null" if notice_version is None else notice_version,
                        '"' + occurred + '"', "null" if pupil_id is None else pupil_id,
                        purpose_id, purpose_version, school_text, seq,
                    )  # fmt: skip
                if sha256((prev + text).encode("utf-8")).hexdigest() != digest:
                    check.fail(number, "the event's content does not match its hash")
                    intact = False
                elif note is not None:
                    if (
                        commitment is None
                        or salt is None
                        or sha256((salt + note).encode("utf-8")).hexdigest() != commitment
                    ):
                        check.fail(number, "the event's note does not match its commitment")
                        intact = False
                elif salt is not None:
                    # An erasure clears the note and its salt together (the triggers allow
                    # nothing else): a note gone with its salt left was removed another way.
                    check.fail(number, "the event's note was removed but not by an erasure")
                    intact = False
                elif commitment is not None:
                    erased += 1
            elif form != "1":
                check.fail(number, f"the event has an unknown format {form!r}")
                intact = False
            else:
                # canonical_text, inlined for the usual event, whose words are the ones the
                # CHECK constraints allow (any other goes through canonical_text itself).
                # The time needs no escaping: to_char and format_time write only digits
                # and the fixed separators.
                a, c, d = quoted.get(actor_type), quoted.get(channel), quoted.get(decision)
                if a is None or c is None or d is None:
                    text = canonical_text(
                        school_text, seq, occurred, actor_type, actor_id, guardian_id,
                        pupil_id, purpose_id, purpose_version, notice_version, decision,
                        channel, note,
                    )  # fmt: skip
                else:
                    text = template % (
                        "null" if actor_id is None else actor_id, a, c, d, guardian_id,
                        "null" if note is None else dumps(note, ensure_ascii=True),
                        "null" if notice_version is None else notice_version,
                        '"' + occurred + '"', "null" if pupil_id is None else pupil_id,
                        purpose_id, purpose_version, school_text, seq,
                    )  # fmt: skip
                if sha256((prev + text).encode("utf-8")).hexdigest() != digest:
                    check.fail(number, "the event's content does not match its hash")
                    intact = False
            if intact:
                # The event's leaf, and the nodes of the tree it completes.
                node = sha256(b"\x00" + text.encode("utf-8")).digest()
                position = number - 1
                while position & 1:
                    node = sha256(b"\x01" + edge.pop() + node).digest()
                    position >>= 1
                edge.append(node)
                if number in wanted:
                    check.roots[number] = tree.edge_root(edge)
        prev = digest
        expected = number + 1
        replay[(guardian_id, pupil_id, purpose_id, axes.get(decision, "?"))] = (
            decision, purpose_version, notice_version, channel, seq, actor_type, occurred,
        )  # fmt: skip
    check.events += events
    check.erased_notes += erased
    head = head_of(school_id)
    last_seq = expected - 1
    if head is None:
        check.fail(None, "the school has no chain head")
    elif head[0] != last_seq:
        first_bad = last_seq + 1 if head[0] > last_seq else head[0] + 1
        check.fail(first_bad, f"the chain head says seq {head[0]}; the events end at {last_seq}")
    elif head[1] != prev:
        check.fail(last_seq, "the chain head's hash does not match the last event")
    elif intact:
        check.root = tree.edge_root(edge)
        if bytes(head[2] or b"") != b"".join(edge):
            check.fail(
                None,
                "the Merkle tree's stored edge does not match the events "
                "(`flask ledger rebuild` writes the tree again from them)",
            )
    _compare_projection(school_id, replay, check)
    return check


# The projection's columns, compared as text with a replay of the events (guardian, pupil,
# purpose and axis are the key; the rest is what the replay must find).
ProjectionText = tuple[str | None, ...]


# The school's projection as one text value: a line per row, a tab between fields, \N for
# NULL, and the text columns escaped as COPY's text format does it (backslash, tab and line
# feed), so that no value, a tampered one included, can break a row's shape. The condition
# on pupil_id lets each half of the table, pupils' decisions and guardians' own, be read
# through its (partial) unique index, instead of the whole table once per school.
PROJECTION_QUERY = r"""SELECT string_agg(concat_ws(E'\t', guardian_id,
    coalesce(pupil_id::text, '\N'), purpose_id,
    replace(replace(replace(axis, '\', '\\'), E'\t', '\t'), E'\n', '\n'),
    replace(replace(replace(decision, '\', '\\'), E'\t', '\t'), E'\n', '\n'),
    purpose_version, coalesce(notice_version::text, '\N'),
    replace(replace(replace(channel, '\', '\\'), E'\t', '\t'), E'\n', '\n'), seq,
    replace(replace(replace(actor_type, '\', '\\'), E'\t', '\t'), E'\n', '\n'),
    to_char(decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')), E'\n')
FROM current_decisions
WHERE school_id = %(school)s AND (pupil_id IS NOT NULL OR pupil_id IS NULL)"""
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\"}


def _unescape(field: str) -> str | None:
    """One field as PROJECTION_QUERY wrote it: \\N alone is NULL; \\n, \\t and \\\\ are a line feed,
    a tab and a backslash."""
    if field == "\\N":
        return None
    if "\\" not in field:
        return field
    out, chars = [], iter(field)
    for char in chars:
        if char == "\\":
            after = next(chars, "")
            out.append(_ESCAPES.get(after, "\\" + after))
        else:
            out.append(char)
    return "".join(out)


def _parse_projection(data: str) -> Iterator[ProjectionText]:
    if not data:
        return
    for line in data.split("\n"):
        fields: list[Any] = line.split("\t")
        if "\\" in line:
            fields = [_unescape(field) for field in fields]
        yield tuple(fields)


def _projection_as_text_postgresql(school_id: int) -> Iterator[ProjectionText]:
    with _raw_connection().cursor() as cursor:
        cursor.execute(PROJECTION_QUERY, {"school": school_id})
        data = cursor.fetchone()[0] or ""
    yield from _parse_projection(data)


def _projection_as_text_generic(school_id: int) -> Iterator[ProjectionText]:
    def text(value: int | None) -> str | None:
        return None if value is None else str(value)

    columns = (
        CurrentDecision.guardian_id,
        CurrentDecision.pupil_id,
        CurrentDecision.purpose_id,
        CurrentDecision.axis,
        CurrentDecision.decision,
        CurrentDecision.purpose_version,
        CurrentDecision.notice_version,
        CurrentDecision.channel,
        CurrentDecision.seq,
        CurrentDecision.actor_type,
        CurrentDecision.decided_at,
    )
    mine = CurrentDecision.school_id == school_id
    rows = db.session.execute(
        union_all(
            select(*columns).where(mine, CurrentDecision.pupil_id.is_not(None)),
            select(*columns).where(mine, CurrentDecision.pupil_id.is_(None)),
        ).execution_options(yield_per=10_000)
    )
    for row in rows:
        yield (
            str(row.guardian_id), text(row.pupil_id), str(row.purpose_id), row.axis,
            row.decision, str(row.purpose_version), text(row.notice_version), row.channel,
            str(row.seq), row.actor_type, format_time(row.decided_at),
        )  # fmt: skip


def projection_as_text(school_id: int) -> Iterator[ProjectionText]:
    feed = _FEED.get()
    if feed is not None:
        return _parse_projection(feed.projection(school_id))
    if db.session.get_bind().dialect.name == "postgresql":
        return _projection_as_text_postgresql(school_id)
    return _projection_as_text_generic(school_id)


def _compare_projection(
    school_id: int,
    replay: dict[tuple[str, str | None, str, str], tuple[Any, ...]],
    check: SchoolVerification,
) -> None:
    # Name the lowest seq whose decision the projection gets wrong or lacks, whatever order
    # the rows come in. Keys are taken out of the replay as they are matched: what is left
    # is missing from the projection.
    first: tuple[int, str] | None = None
    for fields in projection_as_text(school_id):
        guardian_id, pupil_id, purpose_id, axis = fields[:4]
        want = replay.pop((guardian_id, pupil_id, purpose_id, axis), None)  # type: ignore[arg-type]
        have = fields[4:]
        if want != have:
            problem = (
                int(want[4]) if want else int(fields[8] or 0),
                "the projection of current decisions differs from a replay of the ledger "
                f"(guardian {guardian_id}, pupil {pupil_id}, purpose {purpose_id})",
            )
            first = problem if first is None else min(first, problem)
    for (guardian_id, pupil_id, purpose_id, _axis), want in replay.items():
        problem = (
            int(want[4]),
            "the projection of current decisions lacks a decision the ledger holds "
            f"(guardian {guardian_id}, pupil {pupil_id}, purpose {purpose_id})",
        )
        first = problem if first is None else min(first, problem)
    if first is not None:
        check.fail(*first)


def rebuild_projection(school: School | None = None) -> int:
    """Recompute the current decisions from the ledger. Returns the number of rows."""
    if has_pending_changes(db.session()):
        raise LedgerError(PENDING_CHANGES)
    with writing() as session:
        targets = [school.id] if school is not None else list(session.scalars(select(School.id)))
        count = 0
        for school_id in targets:
            lock_head_only(session, school_id)
            session.execute(
                delete(CurrentDecision).where(CurrentDecision.school_id == school_id),
                execution_options={"synchronize_session": False},
            )
            latest: dict[ProjectionKey, Any] = {}
            for row in stream_events(school_id):
                key = (row.guardian_id, row.pupil_id, row.purpose_id, axis_of(row.decision).value)
                latest[key] = row
            session.add_all(
                CurrentDecision(
                    school_id=school_id,
                    guardian_id=guardian_id,
                    pupil_id=pupil_id,
                    purpose_id=purpose_id,
                    axis=axis,
                    decision=row.decision,
                    purpose_version=row.purpose_version,
                    notice_version=row.notice_version,
                    decided_at=row.occurred_at,
                    channel=row.channel,
                    actor_type=row.actor_type,
                    seq=row.seq,
                )
                for (guardian_id, pupil_id, purpose_id, axis), row in latest.items()
            )
            count += len(latest)
    return count


def _leaves(school_id: int) -> Iterator[bytes]:
    for row in stream_events(school_id):
        yield tree.leaf_of(event_canonical(row, school_id))


def rebuild_tree(school: School | None = None) -> int:
    """Write each school's Merkle tree again from its events, under the chain lock (after a
    restore, or once `flask ledger verify` says the stored tree does not match). Returns the
    number of leaves. A tree rebuilt over changed events has another root: the signed
    checkpoints outside the database still show the change."""
    if has_pending_changes(db.session()):
        raise LedgerError(PENDING_CHANGES)
    with writing() as session:
        targets = [school.id] if school is not None else list(session.scalars(select(School.id)))
        count = 0
        for school_id in targets:
            head = lock_head_only(session, school_id)
            grown = tree.rebuild(session, school_id, _leaves(school_id))
            if grown.size != head:
                raise LedgerError(
                    f"school {school_id}: the chain head says seq {head}, the events end at "
                    f"{grown.size} (`flask ledger verify` names the break)"
                )
            session.execute(
                update(LedgerHead)
                .where(LedgerHead.school_id == school_id)
                .values(tree=grown.stored())
            )
            count += grown.size
    return count


def lock_head_only(session: Any, school_id: int) -> int:
    """Lock a school's chain head (PostgreSQL) without reading its tree; its seq."""
    query = select(LedgerHead.seq).where(LedgerHead.school_id == school_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    seq = session.scalar(query)
    if seq is None:
        raise LedgerError(f"school {school_id} has no ledger head")
    return int(seq)


def events_for(
    school_id: int, *, pupil_ids: Iterable[int] | None = None, guardian_id: int | None = None
) -> list[ConsentEvent]:
    """Events of one school, newest first, optionally for some pupils or one guardian."""
    query = select(ConsentEvent).where(ConsentEvent.school_id == school_id)
    if pupil_ids is not None:
        query = query.where(ConsentEvent.pupil_id.in_(list(pupil_ids)))
    if guardian_id is not None:
        query = query.where(ConsentEvent.guardian_id == guardian_id)
    return list(db.session.scalars(query.order_by(ConsentEvent.seq.desc())))
