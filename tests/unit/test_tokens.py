from __future__ import annotations

import time

import jwt
import pytest

from shared.errors import Unauthorized
from shared.tokens import TokenIssuer, TokenVerifier, generate_key_pair

ISS, AUD = "issuer", "audience"


def make_pair(ttl: int = 60) -> tuple[TokenIssuer, bytes]:
    private, public = generate_key_pair()
    return TokenIssuer(private, issuer=ISS, audience=AUD, ttl_seconds=ttl), public


def test_issued_token_verifies_with_its_claims() -> None:
    issuer, public = make_pair()
    claims = TokenVerifier(public, issuer=ISS, audience=AUD).verify(issuer.issue("user-1"))
    assert claims.user_id == "user-1" and claims.expires_at > time.time()
    header = jwt.get_unverified_header(issuer.issue("user-1"))
    assert header["alg"] == "EdDSA" and len(header["kid"]) == 16


def test_two_public_keys_are_accepted_during_rotation() -> None:
    old_issuer, old_public = make_pair()
    new_issuer, new_public = make_pair()
    verifier = TokenVerifier(old_public + new_public, issuer=ISS, audience=AUD)
    assert verifier.verify(old_issuer.issue("a")).user_id == "a"
    assert verifier.verify(new_issuer.issue("b")).user_id == "b"
    with pytest.raises(Unauthorized):
        TokenVerifier(new_public, issuer=ISS, audience=AUD).verify(old_issuer.issue("a"))


def test_a_remembered_token_still_expires() -> None:
    issuer, public = make_pair(ttl=1)
    verifier = TokenVerifier(public, issuer=ISS, audience=AUD, leeway=0)
    token = issuer.issue("user-1")
    verifier.verify(token)  # now cached
    time.sleep(1.2)
    with pytest.raises(Unauthorized, match="expired"):
        verifier.verify(token)


def test_bearer_header_parsing() -> None:
    issuer, public = make_pair()
    verifier = TokenVerifier(public, issuer=ISS, audience=AUD)
    assert verifier.verify_header(f"bearer {issuer.issue('u')}").user_id == "u"
    for bad in (None, "", "Bearer", "Token abc", "Bearer   "):
        with pytest.raises(Unauthorized):
            verifier.verify_header(bad)


def test_only_ed25519_public_keys_are_accepted() -> None:
    with pytest.raises(ValueError, match="no Ed25519"):
        TokenVerifier(b"not a pem", issuer=ISS, audience=AUD)
