"""The benchmark's own PostgreSQL database: dropped and created fresh for each data set.

Nothing here touches another database: the name is fixed (BENCH_DB_NAME, default ikz_bench) and
only connections to that database are ended before it is dropped.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import psycopg

# The server and role; the database name is the benchmark's own.
SERVER_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
DB_NAME = os.environ.get("BENCH_DB_NAME", "ikz_bench")


def url(name: str = DB_NAME) -> str:
    parts = urlsplit(SERVER_URL)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


def recreate(name: str = DB_NAME) -> None:
    """Drop and create the benchmark database (the maintenance database `postgres` runs the DDL)."""
    with psycopg.connect(url("postgres"), autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def server_version() -> str:
    with psycopg.connect(url("postgres"), autocommit=True) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]
