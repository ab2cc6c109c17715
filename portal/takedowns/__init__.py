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

Staff work through the tasks and mark each one done (`task_list`). The hook (`hook`), the
admins' email (`admin_email`) and the list are modules of their own. No Flask request state
outside the email builder, which reads BASE_URL from the app's config.
"""

from __future__ import annotations

from .admin_email import SUBJECT, TEMPLATE, email_context
from .hook import STOPPING, on_append
from .task_list import (
    DONE_SHOWN,
    Done,
    Task,
    TaskList,
    get_task,
    mark_done,
    open_tasks,
    short_name,
    tasks,
    wording,
)

__all__ = [
    "DONE_SHOWN",
    "STOPPING",
    "SUBJECT",
    "TEMPLATE",
    "Done",
    "Task",
    "TaskList",
    "email_context",
    "get_task",
    "mark_done",
    "on_append",
    "open_tasks",
    "short_name",
    "tasks",
    "wording",
]
