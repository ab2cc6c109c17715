"""Rights requests: a family's request to use one of their data protection rights (access,
rectification, erasure, restriction, objection), made on the portal or logged by an admin,
answered within the ICO's one month (docs/rights-requests.md; the rule: docs/legal.md,
section 9, and `portal.deadlines`).

- `making`: a parent makes a request; an admin logs one that came another way;
- `working`: stop and restart the clock, extend, answer, refuse, withdraw (each a
  `RightsRequestChange` with who and when);
- `reading`: what the staff and family pages show;
- `emails`: the admins' emails and the family's (registered by `portal.wiring`);
- `reminders`: the daily job that reminds admins a week before and once overdue;
- `family_file`: everything the portal holds about a family at one school, for an access
  request;
- `things_to_do`: the open requests in the staff's queue.

No Flask request state anywhere here but the email builders, which read BASE_URL.
"""

from __future__ import annotations

from .core import (
    KIND_EXPLAINED,
    KIND_NAMES,
    KIND_WORDS,
    MAX_DETAILS,
    MAX_OUTCOME,
    PAUSE_REASONS,
    RightsRequestError,
    day_words,
    reference,
    today_in_london,
)
from .emails import (
    ADMIN_SUBJECT,
    ADMIN_TEMPLATE,
    FAMILY_SUBJECT,
    FAMILY_TEMPLATE,
    admin_context,
    family_context,
    family_language,
)
from .family_file import FamilyFile
from .family_file import build as build_family_file
from .making import KINDS, LOGGED_CHANNELS, log, make
from .reading import (
    Change,
    Request,
    closed_requests,
    get,
    get_for_guardian,
    of_guardian,
    open_requests,
)
from .reminders import run as send_reminders
from .things_to_do import items as things_to_do
from .working import answer, extend, pause, refuse, resume, withdraw

__all__ = [
    "ADMIN_SUBJECT",
    "ADMIN_TEMPLATE",
    "FAMILY_SUBJECT",
    "FAMILY_TEMPLATE",
    "KINDS",
    "KIND_EXPLAINED",
    "KIND_NAMES",
    "KIND_WORDS",
    "LOGGED_CHANNELS",
    "MAX_DETAILS",
    "MAX_OUTCOME",
    "PAUSE_REASONS",
    "Change",
    "FamilyFile",
    "Request",
    "RightsRequestError",
    "admin_context",
    "answer",
    "build_family_file",
    "closed_requests",
    "day_words",
    "extend",
    "family_context",
    "family_language",
    "get",
    "get_for_guardian",
    "log",
    "make",
    "of_guardian",
    "open_requests",
    "pause",
    "reference",
    "refuse",
    "resume",
    "send_reminders",
    "things_to_do",
    "today_in_london",
    "withdraw",
]
