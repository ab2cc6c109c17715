"""Passkeys (portal/second_factor/passkeys.py): registering and signing in with WebAuthn,
checked against answers recorded from real authenticators.

The answers were made for a relying party at http://localhost:5000, so each test sets BASE_URL
to that origin and holds the recorded challenge as if the portal had made it
(`passkeys._hold`), then gives the recorded answer to the portal as the browser would.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, encode_cbor

from portal.extensions import db
from portal.models import StaffPasskey, UserSession, WebAuthnChallenge
from portal.second_factor import factors_of, passkeys
from tests.second_factor.support import audit, session_row, sign_in_by_link
from tests.support.client import csrf_token
from tests.support.factories import make_school, make_staff

ORIGIN = "http://localhost:5000"
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
SOON = T0 + timedelta(minutes=1)

# --- recorded answers -----------------------------------------------------------------------
# From py_webauthn's own test suite (https://github.com/duo-labs/py_webauthn, BSD-3-Clause,
# Copyright (c) 2017-2021 Duo Security, Inc.), made for the origin http://localhost:5000 and
# the relying party id "localhost":
# - REGISTRATION*: tests/test_verify_registration_response.py,
#   test_verifies_none_attestation_response ("none" attestation, sign count 23);
# - EC2_*: tests/test_verify_authentication_response.py,
#   test_verify_authentication_response_with_EC2_public_key (sign count 77 -> 78);
# - RSA_*: the same file, test_verify_authentication_response_with_RSA_public_key
#   (sign count 0 -> 1).

REGISTRATION = {
    "id": (
        "9y1xA8Tmg1FEmT-c7_fvWZ_uoTuoih3OvR45_oAK-cwHWhAbXrl2q62iLVTjiyEZ7O7n-CROOY494k7Q3xrs_w"
    ),
    "rawId": (
        "9y1xA8Tmg1FEmT-c7_fvWZ_uoTuoih3OvR45_oAK-cwHWhAbXrl2q62iLVTjiyEZ7O7n-CROOY494k7Q3xrs_w"
    ),
    "response": {
        "attestationObject": (
            "o2NmbXRkbm9uZWdhdHRTdG10oGhhdXRoRGF0YVjESZYN5YgOjGh0NBcPZHZgW4_krrmihjLH"
            "mVzzuoMdl2NFAAAAFwAAAAAAAAAAAAAAAAAAAAAAQPctcQPE5oNRRJk_nO_371mf7qE7qIod"
            "zr0eOf6ACvnMB1oQG165dqutoi1U44shGezu5_gkTjmOPeJO0N8a7P-lAQIDJiABIVggSFbU"
            "JF-42Ug3pdM8rDRFu_N5oiVEysPDB6n66r_7dZAiWCDUVnB39FlGypL-qAoIO9xWHtJygo2j"
            "fDmHl-_eKFRLDA"
        ),
        "clientDataJSON": (
            "eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIiwiY2hhbGxlbmdlIjoiVHdON240V1R5R0tMYzRa"
            "WS1xR3NGcUtuSE00bmdscXN5VjBJQ0psTjJUTzlYaVJ5RnRya2FEd1V2c3FsLWdrTEpYUDZm"
            "bkYxTWxyWjUzTW00UjdDdnciLCJvcmlnaW4iOiJodHRwOi8vbG9jYWxob3N0OjUwMDAiLCJj"
            "cm9zc09yaWdpbiI6ZmFsc2V9"
        ),
    },
    "type": "public-key",
    "clientExtensionResults": {},
    "transports": ["nfc", "usb"],
}

REGISTRATION_CHALLENGE = (
    "TwN7n4WTyGKLc4ZY-qGsFqKnHM4nglqsyV0ICJlN2TO9XiRyFtrkaDwUvsql-gkLJXP6fnF1MlrZ53Mm4R7Cvw"
)

REGISTRATION_PUBLIC_KEY = (
    "pQECAyYgASFYIEhW1CRfuNlIN6XTPKw0RbvzeaIlRMrDwwep-uq_-3WQIlgg1FZwd_RZRsqS"
    "_qgKCDvcVh7ScoKNo3w5h5fv3ihUSww"
)

EC2_ASSERTION = {
    "id": (
        "EDx9FfAbp4obx6oll2oC4-CZuDidRVV4gZhxC529ytlnqHyqCStDUwfNdm1SNHAe3X5KvueWQdAX3x9R1a2b9Q"
    ),
    "rawId": (
        "EDx9FfAbp4obx6oll2oC4-CZuDidRVV4gZhxC529ytlnqHyqCStDUwfNdm1SNHAe3X5KvueWQdAX3x9R1a2b9Q"
    ),
    "response": {
        "authenticatorData": "SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MBAAAATg",
        "clientDataJSON": (
            "eyJjaGFsbGVuZ2UiOiJ4aTMwR1BHQUZZUnhWRHBZMXNNMTBEYUx6VlFHNjZudi1fN1JVYXpI"
            "MHZJMll2RzhMWWdERW52TjVmWlpOVnV2RUR1TWk5dGUzVkxxYjQyTjBma0xHQSIsImNsaWVu"
            "dEV4dGVuc2lvbnMiOnt9LCJoYXNoQWxnb3JpdGhtIjoiU0hBLTI1NiIsIm9yaWdpbiI6Imh0"
            "dHA6Ly9sb2NhbGhvc3Q6NTAwMCIsInR5cGUiOiJ3ZWJhdXRobi5nZXQifQ"
        ),
        "signature": (
            "MEUCIGisVZOBapCWbnJJvjelIzwpixxIwkjCCb5aCHafQu68AiEA88v-2pJNNApPFwAKFiNu"
            "f82-2hBxYW5kGwVweeoxCwo"
        ),
    },
    "type": "public-key",
    "clientExtensionResults": {},
}

EC2_CHALLENGE = (
    "xi30GPGAFYRxVDpY1sM10DaLzVQG66nv-_7RUazH0vI2YvG8LYgDEnvN5fZZNVuvEDuMi9te3VLqb42N0fkLGA"
)

EC2_PUBLIC_KEY = (
    "pQECAyYgASFYIIeDTe-gN8A-zQclHoRnGFWN8ehM1b7yAsa8I8KIvmplIlgg4nFGT5px8o6g"
    "pPZZhO01wdy9crDSA_Ngtkx0vGpvPHI"
)

RSA_ASSERTION = {
    "id": "ZoIKP1JQvKdrYj1bTUPJ2eTUsbLeFkv-X5xJQNr4k6s",
    "rawId": "ZoIKP1JQvKdrYj1bTUPJ2eTUsbLeFkv-X5xJQNr4k6s",
    "response": {
        "authenticatorData": "SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MFAAAAAQ",
        "clientDataJSON": (
            "eyJ0eXBlIjoid2ViYXV0aG4uZ2V0IiwiY2hhbGxlbmdlIjoiaVBtQWkxUHAxWEw2b0FncTNQ"
            "V1p0WlBuWmExekZVRG9HYmFRMF9LdlZHMWxGMnMzUnRfM280dVN6Y2N5MHRtY1RJcFRUVDRC"
            "VTFULUk0bWFhdm5kalEiLCJvcmlnaW4iOiJodHRwOi8vbG9jYWxob3N0OjUwMDAiLCJjcm9z"
            "c09yaWdpbiI6ZmFsc2V9"
        ),
        "signature": (
            "iOHKX3erU5_OYP_r_9HLZ-CexCE4bQRrxM8WmuoKTDdhAnZSeTP0sjECjvjfeS8MJzN1Armv"
            "V0H0C3yy_FdRFfcpUPZzdZ7bBcmPh1XPdxRwY747OrIzcTLTFQUPdn1U-izCZtP_78VGw9pC"
            "pdMsv4CUzZdJbEcRtQuRS03qUjqDaovoJhOqEBmxJn9Wu8tBi_Qx7A33RbYjlfyLm_EDqimz"
            "DZhyietyop6XUcpKarKqVH0M6mMrM5zTjp8xf3W7odFCadXEJg-ERZqFM0-9Uup6kJNLbr6C"
            "5J4NDYmSm3HCSA6lp2iEiMPKU8Ii7QZ61kybXLxsX4w4Dm3fOLjmDw"
        ),
        "userHandle": "T1RWa1l6VXdPRFV0WW1NNVlTMDBOVEkxTFRnd056Z3RabVZpWVdZNFpEVm1ZMk5p",
    },
    "type": "public-key",
    "clientExtensionResults": {},
}

RSA_CHALLENGE = (
    "iPmAi1Pp1XL6oAgq3PWZtZPnZa1zFUDoGbaQ0_KvVG1lF2s3Rt_3o4uSzccy0tmcTIpTTT4BU1T-I4maavndjQ"
)

RSA_PUBLIC_KEY = (
    "pAEDAzkBACBZAQDfV20epzvQP-HtcdDpX-cGzdOxy73WQEvsU7Dnr9UWJophEfpngouvgnRL"
    "XaEUn_d8HGkp_HIx8rrpkx4BVs6X_B6ZjhLlezjIdJbLbVeb92BaEsmNn1HW2N9Xj2QM8cH-"
    "yx28_vCjf82ahQ9gyAr552Bn96G22n8jqFRQKdVpO-f-bvpvaP3IQ9F5LCX7CUaxptgbog1S"
    "FO6FI6ob5SlVVB00lVXsaYg8cIDZxCkkENkGiFPgwEaZ7995SCbiyCpUJbMqToLMgojPkAhW"
    "eyktu7TlK6UBWdJMHc3FPAIs0lH_2_2hKS-mGI1uZAFVAfW1X-mzKL0czUm2P1UlUox7IUMB"
    "AAE"
)


# --- helpers --------------------------------------------------------------------------------


@pytest.fixture
def school(app):
    app.config["BASE_URL"] = ORIGIN
    return make_school()


@pytest.fixture
def staff(school):
    return make_staff(school, email="sam.taylor@oak.example.org")


@pytest.fixture
def other(school):
    return make_staff(school, email="kim.lee@oak.example.org", name="Kim Lee")


def hold(user, ceremony: str, challenge: str, *, at: datetime = T0) -> None:
    """Hold a recorded challenge for `user`, as asking for options would have."""
    passkeys._hold(user, ceremony, base64url_to_bytes(challenge), at)


def add_passkey(user, credential_id: str, public_key: str, sign_count: int) -> StaffPasskey:
    """A passkey the user registered earlier: its id, public key and last counter."""
    passkey = StaffPasskey(
        staff_user_id=user.id,
        credential_id=credential_id,
        public_key=base64url_to_bytes(public_key),
        sign_count=sign_count,
        name="Office laptop",
        transports="usb,nfc",
        created_at=T0 - timedelta(days=30),
    )
    db.session.add(passkey)
    db.session.commit()
    return passkey


def stored_passkeys(user) -> list[StaffPasskey]:
    db.session.expire_all()
    return list(
        db.session.scalars(select(StaffPasskey).where(StaffPasskey.staff_user_id == user.id))
    )


def challenge_row(challenge: str) -> WebAuthnChallenge:
    db.session.expire_all()
    digest = hashlib.sha256(base64url_to_bytes(challenge)).hexdigest()
    return db.session.scalars(
        select(WebAuthnChallenge).where(WebAuthnChallenge.challenge_hash == digest)
    ).one()


def refused(call, *args, **kwargs) -> str:
    with pytest.raises(passkeys.PasskeyError) as error:
        call(*args, **kwargs)
    return str(error.value)


SPENT = "the challenge is unknown, used already or too old"


# --- registering ----------------------------------------------------------------------------


def test_a_recorded_registration_is_kept_as_the_users_passkey(staff):
    # The recorded answer lists its transports beside `response`; py_webauthn reads them
    # from inside it, where @simplewebauthn/browser puts them. They are not signed, so they
    # are moved there.
    answer = {
        **REGISTRATION,
        "response": {**REGISTRATION["response"], "transports": ["nfc", "usb"]},
    }
    hold(staff, "register", REGISTRATION_CHALLENGE)
    passkey = passkeys.register(staff, json.dumps(answer), name=" Laptop ", now=SOON)
    (kept,) = stored_passkeys(staff)
    assert kept.id == passkey.id
    assert kept.credential_id == REGISTRATION["id"]
    assert kept.public_key == base64url_to_bytes(REGISTRATION_PUBLIC_KEY)
    assert kept.sign_count == 23
    assert kept.name == "Laptop"
    assert kept.transports == "nfc,usb"
    assert kept.backed_up is False
    assert kept.created_at == SOON
    assert factors_of(staff.id).enrolled
    assert challenge_row(REGISTRATION_CHALLENGE).used_at == SOON
    assert audit("second_factor.enrol") == [
        {"factor": "passkey", "passkey_id": passkey.id, "name": "Laptop"}
    ]


def test_a_registration_for_another_origin_is_refused(staff, app):
    """A passkey made on another site (a phishing copy of the portal) is not kept."""
    app.config["BASE_URL"] = "https://localhost"
    hold(staff, "register", REGISTRATION_CHALLENGE)
    message = refused(passkeys.register, staff, REGISTRATION, name="Laptop", now=SOON)
    assert "origin" in message.lower()
    assert stored_passkeys(staff) == []
    # The challenge was spent on the refused answer: it cannot be tried again.
    app.config["BASE_URL"] = ORIGIN
    assert refused(passkeys.register, staff, REGISTRATION, name="Laptop", now=SOON) == SPENT
    assert audit("second_factor.enrol") == []


def test_a_registration_answer_used_twice_is_refused(staff):
    hold(staff, "register", REGISTRATION_CHALLENGE)
    passkeys.register(staff, REGISTRATION, name="Laptop", now=SOON)
    assert refused(passkeys.register, staff, REGISTRATION, name="Laptop", now=SOON) == SPENT
    assert len(stored_passkeys(staff)) == 1


def test_a_registration_for_a_challenge_not_held_for_it_is_refused(staff, other):
    """The challenge must be one the portal made, for this user and for registering."""
    assert refused(passkeys.register, staff, REGISTRATION, name="Laptop", now=SOON) == SPENT
    hold(other, "register", REGISTRATION_CHALLENGE)
    assert refused(passkeys.register, staff, REGISTRATION, name="Laptop", now=SOON) == SPENT
    assert stored_passkeys(staff) == []
    assert challenge_row(REGISTRATION_CHALLENGE).used_at is None


def test_a_challenge_held_for_signing_in_does_not_register(staff):
    hold(staff, "authenticate", REGISTRATION_CHALLENGE)
    assert refused(passkeys.register, staff, REGISTRATION, name="Laptop", now=SOON) == SPENT
    assert stored_passkeys(staff) == []


def test_a_registration_after_the_challenge_expired_is_refused(staff):
    hold(staff, "register", REGISTRATION_CHALLENGE)
    late = T0 + timedelta(seconds=passkeys.CHALLENGE_SECONDS + 1)
    assert refused(passkeys.register, staff, REGISTRATION, name="Laptop", now=late) == SPENT
    assert stored_passkeys(staff) == []


def test_a_passkey_needs_a_name_and_a_refused_name_keeps_the_challenge(staff):
    hold(staff, "register", REGISTRATION_CHALLENGE)
    assert "Enter a name" in refused(passkeys.register, staff, REGISTRATION, name=" ", now=SOON)
    too_long = "x" * (passkeys.MAX_NAME + 1)
    assert "characters or fewer" in refused(
        passkeys.register, staff, REGISTRATION, name=too_long, now=SOON
    )
    assert challenge_row(REGISTRATION_CHALLENGE).used_at is None
    passkeys.register(staff, REGISTRATION, name="Laptop", now=SOON)
    assert len(stored_passkeys(staff)) == 1


def test_an_answer_that_cannot_be_read_is_refused(staff):
    for answer in ("not json", {}, {"id": "x", "response": {}}):
        message = refused(passkeys.register, staff, answer, name="Laptop", now=SOON)
        assert message == "the browser's answer cannot be read"
        message = refused(passkeys.authenticate, staff, answer, now=SOON)
        assert message == "the browser's answer cannot be read"


# --- signing in -----------------------------------------------------------------------------


def test_a_recorded_sign_in_passes_and_moves_the_counter(staff):
    passkey = add_passkey(staff, EC2_ASSERTION["id"], EC2_PUBLIC_KEY, sign_count=77)
    hold(staff, "authenticate", EC2_CHALLENGE)
    used = passkeys.authenticate(staff, json.dumps(EC2_ASSERTION), now=SOON)
    assert used.id == passkey.id
    (kept,) = stored_passkeys(staff)
    assert (kept.sign_count, kept.last_used_at) == (78, SOON)
    assert challenge_row(EC2_CHALLENGE).used_at == SOON


def test_a_sign_in_for_another_origin_is_refused(staff, app):
    add_passkey(staff, EC2_ASSERTION["id"], EC2_PUBLIC_KEY, sign_count=77)
    app.config["BASE_URL"] = "https://localhost"
    hold(staff, "authenticate", EC2_CHALLENGE)
    assert "origin" in refused(passkeys.authenticate, staff, EC2_ASSERTION, now=SOON).lower()
    (kept,) = stored_passkeys(staff)
    assert (kept.sign_count, kept.last_used_at) == (77, None)


def test_a_sign_in_answer_used_twice_is_refused(staff):
    add_passkey(staff, EC2_ASSERTION["id"], EC2_PUBLIC_KEY, sign_count=77)
    hold(staff, "authenticate", EC2_CHALLENGE)
    passkeys.authenticate(staff, EC2_ASSERTION, now=SOON)
    later = SOON + timedelta(seconds=5)
    assert refused(passkeys.authenticate, staff, EC2_ASSERTION, now=later) == SPENT
    (kept,) = stored_passkeys(staff)
    assert (kept.sign_count, kept.last_used_at) == (78, SOON)


def test_a_sign_in_for_an_unknown_challenge_or_one_held_for_registering_is_refused(staff):
    add_passkey(staff, EC2_ASSERTION["id"], EC2_PUBLIC_KEY, sign_count=77)
    assert refused(passkeys.authenticate, staff, EC2_ASSERTION, now=SOON) == SPENT
    hold(staff, "register", EC2_CHALLENGE)  # made for registering, not signing in
    assert refused(passkeys.authenticate, staff, EC2_ASSERTION, now=SOON) == SPENT


def test_a_sign_in_after_the_challenge_expired_is_refused(staff):
    add_passkey(staff, EC2_ASSERTION["id"], EC2_PUBLIC_KEY, sign_count=77)
    hold(staff, "authenticate", EC2_CHALLENGE)
    late = T0 + timedelta(seconds=passkeys.CHALLENGE_SECONDS + 1)
    assert refused(passkeys.authenticate, staff, EC2_ASSERTION, now=late) == SPENT
    assert stored_passkeys(staff)[0].sign_count == 77


@pytest.mark.parametrize("stored", [78, 100])
def test_a_counter_that_does_not_go_up_is_refused(staff, stored):
    """The answer says 78: a passkey last seen at 78 or more has been copied (or the answer
    replayed)."""
    add_passkey(staff, EC2_ASSERTION["id"], EC2_PUBLIC_KEY, sign_count=stored)
    hold(staff, "authenticate", EC2_CHALLENGE)
    assert "sign count" in refused(passkeys.authenticate, staff, EC2_ASSERTION, now=SOON)
    (kept,) = stored_passkeys(staff)
    assert (kept.sign_count, kept.last_used_at) == (stored, None)


def test_a_passkey_that_starts_counting_from_0_is_accepted(staff):
    """The recorded RSA answer: a passkey last seen at 0 now says 1."""
    add_passkey(staff, RSA_ASSERTION["id"], RSA_PUBLIC_KEY, sign_count=0)
    hold(staff, "authenticate", RSA_CHALLENGE)
    passkeys.authenticate(staff, RSA_ASSERTION, now=SOON)
    assert stored_passkeys(staff)[0].sign_count == 1


def test_another_users_passkey_is_refused(staff, other):
    """Kim holds a challenge and answers with Sam's passkey: not one of Kim's. And Sam's own
    passkey cannot answer a challenge made for Kim."""
    add_passkey(staff, EC2_ASSERTION["id"], EC2_PUBLIC_KEY, sign_count=77)
    hold(other, "authenticate", EC2_CHALLENGE)
    message = refused(passkeys.authenticate, other, EC2_ASSERTION, now=SOON)
    assert message == "this passkey is not one of yours"
    assert refused(passkeys.authenticate, staff, EC2_ASSERTION, now=SOON) == SPENT
    assert stored_passkeys(staff)[0].sign_count == 77


# --- a passkey whose counter stays 0 ---------------------------------------------------------
# No recorded answer above says 0 (a synced passkey's counter does), so this one is made here:
# a P-256 key signs authenticator data and client data exactly as an authenticator does, and
# py_webauthn checks the signature as for any other passkey.


class SoftwarePasskey:
    """A passkey held in this test: an EC P-256 key, signing assertions for localhost."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = bytes_to_base64url(hashlib.sha256(b"software passkey").digest())
        numbers = self.key.public_key().public_numbers()
        self.public_key = bytes_to_base64url(
            encode_cbor(
                {
                    1: 2,  # kty: EC2
                    3: -7,  # alg: ES256
                    -1: 1,  # crv: P-256
                    -2: numbers.x.to_bytes(32, "big"),
                    -3: numbers.y.to_bytes(32, "big"),
                }
            )
        )

    def answer(self, challenge: bytes, *, counter: int, origin: str = ORIGIN) -> dict:
        client_data = json.dumps(
            {
                "type": "webauthn.get",
                "challenge": bytes_to_base64url(challenge),
                "origin": origin,
                "crossOrigin": False,
            }
        ).encode()
        # rpIdHash, flags (user present), signature counter.
        authenticator_data = (
            hashlib.sha256(b"localhost").digest() + b"\x01" + counter.to_bytes(4, "big")
        )
        signature = self.key.sign(
            authenticator_data + hashlib.sha256(client_data).digest(),
            ec.ECDSA(hashes.SHA256()),
        )
        return {
            "id": self.credential_id,
            "rawId": self.credential_id,
            "response": {
                "authenticatorData": bytes_to_base64url(authenticator_data),
                "clientDataJSON": bytes_to_base64url(client_data),
                "signature": bytes_to_base64url(signature),
            },
            "type": "public-key",
            "clientExtensionResults": {},
        }


