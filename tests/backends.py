"""Database backends for the test suite: SQLite files, and a throwaway PostgreSQL server.

The PostgreSQL server is made for one test session: Debian's binaries (installed with apt-get
when missing and we may; $PAPERFEED_TEST_PG_BIN names another directory of them), `initdb`
into a temporary directory, started on 127.0.0.1 with a free port and its unix socket in that
directory, stopped and deleted at the end. PostgreSQL refuses to run as root, so as root every
server command runs as the `postgres` system user.

Each test gets its own database: a copy of a migrated template, emptied and reused after the
test (much faster than copying or migrating again).
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import sqlalchemy as sa

BACKENDS = ("sqlite", "postgresql")
BACKENDS_ENV = "PAPERFEED_TEST_BACKENDS"
PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"
PG_BIN_ENV = "PAPERFEED_TEST_PG_BIN"  # use the binaries in this directory instead (no installing)
PG_SYSTEM_USER = "postgres"
TEMPLATE_DB = "paperfeed_template"
SERVER_DIR_PREFIX = "paperfeed-pg-"
OWNER_FILE = "owner.pid"  # the test process the server belongs to
INSTALL_COMMAND = "apt-get update && apt-get install -y postgresql"

# Durability is worthless for a server deleted after the run; these make it several times faster.
SERVER_OPTIONS = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
    "-c max_connections=300 -c shared_buffers=32MB"
)


class PostgresUnavailable(Exception):
    """PostgreSQL could not be found, installed or started; the message says what to do."""


def selected_backends(option: str | None) -> list[str]:
    """Backends to test, from --backend, else $PAPERFEED_TEST_BACKENDS, else all.

    Accepts "all", one backend, or a comma-separated list."""
    value = (option or os.environ.get(BACKENDS_ENV) or "all").strip().lower()
    if value == "all":
        return list(BACKENDS)
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in BACKENDS]
    if unknown or not names:
        raise ValueError(f"unknown backend {value!r}; use one of: all, {', '.join(BACKENDS)}")
    return [name for name in BACKENDS if name in names]


def _version_key(bin_dir: Path) -> tuple[int, ...]:
    version = bin_dir.parent.name
    return tuple(int(part) for part in version.split(".") if part.isdigit()) or (0,)


def find_bin_dir() -> Path | None:
    chosen = os.environ.get(PG_BIN_ENV)
    if chosen:
        return Path(chosen) if (Path(chosen) / "initdb").exists() else None
    candidates = [Path(p) for p in sorted(Path("/").glob(PG_BIN_GLOB.lstrip("/")))]
    candidates = [p for p in candidates if (p / "initdb").exists() and (p / "pg_ctl").exists()]
    return max(candidates, key=_version_key) if candidates else None


def _install_postgresql() -> None:
    """Debian's package, when we are root on Debian; anywhere else the user installs it."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise PostgresUnavailable(
            f"PostgreSQL binaries not found under {PG_BIN_GLOB}; install them ({INSTALL_COMMAND})"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Parallel test workers may race here; apt waits for the other's lock instead of failing.
    lock_wait = ["-o", "DPkg::Lock::Timeout=600"]
    for command in (
        ["apt-get", *lock_wait, "update"],
        ["apt-get", *lock_wait, "install", "-y", "--no-install-recommends", "postgresql"],
    ):
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
            raise PostgresUnavailable(f"`{' '.join(command)}` failed: {' / '.join(tail)}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PostgresServer:
    bin_dir: Path
    root: Path  # holds the data directory, the socket and the log; deleted on stop
    port: int
    run_as: str | None  # system user running the server commands; None: ourselves
    _admin: sa.Engine | None = None
    _counter: itertools.count = field(default_factory=lambda: itertools.count(1))
    _recycled: list[str] = field(default_factory=list)
    _template_schema: tuple[str | None, tuple[str, ...]] = (None, ())
    options: str = SERVER_OPTIONS  # postgres -c settings

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    @classmethod
    def start(cls, *, options: str = SERVER_OPTIONS) -> PostgresServer:
        """A new server; `options` replace the test suite's fast, non-durable settings."""
        bin_dir = find_bin_dir()
        if bin_dir is None and os.environ.get(PG_BIN_ENV):
            raise PostgresUnavailable(f"no initdb in ${PG_BIN_ENV} ({os.environ[PG_BIN_ENV]})")
        if bin_dir is None:
            _install_postgresql()
            bin_dir = find_bin_dir()
            if bin_dir is None:
                raise PostgresUnavailable(f"installed postgresql, but found no binaries under {PG_BIN_GLOB}")
        run_as = None
        root = Path(tempfile.mkdtemp(prefix=SERVER_DIR_PREFIX))
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam(PG_SYSTEM_USER)
            except KeyError:
                shutil.rmtree(root, ignore_errors=True)
                raise PostgresUnavailable(
                    f"PostgreSQL cannot run as root and there is no {PG_SYSTEM_USER!r} user "
                    f"(Debian's postgresql package creates it: {INSTALL_COMMAND})"
                ) from None
            os.chown(root, user.pw_uid, user.pw_gid)
            run_as = PG_SYSTEM_USER
        (root / OWNER_FILE).write_text(str(os.getpid()))
        server = cls(bin_dir=bin_dir, root=root, port=0, run_as=run_as, options=options)
        server._stop_abandoned_servers()
        try:
            server._initdb()
            server._start_on_free_port()
            server._make_template()
        except BaseException:
            server.stop()
            raise
        return server

    def _stop_abandoned_servers(self) -> None:
        """Servers of earlier sessions that were killed before they could clean up: their
        owner process is gone, so nothing else will ever stop them."""
        for root in Path(tempfile.gettempdir()).glob(f"{SERVER_DIR_PREFIX}*"):
            try:
                owner = int((root / OWNER_FILE).read_text())
            except (OSError, ValueError):
                continue  # not one of ours, or still being set up
            if root == self.root or psutil.pid_exists(owner):
                continue
            if (root / "data" / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(root / "data"), "-m", "immediate", "-w", "stop", timeout=60)
            shutil.rmtree(root, ignore_errors=True)

    def _run(self, program: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        command = [str(self.bin_dir / program), *args]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        try:
            return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=self.root)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PostgresUnavailable(f"{program} did not run: {exc}") from exc

    def _initdb(self) -> None:
        result = self._run(
            "initdb", "-D", str(self.data_dir), "-U", "postgres", "-A", "trust", "-E", "UTF8",
            "--locale=C", "--no-sync",
        )  # fmt: skip
        if result.returncode != 0:
            raise PostgresUnavailable(f"initdb failed: {_last_lines(result.stderr or result.stdout)}")

    def _start_on_free_port(self, attempts: int = 3) -> None:
        for _ in range(attempts):
            self.port = _free_port()
            options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} {self.options}"
            result = self._run(
                "pg_ctl",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                "60",
                "-o",
                options,
                "start",
            )
            if result.returncode == 0:
                return
            log = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
            if "could not bind" not in log and "already in use" not in log:
                break  # not a port race: retrying will not help
        raise PostgresUnavailable(f"PostgreSQL did not start: {_last_lines(log or result.stderr)}")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    @property
    def admin(self) -> sa.Engine:
        """Connection to the maintenance database, outside transactions (CREATE DATABASE needs that)."""
        if self._admin is None:
            self._admin = sa.create_engine(
                self.url("postgres"), isolation_level="AUTOCOMMIT", poolclass=sa.NullPool
            )
        return self._admin

    def _make_template(self) -> None:
        from paperfeed.store import Store

        self.create_database(TEMPLATE_DB, template="template0")
        Store.open(self.url(TEMPLATE_DB)).close()  # migrated once; tests copy it
        engine = sa.create_engine(self.url(TEMPLATE_DB), poolclass=sa.NullPool)
        with engine.connect() as conn:
            self._template_schema = self._schema_of(conn)
        engine.dispose()

    def create_database(self, name: str, *, template: str = TEMPLATE_DB) -> str:
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.url(name)

    def new_database(self, *, migrated: bool = True) -> str:
        """A fresh database's URL: migrated to head (a copy of the template) or empty."""
        if migrated and self._recycled:
            return self._recycled.pop()
        name = f"test_{os.getpid()}_{next(self._counter)}"
        return self.create_database(name, template=TEMPLATE_DB if migrated else "template0")

    def release(self, url: str) -> None:
        """Done with a database from `new_database(migrated=True)`: emptied for the next test,
        which is ten times faster than copying the template again; dropped if it was altered."""
        try:
            self._terminate_connections(url)
            engine = sa.create_engine(url, poolclass=sa.NullPool)
            try:
                with engine.begin() as conn:
                    if self._schema_of(conn) != self._template_schema:
                        raise ValueError("schema changed")
                    conn.exec_driver_sql("SET LOCAL session_replication_role = replica")  # no FK order needed
                    for table in self._template_schema[1]:
                        conn.exec_driver_sql(f'DELETE FROM "{table}"')
                    conn.exec_driver_sql("SELECT setval(oid, 1, false) FROM pg_class WHERE relkind = 'S'")
            finally:
                engine.dispose()
        except (sa.exc.SQLAlchemyError, ValueError):
            self.drop_database(url)
            return
        self._recycled.append(url)

    @staticmethod
    def _schema_of(conn: sa.Connection) -> tuple[str | None, tuple[str, ...]]:
        """The migration revision and the tables besides Alembic's: what must match the template."""
        tables = conn.execute(
            sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        ).scalars()
        tables = tuple(t for t in tables if t != "alembic_version")
        revision = conn.execute(sa.text("SELECT string_agg(version_num, ',') FROM alembic_version")).scalar()
        return revision, tables

    def _terminate_connections(self, url: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": sa.engine.make_url(url).database},
            )

    def drop_database(self, url: str) -> None:
        name = sa.engine.make_url(url).database
        with self.admin.connect() as conn:
            # FORCE: a test may leave pooled connections behind; they must not keep the database.
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        if self._admin is not None:
            self._admin.dispose()
        if (self.data_dir / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop", timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)


def _last_lines(text: str | None, count: int = 3) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return " / ".join(lines[-count:]) or "(no output)"
