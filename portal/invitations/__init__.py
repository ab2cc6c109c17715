"""Sign-in invitations and reminders to a school's parents and carers, sent through the outbox.

An admin chooses an audience: every guardian with parental responsibility for a pupil on
roll (`all`), those of one class (`class`), or only those with a consent choice that needs
their answer or needs renewing for one of their children at the school (`needs_answer`, the
same rule as the family summary a guardian sees: `choices.family_summary`). `send` records an
InvitationBatch and, in the same transaction, one outbox row per guardian whose dedupe key
names the batch and the guardian: the database itself (a UNIQUE key) refuses a second copy of
one batch to one guardian. The mail worker sends them; `progress` counts the batch's rows.

An invitation carries a link that signs its parent or carer in with one press of Continue,
once, within 24 hours, and only as a parent or carer; later, for 30 days, it offers to email
a fresh sign-in link to the invited address (`signin.make_link`; docs/security.md, promise
22). It names the school and nothing about any child or any other family.

Double submission: a batch for the same audience (and class) by the same staff user within
`REPEAT_WINDOW` is refused (`RecentBatch`, naming the batch already made). The check runs
after taking a lock that serialises one staff user's sends (their row, FOR UPDATE, on
PostgreSQL; SQLite's single writer), so two concurrent clicks cannot both pass it.

Who is invited (`audience`), sending (`sending`), a batch's progress (`batches`) and the email
itself (`invitation_email`) are modules of their own.
"""

from __future__ import annotations

from .audience import AUDIENCE_WORDS, Audience, AudienceSizes, audience_sizes, recipients
from .batches import RECENT_BATCHES, Progress, progress, recent
from .invitation_email import SUBJECT, TEMPLATE, email_context, email_language
from .sending import REPEAT_WINDOW, InvitationError, RecentBatch, dedupe_key, send

__all__ = [
    "AUDIENCE_WORDS",
    "RECENT_BATCHES",
    "REPEAT_WINDOW",
    "SUBJECT",
    "TEMPLATE",
    "Audience",
    "AudienceSizes",
    "InvitationError",
    "Progress",
    "RecentBatch",
    "audience_sizes",
    "dedupe_key",
    "email_context",
    "email_language",
    "progress",
    "recent",
    "recipients",
    "send",
]