def test_a_counter_that_stays_0_is_accepted_every_time(staff):
    """Synced passkeys always say 0: each sign-in with a new challenge passes. Once a passkey
    has counted, 0 (or the same number) is a copy, and refused."""
    software = SoftwarePasskey()
    add_passkey(staff, software.credential_id, software.public_key, sign_count=0)
    for n in (1, 2):
        challenge = f"challenge number {n}".encode()
        passkeys._hold(staff, "authenticate", challenge, T0)
        passkeys.authenticate(staff, software.answer(challenge, counter=0), now=SOON)
        assert stored_passkeys(staff)[0].sign_count == 0

    passkeys._hold(staff, "authenticate", b"challenge number 3", T0)
    passkeys.authenticate(staff, software.answer(b"challenge number 3", counter=5), now=SOON)
    assert stored_passkeys(staff)[0].sign_count == 5
    for n, counter in ((4, 0), (5, 5)):
        challenge = f"challenge number {n}".encode()
        passkeys._hold(staff, "authenticate", challenge, T0)
        message = refused(
            passkeys.authenticate, staff, software.answer(challenge, counter=counter), now=SOON
        )
        assert "sign count" in message
    assert stored_passkeys(staff)[0].sign_count == 5


def test_a_software_passkey_for_another_origin_is_refused(staff):
    """The made-here passkey is checked like a recorded one: the origin it signed counts."""
    software = SoftwarePasskey()
    add_passkey(staff, software.credential_id, software.public_key, sign_count=0)
    passkeys._hold(staff, "authenticate", b"one challenge", T0)
    answer = software.answer(b"one challenge", counter=0, origin="https://consent.example.org")
    assert "origin" in refused(passkeys.authenticate, staff, answer, now=SOON).lower()


