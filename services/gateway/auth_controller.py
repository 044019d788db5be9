"""HTTP endpoints of `/api/v1/auth` (docs/design.md §2-3)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from services.gateway import auth_service
from services.gateway.api_guard import PUBLIC
from services.gateway.rate_limits import RateLimits
from services.gateway.schemas import LoginIn, RefreshIn, RegisterIn, TokenPair, UserOut
from services.gateway.settings import GatewaySettings
from shared.errors import EmailTaken, InvalidCredentials, InvalidRefreshToken, NotFound
from shared.openapi import raises
from shared.platform import Session
from shared.tokens import TokenIssuer

# Provided by the app's plugins (shared.platform) and services/gateway/app.py.
Issuer = NamedDependency[TokenIssuer]
Limits = NamedDependency[RateLimits]
Settings = NamedDependency[GatewaySettings]


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post(
        "/register",
        opt={PUBLIC: True},
        status_code=HTTP_201_CREATED,
        summary="Create an account",
        raises=raises(EmailTaken),
    )
    async def register(self, session: Session, data: JSONBody[RegisterIn]) -> UserOut:
        """Create an account. 409 EMAIL_TAKEN when the email (any case) is registered."""
        return await auth_service.register(session, data)

    @post(
        "/login",
        opt={PUBLIC: True},
        status_code=200,
        summary="Log in: an access token and a refresh token",
        raises=raises(InvalidCredentials),
    )
    async def login(
        self,
        session: Session,
        token_issuer: Issuer,
        rate_limits: Limits,
        settings: Settings,
        data: JSONBody[LoginIn],
    ) -> TokenPair:
        """Exchange email + password for an access token and a refresh token."""
        return await auth_service.login(
            session,
            data,
            issuer=token_issuer,
            limits=rate_limits,
            refresh_ttl=settings.refresh_token_ttl,
        )

    @post(
        "/refresh",
        opt={PUBLIC: True},
        status_code=200,
        summary="Rotate a refresh token: a new token pair",
        raises=raises(InvalidRefreshToken),
    )
    async def refresh(
        self,
        session: Session,
        token_issuer: Issuer,
        settings: Settings,
        data: JSONBody[RefreshIn],
    ) -> TokenPair:
        """Rotate a refresh token: the old one stops working, a new pair is returned."""
        return await auth_service.refresh(
            session, data.refresh_token, issuer=token_issuer, refresh_ttl=settings.refresh_token_ttl
        )

    @post("/logout", status_code=HTTP_204_NO_CONTENT, summary="Log out: revoke the session")
    async def logout(
        self, session: Session, request: Request[str, Any, Any], data: JSONBody[RefreshIn]
    ) -> None:
        """Revoke the refresh token's whole family (every token rotated from one login)."""
        await auth_service.logout(session, request.user, data.refresh_token)

    @get("/me", summary="My account", raises=raises(NotFound))
    async def me(self, session: Session, request: Request[str, Any, Any]) -> UserOut:
        return await auth_service.me(session, request.user)
