"""What the tests share: a live server on a real socket and fresh logins on it, real databases,
``optiply`` commands run and read, and ``optiply serve`` as a process (used by conftest.py and
tests)."""

from __future__ import annotations

import json
import logging
import os
import queue
import socket
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import httpx
import uvicorn
from sqlalchemy import Engine, create_engine, update

import web
from optiply.client import OptiplyAuth, OptiplyClient
from optiply.server.app import create_app
from optiply.server.auth import admin
from optiply.server.auth.tokens import AuthError, authenticate, digest
from optiply.server.settings import Settings
from optiply.server.storage.engine import make_engine
from optiply.server.storage.migrate import alembic_config
from optiply.server.storage.tables import oauth_tokens

if TYPE_CHECKING:
    from alembic.config import Config

JSONAPI = "application/vnd.api+json"
POSTGRES_URL = os.environ.get("OPTIPLY_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", *(["postgresql"] if POSTGRES_URL else [])]
REPO = Path(__file__).resolve().parent.parent
OPTIPLY = [sys.executable, "-m", "optiply.cli.main"]
"""The ``optiply`` command of the interpreter running the tests."""
_SERVER_SETTINGS = (
    "OPTIPLY_DATABASE_URL",
    "OPTIPLY_ACCESS_LOG",
    "OPTIPLY_PUBLIC_URL",
    "OPTIPLY_JOURNAL",
    "OPTIPLY_JOURNAL_SIZE",
    "OPTIPLY_EXTENSIONS",
    "OPTIPLY_IDEMPOTENCY_TTL",
)