# --- options ---------------------------------------------------------------------------------


def test_registration_options_name_the_portal_and_exclude_the_users_passkeys(staff, other, app):
    app.config["BASE_URL"] = "https://consent.example.org"
    mine = add_passkey(staff, EC2_ASSERTION["id"], EC2_PUBLIC_KEY, sign_count=77)
    add_passkey(other, RSA_ASSERTION["id"], RSA_PUBLIC_KEY, sign_count=0)
    options = json.loads(passkeys.registration_options(staff, now=T0))
    assert options["rp"] == {"id": "consent.example.org", "name": passkeys.RP_NAME}
    assert options["user"]["name"] == staff.email
    assert options["user"]["displayName"] == staff.name
    # The WebAuthn user id is opaque: neither the email nor the database id.
    handle = base64url_to_bytes(options["user"]["id"])
    assert handle == passkeys.user_handle(staff.id)
    assert staff.email.encode() not in handle and len(handle) == 32
    assert [c["id"] for c in options["excludeCredentials"]] == [mine.credential_id]
    assert options["excludeCredentials"][0]["transports"] == ["usb", "nfc"]
    assert options["timeout"] == passkeys.CHALLENGE_SECONDS * 1000
    held = challenge_row(options["challenge"])
    assert (held.staff_user_id, held.ceremony, held.used_at) == (staff.id, "register", None)
    assert held.expires_at - held.created_at == timedelta(seconds=passkeys.CHALLENGE_SECONDS)
    # Kept as its hash only.
    raw = base64url_to_bytes(options["challenge"])
    assert held.challenge_hash == hashlib.sha256(raw).hexdigest()
    assert options["challenge"] not in held.challenge_hash and raw.hex() != held.challenge_hash


