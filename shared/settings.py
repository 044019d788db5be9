"""Typed settings read from environment variables.

Every setting is a field of a msgspec Struct; its environment variable is the field name
in upper case. Defaults are for development and work on a fresh machine; with
``ENVIRONMENT=production`` :func:`load_settings` refuses the development values that would
be a security hole (default database credentials, the generated dev JWT keys).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeVar

import msgspec

REPO_ROOT = Path(__file__).resolve().parent.parent
DEV_KEYS_DIR = REPO_ROOT / ".keys"
DEV_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/todo_platform"
# The development vhost; `make run` creates it (tests make their own, see tests/support).
DEV_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/todo_platform"


class SettingsError(RuntimeError):
    """The environment does not describe a service that may start."""


class CommonSettings(msgspec.Struct, kw_only=True):
    """Settings every service reads."""

    environment: str = "development"
    service_name: str = "service"
    log_level: str = "INFO"
    database_url: str = DEV_DATABASE_URL
    db_pool_size: int = 10
    # A fixed pool: overflow connections opened and closed under load cost more than
    # a short wait for a pooled one.
    db_max_overflow: int = 0
    amqp_url: str = DEV_AMQP_URL
    # PEM text of the public key (or a path to it via JWT_PUBLIC_KEY_FILE).
    jwt_public_key: str = ""
    jwt_public_key_file: str = str(DEV_KEYS_DIR / "jwt_public.pem")
    jwt_issuer: str = "todo-platform"
    jwt_audience: str = "todo-platform-api"
    # The platform's public base URL (https://api.example.com), named in what points
    # clients back to it (the MCP resource metadata); empty: the request's own scheme://host.
    public_url: str = ""

    @property
    def is_production(self) -> bool:
        return self.environment.lower() == "production"

    def public_key_pem(self) -> bytes:
        return key_material(self.jwt_public_key, self.jwt_public_key_file, "JWT_PUBLIC_KEY")

    def production_problems(self) -> list[str]:
        """What makes these settings unfit for production (empty when fit)."""
        problems: list[str] = []
        if self.database_url == DEV_DATABASE_URL:
            problems.append("DATABASE_URL is the development default")
        if self.amqp_url == DEV_AMQP_URL:
            problems.append("AMQP_URL is the development default")
        if not self.jwt_public_key and is_dev_key_path(self.jwt_public_key_file):
            problems.append("JWT_PUBLIC_KEY(_FILE) is missing or points at the dev keys")
        return problems


def is_dev_key_path(path: str) -> bool:
    return not path or Path(path).resolve().is_relative_to(DEV_KEYS_DIR)


def key_material(inline: str, path: str, name: str) -> bytes:
    if inline.strip():
        return inline.replace("\\n", "\n").encode()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise SettingsError(
            f"{name} is not set and {path} cannot be read ({exc.strerror}); "
            "run `make keys` for development keys"
        ) from exc


S = TypeVar("S", bound=CommonSettings)


def load_settings(settings_type: type[S], environ: dict[str, str] | None = None) -> S:
    """Build ``settings_type`` from the environment, converting strings to field types."""
    env = os.environ if environ is None else environ
    raw = {
        field: env[field.upper()]
        for field in settings_type.__struct_fields__
        if field.upper() in env
    }
    try:
        settings = msgspec.convert(raw, settings_type, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(f"invalid setting: {exc}") from exc
    if settings.is_production:
        problems = settings.production_problems()
        if problems:
            raise SettingsError("refusing to start in production: " + "; ".join(problems))
    return settings


def split_list(value: str) -> list[str]:
    """Comma-separated setting -> list of non-empty, stripped items."""
    return [item.strip() for item in value.split(",") if item.strip()]
