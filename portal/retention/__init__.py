"""Erasure after the retention period (docs/retention.md).

A school keeps a family's details in the portal for `School.retention_months` calendar months
after their pupil leaves. `run(now)` then erases, school by school, what identifies the
family and keeps what the record of decisions needs:

- the pupil's names and MIS id, the notes of the pupil's ledger events (format 2 only) and
  the notes staff wrote when they marked the pupil's take-down and leaving tasks done;
- for each of the pupil's contacts that this school keeps for no other pupil: the name the
  school holds, the notes of their own decisions at the school (marketing), their closed
  rights requests at the school (an open one is kept until it is closed);
- and when no school keeps the person any more: their email address, their sign-in requests
  and sessions, and the emails addressed to them.

Ids stay (the ledger refers to pupils and guardians by id), and so does every hash. Each
thing erased is one `Erasure` row. One transaction per school, so a failure in one school
leaves the others done; a second run erases nothing new.
"""

from __future__ import annotations

from .erase import (
    ERASED_NAME,
    Report,
    SchoolReport,
    daily,
    due_before,
    run,
)

__all__ = ["ERASED_NAME", "Report", "SchoolReport", "daily", "due_before", "run"]
