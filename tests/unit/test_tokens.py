from __future__ import annotations

import time
import uuid

import jwt
import pytest

from shared.errors import Unauthorized
from shared.scopes import ALL_SCOPES, CHAT, TODOS_READ
from shared.tokens import TokenIssuer, TokenVerifier, generate_key_pair
from tests.support.hostile import WRONG_TYPED_CLAIMS, access_claims, sign

ISS, AUD = "issuer", "audience"
USER_1, USER_A, USER_B = (str(uuid.uuid4()) for _ in range(3))


def make_pair(ttl: int = 60) -> tuple[TokenIssuer, bytes]:
    private, public = generate_key_pair()
    return TokenIssuer(private, issuer=ISS, audience=AUD, ttl_seconds=ttl), public


def test_issued_token_verifies_with_its_claims() -> None:
    issuer, public = make_pair()
    claims = TokenVerifier(public, issuer=ISS, audience=AUD).verify(issuer.issue(USER_1))
    assert claims.user_id == USER_1 and claims.expires_at > time.time()
    header = jwt.get_unverified_header(issuer.issue(USER_1))
    assert header["alg"] == "EdDSA" and len(header["kid"]) == 16


def test_two_public_keys_are_accepted_during_rotation() -> None:
    old_issuer, old_public = make_pair()
    new_issuer, new_public = make_pair()
    verifier = TokenVerifier(old_public + new_public, issuer=ISS, audience=AUD)
    assert verifier.verify(old_issuer.issue(USER_A)).user_id == USER_A
    assert verifier.verify(new_issuer.issue(USER_B)).user_id == USER_B
    with pytest.raises(Unauthorized):
        TokenVerifier(new_public, issuer=ISS, audience=AUD).verify(old_issuer.issue(USER_A))


def test_a_remembered_token_still_expires() -> None:
    issuer, public = make_pair(ttl=1)
    verifier = TokenVerifier(public, issuer=ISS, audience=AUD, leeway=0)
    token = issuer.issue(USER_1)
    verifier.verify(token)  # now cached
    time.sleep(1.2)
    with pytest.raises(Unauthorized, match="expired"):
        verifier.verify(token)


def test_bearer_header_parsing() -> None:
    issuer, public = make_pair()
    verifier = TokenVerifier(public, issuer=ISS, audience=AUD)
    assert verifier.verify_header(f"bearer {issuer.issue(USER_1)}").user_id == USER_1
    for bad in (None, "", "Bearer", "Token abc", "Bearer   "):
        with pytest.raises(Unauthorized):
            verifier.verify_header(bad)


def test_only_ed25519_public_keys_are_accepted() -> None:
    with pytest.raises(ValueError, match="no Ed25519"):
        TokenVerifier(b"not a pem", issuer=ISS, audience=AUD)


# -- claims of the wrong type (each signed with the right key, every other claim valid) ------
def forged(private: bytes, **changes: object) -> str:
    claims = access_claims(str(uuid.uuid4()), issuer=ISS, audience=AUD)
    claims.update(changes)
    return sign(private, claims)


@pytest.mark.parametrize("case", list(WRONG_TYPED_CLAIMS))
def test_a_claim_of_the_wrong_type_is_refused(case: str) -> None:
    private, public = generate_key_pair()
    verifier = TokenVerifier(public, issuer=ISS, audience=AUD)
    token = forged(private, **WRONG_TYPED_CLAIMS[case](int(time.time())))
    for _ in range(2):  # refused, and not remembered as verified either
        with pytest.raises(Unauthorized):
            verifier.verify(token)
    with pytest.raises(Unauthorized):
        verifier.verify_header(f"Bearer {token}")


def test_a_forged_token_with_every_claim_of_its_type_is_accepted() -> None:
    private, public = generate_key_pair()
    verifier = TokenVerifier(public, issuer=ISS, audience=AUD)
    user = str(uuid.uuid4())
    claims = {**access_claims(user, issuer=ISS, audience=AUD), "nbf": int(time.time())}
    token = sign(private, claims)
    verified = verifier.verify(token)
    assert verified.user_id == user
    assert verified.token_id == claims["jti"] and verified.expires_at == claims["exp"]
    assert verifier.verify(token) == verified  # remembered
    assert verifier.verify_header(f"Bearer {token}").user_id == user


# -- scopes and personal tokens ----------------------------------------------------------------
def test_a_login_token_has_every_scope() -> None:
    issuer, public = make_pair()
    claims = TokenVerifier(public, issuer=ISS, audience=AUD).verify(issuer.issue(USER_1))
    assert claims.scopes == ALL_SCOPES and claims.personal_token_id is None
    assert "scope" not in jwt.decode(issuer.issue(USER_1), options={"verify_signature": False})


def test_a_minted_token_carries_its_scopes_and_personal_token() -> None:
    issuer, public = make_pair()
    pat = str(uuid.uuid4())
    token = issuer.issue(
        USER_1, scopes=frozenset({CHAT, TODOS_READ}), personal_token_id=pat, ttl_seconds=30
    )
    raw = jwt.decode(token, options={"verify_signature": False})
    assert raw["scope"] == "todos:read chat" and raw["pat"] == pat
    assert raw["exp"] - raw["iat"] == 30
    claims = TokenVerifier(public, issuer=ISS, audience=AUD).verify(token)
    assert claims.scopes == {CHAT, TODOS_READ} and claims.personal_token_id == pat


@pytest.mark.parametrize("scopes", [frozenset(), frozenset({"admin"}), frozenset({CHAT, "x"})])
def test_only_known_scopes_are_issued(scopes: frozenset[str]) -> None:
    issuer, _ = make_pair()
    with pytest.raises(ValueError, match="scopes"):
        issuer.issue(USER_1, scopes=scopes)


def test_every_known_scope_is_accepted_in_the_claim() -> None:
    private, public = generate_key_pair()
    verifier = TokenVerifier(public, issuer=ISS, audience=AUD)
    token = forged(private, scope=" ".join(sorted(ALL_SCOPES)), pat=str(uuid.uuid4()))
    assert verifier.verify(token).scopes == ALL_SCOPES
