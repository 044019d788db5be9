"""Create the database if it is missing, then run every service's migrations.

Usage: python scripts/migrate.py   (reads DATABASE_URL, default: the development database)
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from shared.migrations import upgrade
from shared.settings import DEV_DATABASE_URL, REPO_ROOT

# In dependency order; each service owns its schema and its migration history.
MIGRATIONS = [
    REPO_ROOT / "services" / "gateway" / "migrations",
    REPO_ROOT / "services" / "todos" / "migrations",
    REPO_ROOT / "services" / "chat" / "migrations",
    REPO_ROOT / "services" / "contexts" / "migrations",
]


async def ensure_database(url: str) -> None:
    target = make_url(url)
    admin = target.set(drivername="postgresql", database="postgres")
    conn = await asyncpg.connect(admin.render_as_string(hide_password=False))
    try:
        exists = await conn.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", target.database
        )
        if not exists:
            await conn.execute(f'CREATE DATABASE "{target.database}"')
            print(f"created database {target.database}")
    finally:
        await conn.close()


def migrate(url: str) -> None:
    asyncio.run(ensure_database(url))
    for folder in MIGRATIONS:
        if Path(folder).is_dir():
            upgrade(folder, url)
            print(f"migrated {folder.parent.name}")


if __name__ == "__main__":
    migrate(os.environ.get("DATABASE_URL", DEV_DATABASE_URL))
    sys.exit(0)
