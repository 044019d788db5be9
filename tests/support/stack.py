"""The root ``stack``'s types, and users registered through its gateway.

The fixtures that build them (``jwt_keys``, ``stack``, ``make_user``...) are in
tests/conftest.py; tests import the types from here to annotate them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.processes import ServiceProcess, start_service


@dataclass(frozen=True)
class JwtKeys:
    private_path: Path
    public_path: Path
    private_pem: bytes
    public_pem: bytes


@dataclass
class Stack:
    todos: ServiceProcess
    gateway: ServiceProcess
    log_dir: Path

    def start_gateway(self, **overrides: str) -> ServiceProcess:
        """Another gateway on the same database, with some settings changed."""
        return self._another(self.gateway, "gateway", overrides)

    def start_todos(self, **overrides: str) -> ServiceProcess:
        """Another todos process on the same database, with some settings changed."""
        return self._another(self.todos, "todos", overrides)

    def _another(
        self, like: ServiceProcess, name: str, overrides: dict[str, str]
    ) -> ServiceProcess:
        env = {**like.env, **{k.upper(): v for k, v in overrides.items()}}
        return start_service(name, f"services.{name}.app:create_app", env, self.log_dir)


@dataclass
class User:
    id: str
    email: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


UserFactory = Callable[..., User]


def register_user(
    gateway_url: str, password: str = "correct horse battery", name: str | None = None
) -> User:
    """Register and log in a new user through the gateway (module-scoped fixtures call it
    directly; tests use ``make_user``)."""
    email = f"user-{uuid.uuid4().hex[:10]}@example.com"
    with httpx.Client(base_url=gateway_url, timeout=10) as client:
        body = {"email": email, "password": password, **({"name": name} if name else {})}
        created = client.post("/api/v1/auth/register", json=body)
        assert created.status_code == 201, created.text
        login = client.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert login.status_code == 200, login.text
    tokens = login.json()
    return User(
        created.json()["id"], email, password, tokens["access_token"], tokens["refresh_token"]
    )
