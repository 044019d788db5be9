"""scripts/migrate.py as the deployment runs it: migrate, --check and --wait, as processes.

Each test has a scratch database of its own (created empty, dropped afterwards).
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from shared.settings import REPO_ROOT
from tests.support.database import admin_execute, database_url, scratch_database
from tests.support.processes import free_port

SCHEMAS = ("auth", "todos", "chat", "contexts")


def migrate_command(*args: str) -> list[str]:
    return [sys.executable, "scripts/migrate.py", *args]


def script_env(url: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(REPO_ROOT), **extra}


async def run_migrate(url: str, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        migrate_command(*args),
        cwd=REPO_ROOT,
        env=script_env(url, **extra),
        capture_output=True,
        text=True,
        timeout=120,
    )


def unused_database_url() -> str:
    """A database on the test server that does not exist (and that nothing else will name)."""
    return database_url(f"test_migrate_{uuid.uuid4().hex[:12]}")


@pytest.fixture
async def empty_database() -> AsyncIterator[str]:
    async with scratch_database("test_migrate") as url:
        yield url


async def test_check_reports_an_empty_database_behind(empty_database: str) -> None:
    checked = await run_migrate(empty_database, "--check")
    assert checked.returncode == 3, checked.stdout + checked.stderr
    for schema in SCHEMAS:
        assert f"{schema}: none" in checked.stdout
    assert "behind" in checked.stdout


async def test_check_reports_a_missing_database_behind() -> None:
    checked = await run_migrate(unused_database_url(), "--check")
    assert checked.returncode == 3, checked.stdout + checked.stderr
    assert "does not exist" in checked.stdout


async def test_check_is_at_head_after_migrate(empty_database: str) -> None:
    migrated = await run_migrate(empty_database)
    assert migrated.returncode == 0, migrated.stderr
    checked = await run_migrate(empty_database, "--check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for schema in SCHEMAS:
        assert any(
            line.startswith(f"{schema}: ") and line.endswith("at head")
            for line in checked.stdout.splitlines()
        ), checked.stdout
    # Migrating again is a no-op that still succeeds (the database exists now).
    again = await run_migrate(empty_database)
    assert again.returncode == 0, again.stderr
    assert "created database" not in again.stdout


async def test_check_accepts_a_schema_migrated_by_a_later_release(empty_database: str) -> None:
    # A pod of the previous release restarting during a rolling update must not wait forever.
    assert (await run_migrate(empty_database)).returncode == 0
    await _execute_in(
        empty_database, "UPDATE todos.alembic_version SET version_num = 'from_next_release'"
    )
    checked = await run_migrate(empty_database, "--check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    newer = r"todos: from_next_release \(head \d{4}\) newer than this release"
    assert re.search(newer, checked.stdout), checked.stdout
    waited = await run_migrate(empty_database, "--wait", MIGRATIONS_WAIT_SECONDS="5")
    assert waited.returncode == 0, waited.stdout + waited.stderr


async def test_migrate_creates_a_missing_database() -> None:
    url = unused_database_url()
    name = make_url(url).database
    try:
        migrated = await run_migrate(url)
        assert migrated.returncode == 0, migrated.stderr
        assert f"created database {name}" in migrated.stdout
        checked = await run_migrate(url, "--check")
        assert checked.returncode == 0, checked.stdout + checked.stderr
    finally:
        await admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_migrate_needs_no_createdb_when_the_database_exists() -> None:
    # Managed PostgreSQL: the role owns its database but may not create databases.
    role = f"test_migrate_{uuid.uuid4().hex[:8]}"
    owned = make_url(unused_database_url())
    await admin_execute(f'CREATE ROLE "{role}" LOGIN NOCREATEDB')
    try:
        await admin_execute(f'CREATE DATABASE "{owned.database}" OWNER "{role}"')
        as_role = owned.set(username=role, password=None)
        migrated = await run_migrate(as_role.render_as_string(hide_password=False))
        assert migrated.returncode == 0, migrated.stderr
        assert "created database" not in migrated.stdout
        # Without the database and without CREATEDB the answer is a plain sentence.
        missing = as_role.set(database=f"{owned.database}_missing")
        refused = await run_migrate(missing.render_as_string(hide_password=False))
        assert refused.returncode == 1
        assert "cannot be created" in refused.stderr
        assert "Traceback" not in refused.stderr
    finally:
        await admin_execute(f'DROP DATABASE IF EXISTS "{owned.database}" WITH (FORCE)')
        await admin_execute(f'DROP ROLE IF EXISTS "{role}"')


async def test_wait_returns_once_a_concurrent_migrate_finishes(empty_database: str) -> None:
    waiter = subprocess.Popen(
        migrate_command("--wait"),
        cwd=REPO_ROOT,
        env=script_env(empty_database, MIGRATIONS_WAIT_SECONDS="120"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        await asyncio.sleep(3)  # more than one poll: it is waiting, not done
        assert waiter.poll() is None, waiter.communicate()
        migrated = await run_migrate(empty_database)
        assert migrated.returncode == 0, migrated.stderr
        finished_at = time.monotonic()
        out, err = await asyncio.to_thread(waiter.communicate, timeout=60)
        assert waiter.returncode == 0, out + err
        assert time.monotonic() - finished_at < 10  # within a few polls of the migration
        assert "waiting for migrations" in out
        assert "every schema is at head" in out
    finally:
        if waiter.poll() is None:
            waiter.kill()
            waiter.wait()


async def test_wait_gives_up_on_an_unreachable_database() -> None:
    unreachable = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/todo_platform"
    started = time.monotonic()
    waited = await run_migrate(unreachable, "--wait", MIGRATIONS_WAIT_SECONDS="3")
    elapsed = time.monotonic() - started
    assert waited.returncode == 1, waited.stdout + waited.stderr
    assert "database not ready" in waited.stdout
    assert "did not reach head within 3s" in waited.stderr
    assert 3 <= elapsed < 30


async def _execute_in(url: str, sql: str) -> None:
    conn = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()
