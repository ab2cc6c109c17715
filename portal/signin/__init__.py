"""Sign-in by emailed link or code, and server-side sessions (docs/security.md, promises 1–9).

- `tokens`: the link's token and the code, derived from a nonce with the secret key; only
  their hashes are stored;
- `links`: asking for a sign-in email (the same work whether the address is known), and
  using its link or its code, each once;
- `choices`: choosing who to act as, when an address is more than one account: held on the
  server and made once;
- `sessions`: server-side sessions with idle and absolute lifetimes;
- `message`: the sign-in email, written when it is sent;
- `invitation_links`: the sign-in link in an invitation, and the fresh sign-in email it
  offers once it no longer signs in.
"""

from .choices import CHOICE_SECONDS, make_choice, offer_choice, pending_choice
from .invitation_links import (
    RENEWABLE_FOR,
    SIGNS_IN_FOR,
    OpenedLink,
    address_of,
    look_at,
    make_link,
    renew,
    renewable_days,
    signs_in_hours,
)
from .links import (
    LinkRequest,
    LinkState,
    Principal,
    SignInError,
    accept_request,
    is_invitation,
    link_state,
    principals_for,
    request_link,
    use_code,
    use_link,
)
from .message import SUBJECT, TEMPLATE, email_context, email_language, log_line
from .sessions import SignedIn, end_session, load_session, start_session
from .tokens import derive_code, derive_invitation_token, derive_token, hash_code, hash_token

__all__ = [
    "CHOICE_SECONDS",
    "RENEWABLE_FOR",
    "SIGNS_IN_FOR",
    "SUBJECT",
    "TEMPLATE",
    "LinkRequest",
    "LinkState",
    "OpenedLink",
    "Principal",
    "SignInError",
    "SignedIn",
    "accept_request",
    "address_of",
    "derive_code",
    "derive_invitation_token",
    "derive_token",
    "email_context",
    "email_language",
    "end_session",
    "hash_code",
    "hash_token",
    "is_invitation",
    "link_state",
    "load_session",
    "log_line",
    "look_at",
    "make_choice",
    "make_link",
    "offer_choice",
    "pending_choice",
    "principals_for",
    "renew",
    "renewable_days",
    "request_link",
    "signs_in_hours",
    "start_session",
    "use_code",
    "use_link",
]
