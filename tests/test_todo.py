"""The things-to-do queue (portal/todo.py): gathered from every registered source, oldest
first, grouped by kind in a fixed order with counts equal to the lists."""

from __future__ import annotations

from datetime import date

from portal import todo


def test_items_are_oldest_first_then_due_soonest_and_grouped_in_order(app):
    def source(school_id, today, role):
        return [
            todo.Item("request", "B", date(2026, 3, 2), "staff.home", due_on=date(2026, 4, 2)),
            todo.Item("objection", "A", date(2026, 3, 2), "staff.home", due_on=date(2026, 4, 1)),
            todo.Item("takedown", "C", date(2026, 2, 1), "staff.home"),
        ]

    app.extensions.pop("portal.todo.sources", None)
    todo.register(app, source)
    todo.register(app, source)  # once only
    extra = [todo.Item("renewal", "D", date(2026, 1, 1), "staff.home")]
    with app.app_context():
        found = todo.items(1, date(2026, 3, 10), "admin", extra=extra)
    assert [i.title for i in found] == ["D", "C", "A", "B"]
    groups = todo.grouped(found)
    assert [(g.kind, len(g.items)) for g in groups] == [
        ("objection", 1),
        ("takedown", 1),
        ("request", 1),
        ("renewal", 1),
    ]
    assert found[1].overdue(date(2026, 3, 10)) is False  # no due date
    assert found[2].days_left(date(2026, 3, 10)) == 22 and not found[2].overdue(date(2026, 3, 10))
    assert found[3].overdue(date(2026, 4, 3))


def test_a_long_group_shows_the_oldest_and_counts_them_all(app):
    many = [
        todo.Item(
            "objection", f"Objection {n}", date(2026, 1, 1 + n), "staff.objection", {"seq": n}
        )
        for n in range(25)
    ]
    [group] = todo.grouped(many)
    assert len(group.items) == 25 and group.more == 25 - todo.SHOWN
    assert [i.title for i in group.shown] == [f"Objection {n}" for n in range(todo.SHOWN)]
    assert group.list_endpoint == "staff.objections"
    for kind in todo.KINDS:
        assert kind in todo.LIST_ENDPOINTS
