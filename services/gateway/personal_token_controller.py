"""HTTP endpoints of `/api/v1/auth/tokens`: the caller's personal access tokens."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from services.gateway import personal_tokens
from services.gateway.personal_token_exchange import PersonalTokenExchange
from services.gateway.personal_tokens import LoginTokenRequired, TokenLimitReached
from services.gateway.schemas import PersonalTokenCreated, PersonalTokenIn, PersonalTokenList
from shared.errors import NotFound
from shared.openapi import raises
from shared.platform import Session
from shared.tokens import AccessClaims

# Provided by services/gateway/app.py.
Exchange = NamedDependency[PersonalTokenExchange]
Caller = Request[str, AccessClaims, Any]
TokenId = Annotated[str, PathParameter(description="The token's id (a UUID)")]


class PersonalTokenController(Controller):
    path = "/api/v1/auth/tokens"
    tags = ["auth"]

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        summary="Create a personal access token",
        raises=raises(LoginTokenRequired, TokenLimitReached),
    )
    async def create(
        self, session: Session, request: Caller, data: JSONBody[PersonalTokenIn]
    ) -> PersonalTokenCreated:
        """A long-lived token for scripts and MCP clients (`Authorization: Bearer tdp_...`),
        limited to `scopes` (all when left out) and expiring after `expires_in_days` (never
        when left out). The token is in this answer only: store it now. Needs a login's
        access token (403 `LOGIN_TOKEN_REQUIRED` with a personal token); at most 50 per
        user (409 `TOKEN_LIMIT_REACHED`)."""
        return await personal_tokens.create(session, request.auth, data)

    @get("/", summary="My personal access tokens", raises=raises(LoginTokenRequired))
    async def list_tokens(self, session: Session, request: Caller) -> PersonalTokenList:
        """Every token of mine that is not revoked (expired ones included), newest first,
        without the tokens themselves. At most 50, so the list is answered whole."""
        return await personal_tokens.list_mine(session, request.auth)

    @delete(
        "/{token_id:str}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Revoke a personal access token",
        raises=raises(LoginTokenRequired, NotFound),
    )
    async def revoke(
        self,
        session: Session,
        request: Caller,
        personal_token_exchange: Exchange,
        token_id: TokenId,
    ) -> None:
        """The token stops working at once on this gateway and within
        `PERSONAL_TOKEN_CACHE_SECONDS` (5 s) on every replica. Another user's token, or an
        unknown id: 404."""
        digest = await personal_tokens.revoke(session, request.auth, token_id)
        personal_token_exchange.forget(digest)
