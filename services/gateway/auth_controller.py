"""HTTP endpoints of `/api/v1/auth` (DESIGN §3-4)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway import auth_service
from services.gateway.api_guard import PUBLIC
from services.gateway.schemas import LoginIn, RefreshIn, RegisterIn, TokenPair, UserOut


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/register", opt={PUBLIC: True}, status_code=HTTP_201_CREATED)
    async def register(self, session: AsyncSession, data: RegisterIn) -> UserOut:
        """Create an account. 409 EMAIL_TAKEN when the email (any case) is registered."""
        return await auth_service.register(session, data)

    @post("/login", opt={PUBLIC: True}, status_code=200)
    async def login(self, session: AsyncSession, state: State, data: LoginIn) -> TokenPair:
        """Exchange email + password for an access token and a refresh token."""
        return await auth_service.login(
            session,
            data,
            issuer=state.token_issuer,
            limits=state.rate_limits,
            refresh_ttl=state.settings.refresh_token_ttl,
        )

    @post("/refresh", opt={PUBLIC: True}, status_code=200)
    async def refresh(self, session: AsyncSession, state: State, data: RefreshIn) -> TokenPair:
        """Rotate a refresh token: the old one stops working, a new pair is returned."""
        return await auth_service.refresh(
            session,
            data.refresh_token,
            issuer=state.token_issuer,
            refresh_ttl=state.settings.refresh_token_ttl,
        )

    @post("/logout", status_code=HTTP_204_NO_CONTENT)
    async def logout(
        self, session: AsyncSession, request: Request[str, Any, Any], data: RefreshIn
    ) -> None:
        """Revoke the refresh token's whole family (every token rotated from one login)."""
        await auth_service.logout(session, request.user, data.refresh_token)

    @get("/me")
    async def me(self, session: AsyncSession, request: Request[str, Any, Any]) -> UserOut:
        return await auth_service.me(session, request.user)
