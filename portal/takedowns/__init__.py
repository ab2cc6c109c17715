"""Take-downs: when a publishable purpose stops being permitted for a pupil, whatever the
school published must come down.

`on_append` is subscribed to the ledger by the application factory (`portal.wiring`), so it
runs inside the transaction of every append, whoever records it (a guardian online, staff
from a paper form). For each event that withdraws a consent or makes an objection, on a
`publishable` purpose, for a pupil, it compares the pupil's effective status just before the
event with the status just after it: when it was permitting (`granted`/`allowed`) and no
longer is, it adds a `TakedownTask` and one email to each active admin of the school, in the
same transaction. A first "no" (the status was `no_response`) or a "no" when another
guardian's "no" had already stopped it makes no task: nothing could have been published.

A pupil leaving makes a task of the other kind, for each purpose whose `on_leaving` is
remove or review (`leaving.on_leaving`, called by the roster import and the pupil's record).
Every task has a due date in working days (`due`). Staff work through the tasks and mark each
one done with a note of what was removed and where, and may reopen it the same day
(`task_list`); admins get one daily digest of what is overdue (`digest`); families see the
fact and the day (`outcomes`), and staff's queue of things to do lists the open ones
(`things_to_do`). No Flask request state outside the email builders, which read BASE_URL from
the app's config. docs/tasks.md describes it all.
"""

from __future__ import annotations

from . import digest
from .admin_email import SUBJECT, TEMPLATE, email_context
from .due import DEFAULT_DAYS, DEFAULT_LEAVING_DAYS
from .hook import STOPPING, on_append
from .leaving import on_leaving
from .outcomes import Outcome, done_for
from .task_list import (
    DONE_SHOWN,
    MAX_NOTE,
    CannotReopen,
    Done,
    NoteProblem,
    Task,
    TaskList,
    get_task,
    leaving_wording,
    mark_done,
    note_problem,
    open_tasks,
    reopen,
    short_name,
    tasks,
    wording,
)
from .things_to_do import things_to_do

__all__ = [
    "DEFAULT_DAYS",
    "DEFAULT_LEAVING_DAYS",
    "DONE_SHOWN",
    "MAX_NOTE",
    "STOPPING",
    "SUBJECT",
    "TEMPLATE",
    "CannotReopen",
    "Done",
    "NoteProblem",
    "Outcome",
    "Task",
    "TaskList",
    "digest",
    "done_for",
    "email_context",
    "get_task",
    "leaving_wording",
    "mark_done",
    "note_problem",
    "on_append",
    "on_leaving",
    "open_tasks",
    "reopen",
    "short_name",
    "tasks",
    "things_to_do",
    "wording",
]
