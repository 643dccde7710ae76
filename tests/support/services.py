"""Servers the image tests start themselves: a throwaway PostgreSQL 15 on loopback, free ports, HTTP waits."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")
AS_POSTGRES = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"]  # PostgreSQL refuses root


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_http(url: str, seconds: float) -> bytes:
    """The body of the first answer ``url`` gives within ``seconds``; the last error after that."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - a local test server
                return answer.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


def postgres_missing() -> str | None:
    """Why no throwaway PostgreSQL can be started here, or ``None``."""
    if not (PG_BIN / "initdb").exists():
        return f"PostgreSQL 15 is not installed at {PG_BIN} (apt-get install postgresql-15)"
    if shutil.which("setpriv") is None:
        return "setpriv (util-linux) is missing: PostgreSQL must run as its own user"
    return None


def create_database(server: str, name: str) -> str:
    """Create database ``name`` (letters, digits, ``_``) on a :func:`throwaway_postgres` server; its name."""
    import re

    name = re.sub(r"[^a-z0-9_]", "_", name.lower())
    port = server.rsplit(":", 1)[1]
    subprocess.run([*AS_POSTGRES, str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", port, "-U", "postgres",
                    "-c", f"CREATE DATABASE {name}"], check=True, capture_output=True, timeout=60)
    return name


@contextlib.contextmanager
def throwaway_postgres(*databases: str) -> Iterator[str]:
    """A PostgreSQL 15 cluster on 127.0.0.1 with ``databases``; yields ``postgresql+psycopg2://postgres@host:port``."""
    folder = Path(tempfile.mkdtemp(prefix="pg-test-", dir="/var/tmp"))
    shutil.chown(folder, "postgres")
    port = free_port()
    subprocess.run([*AS_POSTGRES, str(PG_BIN / "initdb"), "-D", f"{folder}/data", "--auth=trust", "-U", "postgres"],
                   check=True, capture_output=True, timeout=300)
    subprocess.run([*AS_POSTGRES, str(PG_BIN / "pg_ctl"), "-D", f"{folder}/data", "-l", f"{folder}/log", "-w",
                    "-o", f"-k {folder} -p {port} -h 127.0.0.1", "start"], check=True, capture_output=True, timeout=120)
    try:
        for name in databases:
            subprocess.run([*AS_POSTGRES, str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                            "-c", f"CREATE DATABASE {name}"], check=True, capture_output=True, timeout=60)
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run([*AS_POSTGRES, str(PG_BIN / "pg_ctl"), "-D", f"{folder}/data", "-m", "fast", "stop"],
                       capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)
