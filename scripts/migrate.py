"""Migrate every service's schema, or check or wait until they are migrated.

Usage (reads DATABASE_URL, default: the development database):
  python scripts/migrate.py           create the database if it is missing, then upgrade
                                      every schema to its head revision
  python scripts/migrate.py --check   exit 0 when every schema is at the head revision of
                                      this checkout, 3 when one is behind
  python scripts/migrate.py --wait    block until every schema is at head (the database
                                      may be unreachable meanwhile); exit 1 after
                                      MIGRATIONS_WAIT_SECONDS (default 300)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, make_url

from shared.migrations import alembic_config, upgrade
from shared.settings import DEV_DATABASE_URL, REPO_ROOT

# In dependency order: (schema, migration folder). Each service owns its schema, its
# migration history and the version table inside that schema.
MIGRATIONS = [
    ("auth", REPO_ROOT / "services" / "gateway" / "migrations"),
    ("todos", REPO_ROOT / "services" / "todos" / "migrations"),
    ("chat", REPO_ROOT / "services" / "chat" / "migrations"),
    ("contexts", REPO_ROOT / "services" / "contexts" / "migrations"),
]
VERSION_TABLE = "alembic_version"
# What "the database is not (yet) there" looks like: refused or timed-out connections,
# a missing database or role, a server still starting up, a connection dropped mid-read.
NOT_READY = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)
EXIT_BEHIND = 3
POLL_SECONDS = 2.0
CONNECT_TIMEOUT_SECONDS = 5.0


def asyncpg_dsn(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def ensure_database(url: str) -> None:
    """Create the target database unless it exists.

    The target is tried first: on managed PostgreSQL the role usually owns its database but
    may neither connect to ``postgres`` nor hold CREATEDB, and then there is nothing to do.
    """
    target = make_url(url)
    try:
        conn = await asyncpg.connect(asyncpg_dsn(target), timeout=CONNECT_TIMEOUT_SECONDS)
    except asyncpg.InvalidCatalogNameError:
        pass  # missing: create it below
    else:
        await conn.close()
        return
    try:
        admin = await asyncpg.connect(
            asyncpg_dsn(target.set(database="postgres")), timeout=CONNECT_TIMEOUT_SECONDS
        )
        try:
            await admin.execute(f'CREATE DATABASE "{target.database}"')
            print(f"created database {target.database}")
        except asyncpg.DuplicateDatabaseError:
            pass  # another migrate run created it meanwhile
        finally:
            await admin.close()
    except asyncpg.PostgresError as exc:
        raise SystemExit(
            f"database {target.database} does not exist and cannot be created "
            f"({describe_error(exc)}); create it, or grant this role CREATEDB"
        ) from exc


def migrate(url: str) -> None:
    asyncio.run(ensure_database(url))
    for _schema, folder in MIGRATIONS:
        if Path(folder).is_dir():
            upgrade(folder, url)
            print(f"migrated {folder.parent.name}")


@dataclass(frozen=True)
class SchemaState:
    schema: str
    current: frozenset[str]
    heads: frozenset[str]
    known: frozenset[str]  # every revision of this release's migration folder

    @property
    def newer(self) -> bool:
        """Migrated by a later release (a revision this one does not ship): not behind.

        Pods of the previous release keep (re)starting during a rolling update, and their
        code is written to run against the next schema (expand, then contract).
        """
        return bool(self.current - self.known)

    @property
    def at_head(self) -> bool:
        return self.current == self.heads or self.newer

    def describe(self) -> str:
        current = ", ".join(sorted(self.current)) or "none"
        heads = ", ".join(sorted(self.heads))
        if self.newer:
            verdict = "newer than this release"
        else:
            verdict = "at head" if self.at_head else "behind"
        return f"{self.schema}: {current} (head {heads}) {verdict}"


def release_state(schema: str, folder: Path, url: str, current: frozenset[str]) -> SchemaState:
    """Compare ``current`` with the revisions of ``folder``: what this checkout (or image) ships."""
    script = ScriptDirectory.from_config(alembic_config(folder, url))
    known = frozenset(revision.revision for revision in script.walk_revisions())
    return SchemaState(schema, current, frozenset(script.get_heads()), known)


async def applied_revisions(conn: asyncpg.Connection, schema: str) -> frozenset[str]:
    exists = await conn.fetchval(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2",
        schema,
        VERSION_TABLE,
    )
    if not exists:
        return frozenset()
    rows = await conn.fetch(f'SELECT version_num FROM "{schema}"."{VERSION_TABLE}"')
    return frozenset(row["version_num"] for row in rows)


async def schema_states(
    url: str, connect_timeout: float = CONNECT_TIMEOUT_SECONDS
) -> list[SchemaState]:
    """Every schema's applied and head revisions; raises when the database is unreachable."""
    conn = await asyncpg.connect(asyncpg_dsn(make_url(url)), timeout=connect_timeout)
    try:
        return [
            release_state(schema, folder, url, await applied_revisions(conn, schema))
            for schema, folder in MIGRATIONS
            if folder.is_dir()
        ]
    finally:
        await conn.close()


def check(url: str) -> int:
    try:
        states = asyncio.run(schema_states(url))
    except asyncpg.InvalidCatalogNameError:
        print(f"database {make_url(url).database} does not exist: every schema is behind")
        return EXIT_BEHIND
    except NOT_READY as exc:
        print(f"cannot read the migration state: {describe_error(exc)}", file=sys.stderr)
        return 1
    for state in states:
        print(state.describe())
    return 0 if all(state.at_head for state in states) else EXIT_BEHIND


def wait(url: str, limit_seconds: float) -> int:
    """Poll until every schema is at head; 1 when ``limit_seconds`` pass first."""
    deadline = time.monotonic() + limit_seconds
    last_report = ""
    while True:
        remaining = deadline - time.monotonic()
        try:
            states = asyncio.run(
                schema_states(
                    url, connect_timeout=max(0.5, min(CONNECT_TIMEOUT_SECONDS, remaining))
                )
            )
            report = "; ".join(state.describe() for state in states if not state.at_head)
            if not report:
                print("every schema is at head")
                return 0
        except NOT_READY as exc:
            # Unreachable, missing or still being created: the migrate job may not have run yet.
            report = f"database not ready: {describe_error(exc)}"
        if report != last_report:  # one line per change, not one per poll
            print(f"waiting for migrations: {report}", flush=True)
            last_report = report
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            print(
                f"migrations did not reach head within {limit_seconds:g}s ({report}); "
                "is the migrate job running and succeeding?",
                file=sys.stderr,
            )
            return 1
        time.sleep(min(POLL_SECONDS, remaining))


def describe_error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def wait_limit_seconds() -> float:
    raw = os.environ.get("MIGRATIONS_WAIT_SECONDS", "300")
    try:
        return float(raw)
    except ValueError:
        sys.exit(f"MIGRATIONS_WAIT_SECONDS must be a number of seconds, not {raw!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--check", action="store_true", help="exit 0 when every schema is at head, 3 when behind"
    )
    mode.add_argument("--wait", action="store_true", help="block until every schema is at head")
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL", DEV_DATABASE_URL)
    if args.check:
        return check(url)
    if args.wait:
        return wait(url, wait_limit_seconds())
    migrate(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
