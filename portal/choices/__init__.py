"""The family's choices: what a guardian sees and decides for their children.

No Flask request state: every function takes the signed-in guardian's id. Every query is
scoped to the pupils this guardian has *current* parental responsibility for (an active
GuardianLink with parental responsibility true, pupil on roll; `family.responsible_for`);
anything else raises `NotFound`, so that a view answers 404 whether the thing does not exist
or is not theirs.

Another guardian's decisions count towards a child's effective status, but nothing here
hands back who they are: no name, email or id of another guardian leaves this package.

- `family`: whose children (`family_of`, `schools_of`), read once per page;
- `summary`: "Your children", what needs an answer and where another person's answer
  decides instead (`family_summary`);
- `page`: one child's page (`child_page`) and the choices on it (`answerable`);
- `wording_diff`: the words changed between the wording answered and the one in force;
- `decision`: recording a decision for one or several children (`decide`).

The rules of the effective status are in docs/consent-rules.md.
"""

from .decision import StaleChoice, decide
from .family import (
    Family,
    FamilyNotice,
    FamilyPupil,
    FamilySchool,
    SchoolChildren,
    family_of,
    schools_of,
)
from .page import (
    Answerable,
    ChildPage,
    OwnDecision,
    PurposeChoice,
    answerable,
    child_page,
    says_class,
)
from .summary import ChildSummary, OtherAnswer, Overruled, SchoolSummary, family_summary
from .wording_diff import Change, Piece, word_diff

__all__ = [
    "Answerable",
    "Change",
    "ChildPage",
    "ChildSummary",
    "Family",
    "FamilyNotice",
    "FamilyPupil",
    "FamilySchool",
    "OtherAnswer",
    "Overruled",
    "OwnDecision",
    "Piece",
    "PurposeChoice",
    "SchoolChildren",
    "SchoolSummary",
    "StaleChoice",
    "answerable",
    "child_page",
    "decide",
    "family_of",
    "family_summary",
    "says_class",
    "schools_of",
    "word_diff",
]