def test_sign_in_options_allow_only_the_users_passkeys(staff, other, app):
    app.config["BASE_URL"] = "https://consent.example.org"
    assert passkeys.authentication_options(staff, now=T0) is None
    db.session.expire_all()
    assert db.session.scalars(select(WebAuthnChallenge)).all() == []

    mine = add_passkey(staff, EC2_ASSERTION["id"], EC2_PUBLIC_KEY, sign_count=77)
    add_passkey(other, RSA_ASSERTION["id"], RSA_PUBLIC_KEY, sign_count=0)
    options = json.loads(passkeys.authentication_options(staff, now=T0))
    assert options["rpId"] == "consent.example.org"
    assert [c["id"] for c in options["allowCredentials"]] == [mine.credential_id]
    assert options["userVerification"] == "preferred"
    held = challenge_row(options["challenge"])
    assert (held.staff_user_id, held.ceremony) == (staff.id, "authenticate")
    # Each request for options is a new challenge.
    again = json.loads(passkeys.authentication_options(staff, now=T0))
    assert again["challenge"] != options["challenge"]


# --- over HTTP ------------------------------------------------------------------------------


def test_signing_in_with_a_passkey_over_http(staff, app):
    """After the emailed link, the check page offers the passkey; the browser's answer (here
    the recorded one) passes the session's second factor and names where to go next."""
    add_passkey(staff, EC2_ASSERTION["id"], EC2_PUBLIC_KEY, sign_count=77)
    client = app.test_client()
    sign_in_by_link(client, staff.email)
    page = client.get("/staff/second-factor?next=/staff/exports")
    assert page.status_code == 200
    assert 'data-passkey="authenticate"' in page.text
    assert "Use a passkey" in page.text
    headers = {"X-CSRFToken": csrf_token(page)}

    options = client.post("/staff/second-factor/passkey/options", headers=headers)
    assert options.status_code == 200
    assert options.json["allowCredentials"][0]["id"] == EC2_ASSERTION["id"]

    hold(staff, "authenticate", EC2_CHALLENGE, at=datetime.now(UTC))
    answer = {"credential": EC2_ASSERTION, "next": "/staff/exports"}
    response = client.post("/staff/second-factor/passkey", json=answer, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json == {"redirect": "/staff/exports"}
    row = session_row(client)
    assert row.second_factor == "passkey" and row.second_factor_at is not None
    assert audit("second_factor.use")[-1]["factor"] == "passkey"
    assert client.get("/staff").status_code == 200


def test_a_refused_passkey_over_http_says_so_and_is_audited(staff, app):
    add_passkey(staff, EC2_ASSERTION["id"], EC2_PUBLIC_KEY, sign_count=100)
    client = app.test_client()
    sign_in_by_link(client, staff.email)
    headers = {"X-CSRFToken": csrf_token(client.get("/staff/second-factor"))}
    hold(staff, "authenticate", EC2_CHALLENGE, at=datetime.now(UTC))
    response = client.post(
        "/staff/second-factor/passkey", json={"credential": EC2_ASSERTION}, headers=headers
    )
    assert response.status_code == 400
    assert response.json == {
        "error": "That passkey did not work. Try again, or use another way below."
    }
    assert session_row(client).second_factor_at is None
    (failure,) = audit("second_factor.failure")
    assert failure["factor"] == "passkey" and "sign count" in failure["reason"]
    assert client.get("/staff").status_code == 302


def test_registering_a_first_passkey_over_http_goes_on_to_recovery_codes(staff, app):
    client = app.test_client()
    sign_in_by_link(client, staff.email)
    page = client.get("/staff/second-factor/set-up?next=/staff")
    assert page.status_code == 200
    assert 'data-passkey="register"' in page.text
    headers = {"X-CSRFToken": csrf_token(page)}
    options = client.post("/staff/second-factor/set-up/passkey/options", headers=headers)
    assert options.status_code == 200 and options.json["rp"]["id"] == "localhost"

    hold(staff, "register", REGISTRATION_CHALLENGE, at=datetime.now(UTC))
    body = {"credential": REGISTRATION, "name": "Laptop", "next": "/staff"}
    response = client.post("/staff/second-factor/set-up/passkey", json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json == {"redirect": "/staff/second-factor/recovery-codes?next=/staff"}
    (kept,) = stored_passkeys(staff)
    assert kept.name == "Laptop"
    row = session_row(client)
    assert row.second_factor == "passkey"
    assert client.get("/staff/second-factor/recovery-codes?next=/staff").status_code == 200


def test_a_passkey_without_a_name_is_refused_over_http(staff, app):
    client = app.test_client()
    sign_in_by_link(client, staff.email)
    headers = {"X-CSRFToken": csrf_token(client.get("/staff/second-factor/set-up"))}
    hold(staff, "register", REGISTRATION_CHALLENGE, at=datetime.now(UTC))
    body = {"credential": REGISTRATION, "name": "  "}
    response = client.post("/staff/second-factor/set-up/passkey", json=body, headers=headers)
    assert response.status_code == 400
    assert "Enter a name for this passkey" in response.json["error"]
    assert stored_passkeys(staff) == []
    db.session.expire_all()
    assert db.session.scalars(select(UserSession.second_factor_at)).one() is None


@pytest.mark.parametrize(
    "body", [[1], "a string", 5, None], ids=["list", "string", "number", "null"]
)
def test_a_body_that_is_not_a_json_object_is_refused_not_an_error(staff, app, body):
    """The ceremony's script sends a JSON object; anything else is a refusal (400), for
    signing in and for adding a passkey alike."""
    add_passkey(staff, EC2_ASSERTION["id"], EC2_PUBLIC_KEY, sign_count=77)
    newcomer = make_staff(staff.school, email="new@oak.example.org", name="Nia New")
    client = app.test_client()
    sign_in_by_link(client, staff.email)
    headers = {"X-CSRFToken": csrf_token(client.get("/staff/second-factor"))}
    response = client.post("/staff/second-factor/passkey", json=body, headers=headers)
    assert response.status_code == 400
    assert "error" in response.json

    client = app.test_client()
    sign_in_by_link(client, newcomer.email)
    headers = {"X-CSRFToken": csrf_token(client.get("/staff/second-factor/set-up"))}
    response = client.post("/staff/second-factor/set-up/passkey", json=body, headers=headers)
    assert response.status_code == 400
    assert response.json == {"error": "Enter a name for this passkey, such as the device it is on"}


def test_a_next_that_is_not_text_goes_to_the_dashboard(staff, app):
    """A passkey that passed, with a `next` that is not a string, goes to the dashboard
    (not an error after the session has passed)."""
    add_passkey(staff, EC2_ASSERTION["id"], EC2_PUBLIC_KEY, sign_count=77)
    client = app.test_client()
    sign_in_by_link(client, staff.email)
    headers = {"X-CSRFToken": csrf_token(client.get("/staff/second-factor"))}
    hold(staff, "authenticate", EC2_CHALLENGE, at=datetime.now(UTC))
    answer = {"credential": EC2_ASSERTION, "next": ["/staff/exports"]}
    response = client.post("/staff/second-factor/passkey", json=answer, headers=headers)
    assert response.status_code == 200
    assert response.json == {"redirect": "/staff"}


def test_used_and_expired_challenges_are_deleted_as_new_ones_are_held(staff, other):
    """The challenges table holds only a user's challenges still in time and unused: each
    new one deletes the rest of theirs (another user's are left alone)."""
    passkeys._hold(staff, "register", b"old-1", T0)
    passkeys._hold(staff, "authenticate", b"old-2", T0)
    passkeys._hold(other, "register", b"theirs", T0)
    later = T0 + timedelta(seconds=passkeys.CHALLENGE_SECONDS)
    passkeys._hold(staff, "register", b"new", later)
    db.session.expire_all()
    rows = db.session.scalars(select(WebAuthnChallenge).order_by(WebAuthnChallenge.id)).all()
    assert [(row.staff_user_id, row.ceremony) for row in rows] == [
        (other.id, "register"),
        (staff.id, "register"),
    ]
