"""Access tokens: EdDSA-signed JWTs. The gateway issues them; every service verifies them.

Verification trusts nothing but the signature made with one of the configured public keys
(selected by ``kid``, so two keys can be accepted while keys are rotated), allows exactly
one algorithm and requires every registered claim we rely on, each of its type: the
times are JSON numbers (RFC 7519's NumericDate; PyJWT alone would take ``"1700000000"``),
``sub`` is a user id (a UUID) and ``jti`` a string. Anything else is a 401.

Two claims limit a token (docs/design.md §2): ``scope``, the space-separated scopes it may
use (RFC 8693; a token without it may use all of them), and ``pat``, the id of the personal
access token the gateway minted it for. A ``scope`` that is not a string of known scope
names, or a ``pat`` that is not an id, is a 401 like any malformed token.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shared.errors import Unauthorized
from shared.scopes import ALL_SCOPES, ordered

ALGORITHM = "EdDSA"
REQUIRED_CLAIMS = ["exp", "iat", "sub", "aud", "iss", "jti"]
NUMERIC_DATES = ("exp", "iat", "nbf")
MAX_NUMERIC_DATE = 2**63  # seconds; anything larger is not a time a token can mean
_PEM_BLOCK = re.compile(rb"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.S)


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: str
    token_id: str
    expires_at: int
    # What the token may do (shared.scopes); a login's token may do everything.
    scopes: frozenset[str] = ALL_SCOPES
    # Set when the token stands for a personal access token (the gateway minted it).
    personal_token_id: str | None = None


class TokenVerifier:
    # Verified tokens are remembered until they expire: a client presents the same token
    # on every request, and a signature check costs ~130 us of CPU. The key is the whole
    # token (signature included), so only a byte-identical, already verified token hits.
    CACHE_SIZE = 10_000

    def __init__(self, public_pem: bytes, *, issuer: str, audience: str, leeway: int = 5) -> None:
        self._cache: dict[str, AccessClaims] = {}
        self._keys: dict[str, Ed25519PublicKey] = {}
        for block in _PEM_BLOCK.findall(public_pem):
            key = serialization.load_pem_public_key(block)
            if not isinstance(key, Ed25519PublicKey):
                raise ValueError("JWT public keys must be Ed25519")
            self._keys[key_id(key)] = key
        if not self._keys:
            raise ValueError("no Ed25519 public key found in the configured PEM")
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway

    def verify(self, token: str) -> AccessClaims:
        cached = self._cache.get(token)
        if cached is not None:
            if cached.expires_at + self._leeway > time.time():
                return cached
            del self._cache[token]
        claims = self._verify_signed(token)
        if len(self._cache) >= self.CACHE_SIZE:
            self._cache.clear()
        self._cache[token] = claims
        return claims

    def _verify_signed(self, token: str) -> AccessClaims:
        try:
            header = jwt.get_unverified_header(token)
            key = self._keys.get(header.get("kid", ""))
            if key is None or header.get("alg") != ALGORITHM:
                raise Unauthorized("Unknown signing key")
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("Access token expired") from exc
        except (jwt.PyJWTError, TypeError, ValueError, OverflowError) as exc:
            # PyJWT's own checks raise TypeError for a non-string `iss` and OverflowError
            # for a time beyond a float: a malformed token either way.
            raise Unauthorized("Invalid access token") from exc
        if not _well_typed(claims):
            raise Unauthorized("Invalid access token")
        scope = claims.get("scope")
        return AccessClaims(
            user_id=str(uuid.UUID(claims["sub"])),
            token_id=claims["jti"],
            expires_at=int(claims["exp"]),
            scopes=ALL_SCOPES if scope is None else frozenset(scope.split(" ")),
            personal_token_id=claims.get("pat"),
        )

    def verify_header(self, authorization: str | None) -> AccessClaims:
        """Verify an ``Authorization: Bearer <jwt>`` header value."""
        return self.verify(bearer_token(authorization))


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header value; 401 otherwise."""
    if not authorization:
        raise Unauthorized("Missing access token")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization header must be 'Bearer <token>'")
    return token.strip()


def _well_typed(claims: dict[str, Any]) -> bool:
    """Whether every claim we read has the type RFC 7519 and our tokens give it."""
    for name in NUMERIC_DATES:
        value = claims.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if not -MAX_NUMERIC_DATE < value < MAX_NUMERIC_DATE:  # also false for NaN
            return False
    if claims.get("typ") != "access" or not isinstance(claims["jti"], str):
        return False
    if "pat" in claims and not _is_uuid(claims["pat"]):
        return False
    if "scope" in claims and not _is_scope(claims["scope"]):
        return False
    return _is_uuid(claims["sub"])


def _is_uuid(value: Any) -> bool:
    if not isinstance(value, str) or len(value) != 36:
        return False  # the canonical form only: no braces, no "urn:uuid:" prefix
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _is_scope(value: Any) -> bool:
    """Known scope names separated by single spaces (RFC 6749 §3.3), at least one."""
    return isinstance(value, str) and all(name in ALL_SCOPES for name in value.split(" "))


class TokenIssuer:
    def __init__(self, private_pem: bytes, *, issuer: str, audience: str, ttl_seconds: int) -> None:
        key = serialization.load_pem_private_key(private_pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the JWT private key must be Ed25519")
        self._key = key
        self._kid = key_id(key.public_key())
        self._issuer = issuer
        self._audience = audience
        self.ttl_seconds = ttl_seconds

    def issue(
        self,
        user_id: str,
        *,
        scopes: frozenset[str] | None = None,
        personal_token_id: str | None = None,
        ttl_seconds: int | None = None,
    ) -> str:
        """An access token of ``user_id``; limited to ``scopes`` when given (None: all),
        standing for the personal token ``personal_token_id`` when given."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": user_id,
            "iss": self._issuer,
            "aud": self._audience,
            "iat": now,
            "exp": now + (self.ttl_seconds if ttl_seconds is None else ttl_seconds),
            "jti": uuid.uuid4().hex,
            "typ": "access",
        }
        if scopes is not None:
            if not scopes or not scopes <= ALL_SCOPES:
                raise ValueError(f"scopes must be some of {sorted(ALL_SCOPES)}, got {scopes}")
            claims["scope"] = " ".join(ordered(scopes))
        if personal_token_id is not None:
            claims["pat"] = personal_token_id
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self._kid})


def generate_key_pair() -> tuple[bytes, bytes]:
    """(private PEM, public PEM) of a new Ed25519 key pair."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public
