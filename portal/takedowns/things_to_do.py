"""The open tasks as items of the staff's queue of things to do (`portal.todo`): take-downs
and leaving tasks, for admins and staff (marketing users get none), each leading to the task
list."""

from __future__ import annotations

from datetime import date

from ..models import Role, TaskKind
from ..todo import Item
from .task_list import open_tasks

ROLES = frozenset({Role.ADMIN.value, Role.STAFF.value})
ENDPOINT = "staff.takedowns"


def things_to_do(school_id: int, today: date, role: str) -> list[Item]:
    """Each open task of the school, as an item for `role` (none for marketing)."""
    if role not in ROLES:
        return []
    return [
        Item(
            kind=TaskKind.LEAVING.value if task.kind == TaskKind.LEAVING else "takedown",
            title=task.wording,
            opened_on=task.opened_on,
            endpoint=ENDPOINT,
            values={"_anchor": f"takedown-{task.id}"},
            due_on=task.due_on,
            detail=task.pupil_name,
        )
        for task in open_tasks(school_id)
    ]
