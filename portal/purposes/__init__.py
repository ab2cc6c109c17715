"""Purposes: a school's processing activities, with wording versions.

Purposes come from a purposes file (`load`, the `flask purposes load` command: `file`) or from
an admin's forms in the staff workspace (`create`, `update`, `retire`: `admin`). Both go
through the same checks (`check`: `checks`) and the same save (`saving`), so a purpose means
the same whatever made it. `lookup` reads them.

Changing the title or description of a purpose makes a new wording version; "yes" answers
given to an older version then need renewal. A school may translate a wording version into
the languages the portal offers (`translations`): pages show the translation in their
language (`wordings`), or the English, flagged as a fallback.

An admin may start from a template of a common purpose (`templates`): its kind of choice,
lawful basis and rules are the template's, its wording the admin's to change.

A retired purpose is kept, with its decisions, for the record, and is no longer shown to
families (docs/consent-rules.md).
"""

from __future__ import annotations

from .admin import InvalidPurpose, create, retire, update
from .checks import Problem, PurposeSpec, check
from .file import LoadReport, PurposesFileError, load, parse
from .lookup import decision_count, for_school, get, grants_to_renew
from .saving import SETTINGS, Change
from .templates import TEMPLATES, PurposeTemplate, template
from .translations import (
    Wording,
    check_translation,
    translate,
    translated,
    translations_of,
    wording,
    wordings,
)

__all__ = [
    "SETTINGS",
    "TEMPLATES",
    "Change",
    "InvalidPurpose",
    "LoadReport",
    "Problem",
    "PurposeSpec",
    "PurposeTemplate",
    "PurposesFileError",
    "Wording",
    "check",
    "check_translation",
    "create",
    "decision_count",
    "for_school",
    "get",
    "grants_to_renew",
    "load",
    "parse",
    "retire",
    "template",
    "translate",
    "translated",
    "translations_of",
    "update",
    "wording",
    "wordings",
]
