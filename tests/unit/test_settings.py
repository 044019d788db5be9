from __future__ import annotations

import pytest

from services.gateway.settings import GatewaySettings
from shared.settings import CommonSettings, SettingsError, load_settings, split_list

PEM = "-----BEGIN PUBLIC KEY-----\\nMCowBQYDK2VwAyEA\\n-----END PUBLIC KEY-----"


def test_values_come_from_upper_case_environment_variables() -> None:
    settings = load_settings(
        GatewaySettings, {"DB_POOL_SIZE": "7", "UPSTREAM_TIMEOUT": "2.5", "RATE_LIMIT": "5/second"}
    )
    assert settings.db_pool_size == 7 and settings.upstream_timeout == 2.5
    assert settings.rate_limit == "5/second"


def test_a_malformed_value_is_refused_with_its_name() -> None:
    with pytest.raises(SettingsError, match="db_pool_size"):
        load_settings(CommonSettings, {"DB_POOL_SIZE": "many"})


def test_production_refuses_development_defaults() -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(GatewaySettings, {"ENVIRONMENT": "production"})
    message = str(refused.value)
    for name in ("DATABASE_URL", "AMQP_URL", "JWT_PUBLIC_KEY", "JWT_PRIVATE_KEY"):
        assert name in message


def test_production_starts_with_real_secrets() -> None:
    settings = load_settings(
        GatewaySettings,
        {
            "ENVIRONMENT": "production",
            "DATABASE_URL": "postgresql+asyncpg://app:secret@db/app",
            "AMQP_URL": "amqps://app:secret@broker/platform",
            "JWT_PUBLIC_KEY": PEM,
            "JWT_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----...",
        },
    )
    assert settings.is_production
    assert settings.public_key_pem().startswith(b"-----BEGIN PUBLIC KEY-----\nMC")


def test_missing_key_file_says_what_to_do() -> None:
    settings = load_settings(CommonSettings, {"JWT_PUBLIC_KEY_FILE": "/nonexistent/key.pem"})
    with pytest.raises(SettingsError, match="make keys"):
        settings.public_key_pem()


def test_split_list() -> None:
    assert split_list(" a, b ,,c ") == ["a", "b", "c"] and split_list("") == []