def fresh_postgres_database(base_url: str) -> tuple[str, Engine]:
    """Create an empty database on the server of ``base_url``; returns its URL."""
    name = f"optiply_t_{uuid.uuid4().hex[:12]}"
    admin_engine = create_engine(
        make_engine(base_url).url.set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin_engine.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin_engine.dispose()
    url = make_engine(base_url).url.set(database=name).render_as_string(hide_password=False)
    return url, admin_engine


def drop_postgres_database(url: str, admin_engine: Engine) -> None:
    name = make_engine(url).url.database
    with admin_engine.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin_engine.dispose()


def migrate(engine: Engine, step: Callable[[Config, str], object], revision: str) -> None:
    """Alembic's ``step`` (``command.upgrade`` or ``command.downgrade``) to ``revision``."""
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        step(config, revision)


@contextmanager
def empty_database(backend: str, directory: Path) -> Iterator[str]:
    """The URL of an empty database (not migrated) of ``backend`` for the block.

    "sqlite": a file in ``directory``; "postgresql": a new database on the server of
    ``OPTIPLY_TEST_POSTGRES_URL``, dropped when the block ends.
    """
    if backend == "sqlite":
        yield tmp_sqlite_url(directory)
        return
    assert POSTGRES_URL
    url, admin_engine = fresh_postgres_database(POSTGRES_URL)
    try:
        yield url
    finally:
        drop_postgres_database(url, admin_engine)


class LiveServer:
    """uvicorn serving ``create_app(settings)`` in a thread, on a free port of 127.0.0.1."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self.engine: Engine = self.app.state.engine
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def start(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._sock.close()


@dataclass
class Login:
    """A fresh account with a user and an OAuth client on a live server, plus an API client."""

    server: LiveServer
    account_id: int
    username: str
    password: str
    client_id: str
    client_secret: str
    access_token: str = ""
    refresh_token: str = ""
    extra_account_ids: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    def token(self, **params: str) -> httpx.Response:
        """POST the password grant (or ``params``) to the token endpoint."""
        data = params or {
            "grant_type": "password",
            "username": self.username,
            "password": self.password,
        }
        return web.post(
            f"{self.url}/api/auth/oauth/token",
            data=data,
            auth=(self.client_id, self.client_secret),
        )

    def optiply_auth(self, **options: Any) -> OptiplyAuth:
        """The client library's OAuth flow (password grant) for this login."""
        return OptiplyAuth(
            client_id=self.client_id,
            client_secret=self.client_secret,
            username=self.username,
            password=self.password,
            dashboard_url=f"{self.url}/api",
            **options,
        )

    def optiply_client(self, **options: Any) -> OptiplyClient:
        """An ``optiply.client.OptiplyClient`` for this login's account."""
        return OptiplyClient(
            f"{self.url}/v1", auth=self.optiply_auth(), account_id=self.account_id, **options
        )

    def add_fault(self, **rule: Any) -> dict[str, Any]:
        """POST a fault rule (docs/sandbox.md) to the account's sandbox; the rule as stored."""
        response = web.post(
            f"{self.url}/sandbox/faults",
            json=rule,
            headers={"Authorization": f"Bearer {self.access_token}"},
        )
        assert response.status_code == 201, response.text
        fault: dict[str, Any] = response.json()["fault"]
        return fault

    def journal(self, **params: Any) -> list[dict[str, Any]]:
        """The request journal's rows that ``params`` select, as ``GET /sandbox/requests``
        lists them once the server wrote down every request it holds."""
        rows: list[dict[str, Any]] = self._journal("", params)["requests"]
        return rows

    def journal_count(self, **params: Any) -> int:
        """How many rows of the request journal ``params`` select (``/sandbox/requests/count``)."""
        count: int = self._journal("/count", params)["count"]
        return count

    def _journal(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        assert self.server.app.state.journal.flush()
        response = web.get(
            f"{self.url}/sandbox/requests{path}",
            params=params,
            headers={"Authorization": f"Bearer {self.access_token}"},
        )
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def client(
        self, token: str | None = None, *, url: str | None = None, **options: Any
    ) -> httpx.Client:
        """An httpx client for /v1 carrying the bearer token and the JSON:API media type.

        ``url``: another server's, on the same database (default: the login's server);
        ``options`` go to ``httpx.Client``.
        """
        return web.Client(
            base_url=f"{url or self.url}/v1",
            headers={
                "Authorization": f"Bearer {token or self.access_token}",
                "Content-Type": JSONAPI,
                "Accept": JSONAPI,
            },
            **options,
        )


def make_login(
    server: LiveServer, *, accounts: int = 1, scopes: tuple[str, ...] = ("read", "write", "delete")
) -> Login:
    """Create ``accounts`` accounts, a user reaching all of them and a client; fetch a token."""
    tag = uuid.uuid4().hex[:10]
    account_ids = [
        admin.create_account(server.engine, name=f"Shop {tag}-{i}").id for i in range(accounts)
    ]
    password = f"pw-{tag}"
    admin.create_user(
        server.engine,
        username=f"user-{tag}",
        password=password,
        account_ids=account_ids,
        scopes=scopes,
    )
    client = admin.create_client(server.engine, name=f"client-{tag}")
    login = Login(
        server=server,
        account_id=account_ids[0],
        username=f"user-{tag}",
        password=password,
        client_id=client.client_id,
        client_secret=client.client_secret,
        extra_account_ids=account_ids[1:],
    )
    response = login.token()
    assert response.status_code == 200, response.text
    login.access_token = response.json()["access_token"]
    login.refresh_token = response.json()["refresh_token"]
    return login


def expire_access_token(engine: Engine, token: str) -> None:
    """Make an access token expired, as if its lifetime had passed (its grant stays live)."""
    with engine.begin() as connection:
        connection.execute(
            update(oauth_tokens)
            .where(oauth_tokens.c.token_hash == digest(token))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )


def token_works(engine: Engine, token: str) -> bool:
    """Whether ``token`` authenticates now, as an access token of a request would."""
    with engine.connect() as connection:
        try:
            authenticate(connection, f"Bearer {token}", now=datetime.now(UTC))
        except AuthError:
            return False
    return True


def tmp_sqlite_url(directory: Path) -> str:
    """A SQLite URL in ``directory``."""
    return f"sqlite:///{directory / 'optiply.db'}"


def process_env(**extra: str) -> dict[str, str]:
    """The test's environment without the server settings a command would pick up, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in _SERVER_SETTINGS}
    return {**env, **extra}


def run_cli(
    args: Sequence[str], *, env: Mapping[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``optiply ARGS`` run in this process by Typer's test runner, as a finished process.

    The command's own code on the real database, without an interpreter start and its imports
    (0.5-1 s a command, most of the CLI tests' time). ``env`` is the whole environment the
    command sees (default: ``process_env()``). An exception other than an exit shows on stderr
    as the traceback the real command would print. The real entry point keeps tests of its own
    (tests/cli/test_cli.py, tests/test_packaging.py): what this skips is only the process.
    """
    from typer.testing import CliRunner

    from optiply.cli.main import app

    wanted = process_env() if env is None else dict(env)
    overlay: dict[str, str | None] = {key: None for key in os.environ if key not in wanted}
    overlay.update(wanted)
    result = CliRunner().invoke(app, list(args), input=stdin, env=overlay)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return subprocess.CompletedProcess([*OPTIPLY, *args], result.exit_code, result.stdout, stderr)


def run_singer_command(
    plugin: Any, args: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """A Singer SDK plugin's command (``plugin.cli``: what ``python -m tap_optiply`` and
    ``python -m target_optiply`` run) in this process, as a finished process: its stdout,
    stderr and environment swapped by Click's test runner, in ``cwd``. No interpreter start
    and imports (about half a second of CPU a run, hundreds of runs in the suite); input goes
    by ``--input`` (the SDK's reader holds the ``sys.stdin`` of its import). The executables
    keep tests of their own. An exception shows on stderr as the real command's traceback,
    with exit status 1; the root logger's handlers the SDK adds per run are removed after.
    """
    from click.testing import CliRunner

    root = logging.getLogger()
    handlers, level, here = root.handlers[:], root.level, Path.cwd()
    code: int | str | None = 0
    with CliRunner().isolation(env=dict(env or {})) as (stdout, stderr, *_):
        os.chdir(cwd)
        try:
            command = plugin.cli  # the SDK sets up its logging (to this stderr) here
            command.main(list(args))
        except SystemExit as exit:
            code = exit.code
        except Exception:  # as the real command would end
            sys.stderr.write(traceback.format_exc())
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.chdir(here)
            root.handlers[:], root.level = handlers, level
        out, err = stdout.getvalue().decode(), stderr.getvalue().decode()
    status = code if isinstance(code, int) else 1
    return subprocess.CompletedProcess([plugin.name, *args], status, out, err)


def run_target_command(
    directory: Path, config: Mapping[str, Any], messages: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``target-optiply``'s command (``run_singer_command``) on Singer ``messages`` (text),
    its config and input written to files in ``directory``."""
    from target_optiply.target import TargetOptiply

    config_path, input_path = directory / "config.json", directory / "input.jsonl"
    config_path.write_text(json.dumps(config))
    input_path.write_text(messages)
    args = ["--config", str(config_path), "--input", str(input_path)]
    return run_singer_command(TargetOptiply, args, cwd=directory, env=env)


def last_json(result: subprocess.CompletedProcess[str]) -> Any:
    """What a command printed with ``--json``: the JSON of its last line, once it exited 0."""
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def cli_json(database_url: str, *args: str, env: Mapping[str, str] | None = None) -> Any:
    """``optiply ARGS --json --database-url DATABASE_URL`` run by ``run_cli``; its JSON line."""
    return last_json(run_cli([*args, "--json", "--database-url", database_url], env=env))


def assert_one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    """The command failed with one line on stderr (no traceback) holding every one of ``words``."""
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0]


def bad_input_misses(
    cases: Mapping[str, tuple[Sequence[str], Sequence[str]]],
    *,
    database_url: str,
    fill: Callable[[str], str],
) -> dict[str, Any]:
    """The cases of bad input that ``optiply`` did not refuse as it should (empty: none).

    Each case is ``name: (arguments, words)``; ``fill`` turns each argument into the word run
    (placeholders into ids and paths), and ``--database-url URL`` is added. Refused means: exit
    status 1 by a clean exit (not a crash), nothing on stdout and one line on stderr that starts
    with "error: " and holds every one of ``words``. The commands run in this process by Typer's
    test runner: the error is decided inside the command, and an interpreter per case would cost
    a second each. A miss maps to its exit status, stdout, stderr and exception.
    """
    from typer.testing import CliRunner

    from optiply.cli.main import app

    runner = CliRunner()
    misses: dict[str, Any] = {}
    for name, (arguments, words) in cases.items():
        command = [fill(word) for word in arguments]
        result = runner.invoke(app, [*command, "--database-url", database_url])
        lines = result.stderr.strip().splitlines()
        if (
            result.exit_code != 1
            or not isinstance(result.exception, SystemExit)  # not a crash
            or result.stdout
            or len(lines) != 1
            or not lines[0].startswith("error: ")
            or not all(word in lines[0] for word in words)
        ):
            misses[name] = (result.exit_code, result.stdout, result.stderr, result.exception)
    return misses


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServeProcess:
    """A server command as a subprocess: stdout lines arrive on a queue, stderr goes to a file.

    ``url`` is where it serves, when the caller says (``serving`` does).
    """

    def __init__(
        self,
        command: list[str],
        *,
        log: Path,
        env: dict[str, str] | None = None,
        url: str = "",
    ) -> None:
        self.url = url
        self.log = log
        self._log = log.open("w")
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env=env if env is not None else process_env(),
        )
        self.lines: queue.Queue[str] = queue.Queue()
        assert self.process.stdout is not None
        threading.Thread(target=self._pump, args=(self.process.stdout,), daemon=True).start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line.rstrip("\n"))

    def read_until(self, marker: str, timeout: float = 60) -> list[str]:
        """Stdout lines up to and including the first that contains ``marker``."""
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while not seen or marker not in seen[-1]:
            remaining = deadline - time.monotonic()
            assert remaining > 0 and self.process.poll() is None, "\n".join(seen)
            try:
                seen.append(self.lines.get(timeout=min(remaining, 0.5)))
            except queue.Empty:
                continue
        return seen

    def wait_for_health(self, base_url: str | None = None, timeout: float = 30) -> None:
        """Until ``BASE_URL/health`` (default: the process's ``url``) answers 200."""
        base_url = base_url or self.url
        assert base_url, "where does it serve?"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "the server exited"
            try:
                if web.get(f"{base_url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError("the server did not come up")

    def stop(self) -> str:
        """Stop the server (SIGTERM, then SIGKILL after 15 s); returns what it wrote on stderr."""
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()
        return self.log.read_text()


def serving(
    command: Sequence[str], *args: str, log: Path, env: Mapping[str, str] | None = None
) -> ServeProcess:
    """``COMMAND --port P ARGS`` started on a free port P (not yet up: see ``wait_for_health``).

    Its ``url`` is ``http://127.0.0.1:P``; ``env`` is added to ``process_env()``.
    """
    port = free_port()
    return ServeProcess(
        [*command, "--port", str(port), *args],
        log=log,
        env=process_env(**(env or {})),
        url=f"http://127.0.0.1:{port}",
    )


@contextmanager
def serve_workers(
    database_url: str,
    *args: str,
    log: Path,
    env: Mapping[str, str] | None = None,
    workers: int = 2,
) -> Iterator[ServeProcess]:
    """``optiply serve --workers 2 --database-url URL ARGS`` on a free port, for the block.

    Up (its ``/health`` answers, within 30 s) when the block starts, stopped when it ends (see
    ``ServeProcess.stop``; stopping it in the block is fine too); what it wrote on stderr stays
    in ``log``. ``env`` is added to ``process_env()``. Several processes of one server answer,
    so races between them show, which one worker's event loop would hide.
    """
    process = serving(
        [*OPTIPLY, "serve"],
        *("--workers", str(workers), "--database-url", database_url, *args),
        log=log,
        env=env,
    )
    try:
        process.wait_for_health()
        yield process
    finally:
        process.stop()
