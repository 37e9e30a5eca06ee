"""``optiply demo ...``: a login to try the API with, and demo shops to try it on."""

from __future__ import annotations

import gc
import re
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from optiply.cli.common import DEFAULT_DATABASE_URL, DatabaseUrl, JsonOutput, database, fail, report
from optiply.server import demo
from optiply.server.auth.demo import DEMO_USERNAME, DemoLogin, reset_demo
from optiply.server.auth.principal import TOKEN_PATH
from optiply.server.settings import Settings

DEFAULT_BASE_URL = "http://127.0.0.1:8000"

demo_app = typer.Typer(
    help="A demo login to try the API with, and demo shops to try it on.", no_args_is_help=True
)

BaseUrl = Annotated[
    str,
    typer.Option(
        "--base-url",
        envvar="OPTIPLY_PUBLIC_URL",
        show_envvar=True,
        help="Where the server is reached, for the printed URLs and curl commands.",
    ),
]


@demo_app.command("login")
def demo_login(
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
    base_url: BaseUrl = DEFAULT_BASE_URL,
    as_json: JsonOutput = False,
) -> None:
    """Print a working demo login: a new password and client secret, a token, curl commands.

    Passwords and secrets are stored hashed, so the demo user's password and the demo client's
    secret are replaced (the old ones stop working; the client id stays). The demo account,
    user and client are created when missing. The server need not be running.
    """
    try:
        settings = Settings(database_url=database_url)
    except ValidationError as error:
        fail(f"settings: {error.errors()[0]['loc'][0]}: {error.errors()[0]['msg']}")
    with database(database_url) as engine:
        session = reset_demo(
            engine, access_ttl=settings.access_token_ttl, refresh_ttl=settings.refresh_token_ttl
        )
    demo, issued = session.login, session.tokens
    base_url = base_url.rstrip("/")
    if session.created:
        *first, last = session.created
        made = f"{', '.join(first)} and {last}" if first else last
        headline = f"Created the demo {made}. The demo login:"
    else:
        headline = "The demo login, with a new password and client secret (the old ones are void):"
    report(
        as_json,
        {
            "username": demo.username,
            "password": demo.password,
            "client_id": demo.client.client_id,
            "client_secret": demo.client.client_secret,
            "access_token": issued.access_token,
            "refresh_token": issued.refresh_token,
            "expires_in": issued.expires_in,
            "scope": issued.scope,
            "account_id": demo.account.id,
            "account_name": demo.account.name,
            "created": list(session.created),
            "api_url": f"{base_url}/v1",
            "token_url": f"{base_url}{TOKEN_PATH}",
        },
        *demo_instructions(demo, base_url, headline=headline, access_token=issued.access_token),
    )


def demo_instructions(
    demo: DemoLogin, base_url: str, *, headline: str, access_token: str | None = None
) -> list[str]:
    """Credentials and two ready-to-paste curl commands: fetch a token, list the products.

    With ``access_token`` the second command carries it; else a placeholder to replace.
    """
    token = shlex.join(
        [
            "curl",
            "-s",
            "-u",
            f"{demo.client.client_id}:{demo.client.client_secret}",
            "-d",
            "grant_type=password",
            "-d",
            f"username={demo.username}",
            "-d",
            f"password={demo.password}",
            f"{base_url}{TOKEN_PATH}",
        ]
    )
    products = shlex.join(
        [
            "curl",
            "-s",
            "-H",
            f"Authorization: Bearer {access_token or 'ACCESS_TOKEN'}",
            "-H",
            "Accept: application/vnd.api+json",
            f"{base_url}/v1/products",
        ]
    )
    lines = [
        headline,
        f"  account:       {demo.account.name} (id {demo.account.id})",
        f"  username:      {demo.username}",
        f"  password:      {demo.password}",
        f"  client_id:     {demo.client.client_id}",
        f"  client_secret: {demo.client.client_secret}",
    ]
    if access_token is not None:
        lines.append(f"  access_token:  {access_token}")
    lines += ["Fetch a token:", f"  {token}"]
    if access_token is not None:
        lines.append("List the products with the access token above:")
    else:
        lines.append("Then list the products, with the token's access_token for ACCESS_TOKEN:")
    lines.append(f"  {products}")
    return lines


def login_hints(database_url: str) -> list[str]:
    """What ``serve --bootstrap`` prints when the database has users: commands to get a login."""
    command = optiply_command()
    url, password_hidden = shell_database_url(database_url)
    where = f"--database-url {shlex.quote(url)}"
    lines = [
        "The database has users already: no demo login created. To get a login, run",
        f"  {command} demo login {where}",
        f"  (a new password and client secret for the demo user {DEMO_USERNAME!r}, and a token)",
        "or create your own account, user and client:",
        f"  {command} accounts create --name 'My shop' {where}",
        f"  {command} users create --username alice --password 'CHOOSE-A-PASSWORD' "
        f"--account ACCOUNT_ID {where}",
        f"  {command} clients create --name my-etl {where}",
    ]
    if password_hidden:
        lines.append("  (*** stands for the database password)")
    return lines


def optiply_command() -> str:
    """How to run this ``optiply`` from a shell: ``scripts/optiply`` in a checkout's .venv."""
    prefix = Path(sys.prefix)
    wrapper = prefix.parent / "scripts" / "optiply"
    if prefix.name != ".venv" or not wrapper.is_file():
        return "optiply"
    try:
        return shlex.quote(str(wrapper.relative_to(Path.cwd())))
    except ValueError:
        return shlex.quote(str(wrapper))


def shell_database_url(url: str) -> tuple[str, bool]:
    """``url`` to show in a command: a relative SQLite path made absolute, a password as ``***``.

    Returns the URL and whether a password was hidden.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        return url, False
    changed = False
    database = parsed.database
    if parsed.get_backend_name() == "sqlite" and database and database != ":memory:":
        if not database.startswith("file:") and not Path(database).is_absolute():
            parsed = parsed.set(database=str(Path(database).resolve()))
            changed = True
    if parsed.password is not None:
        return parsed.render_as_string(hide_password=True), True
    return (parsed.render_as_string(hide_password=False) if changed else url), False


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SHOPS = ", ".join(f"{shop.name} ({shop.description})" for shop in demo.SHOPS.values())


@demo_app.command("load")
def demo_load(
    account: Annotated[
        int, typer.Option("--account", help="The account to fill; it must hold no demo data.")
    ],
    shop: Annotated[str, typer.Option("--shop", help=f"The shop: {_SHOPS}.")],
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same shop.")] = 0,
    until: Annotated[
        str | None,
        typer.Option("--until", help="The last day of sales, YYYY-MM-DD (default: today, UTC)."),
    ] = None,
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
    as_json: JsonOutput = False,
) -> None:
    """Load a demo shop into an account: products, suppliers, supplierProducts, compositions,
    promotions and the history of sell orders, buy orders and receipts up to --until.

    The rows are what the API would hold had the shop's importer POSTed them, with
    createdFromPublicApi false and remote ids under the coupling "demo"; `optiply accounts
    reset ID --coupling demo` removes them again. One transaction: all or nothing. Progress
    bars on a terminal; quiet with --json or when stdout is not a terminal.
    """
    try:
        demo.shop_named(shop)
        last_day = _day(until)
        console = Console()
        with (
            database(database_url) as engine,
            _bars(console, not as_json) as progress,
            _without_cycle_collection(),
        ):
            loaded = demo.load(
                engine, account_id=account, shop=shop, seed=seed, until=last_day, progress=progress
            )
    except demo.DemoError as error:
        fail(str(error))
    rows = sum(loaded.counts.values())
    width = max(len(name) for name in loaded.counts)
    report(
        as_json,
        {
            "account": loaded.account_id,
            "shop": loaded.shop,
            "seed": loaded.seed,
            "until": loaded.until.isoformat(),
            "counts": loaded.counts,
            "rows": rows,
            "seconds": round(loaded.seconds, 3),
        },
        f"Loaded the {loaded.shop} shop into account {loaded.account_id} (seed {loaded.seed}, "
        f"sales up to {loaded.until}): {rows:,} rows in {loaded.seconds:.1f} s.",
        *(f"  {name:<{width}}  {count:>11,}" for name, count in loaded.counts.items()),
        f"Remove it with: {optiply_command()} accounts reset {loaded.account_id} "
        f"--coupling {demo.DEMO_COUPLING}",
    )


def _day(text: str | None) -> date | None:
    """``--until`` as a date (None: today)."""
    if text is None:
        return None
    try:
        if not _DATE.fullmatch(text.strip()):
            raise ValueError(text)
        return date.fromisoformat(text.strip())
    except ValueError:
        raise demo.DemoError(f"--until {text!r} is not a date (YYYY-MM-DD)") from None


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """The cyclic garbage collector off for the block (this process does nothing else).

    A load makes millions of short-lived dicts and lists, none in a reference cycle (reference
    counting frees them), while the catalogue it keeps grows: the collector's passes over it
    took about 30% of the generating thread's time (medium shop, measured).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Rate(ProgressColumn):
    """Rows a second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:>9,.0f}/s" if speed else " " * 11, style="progress.data.speed")


class _Bars:
    """``demo.Progress`` as Rich progress bars: one per task (the history, each resource)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def start(self, task: str, total: int) -> None:
        label = "simulating days" if task == "history" else task
        self.tasks[task] = self.progress.add_task(label, total=total)

    def advance(self, task: str, amount: int) -> None:
        self.progress.advance(self.tasks[task], amount)


class _Quiet:
    def start(self, task: str, total: int) -> None:
        pass

    def advance(self, task: str, amount: int) -> None:
        pass


@contextmanager
def _bars(console: Console, wanted: bool) -> Iterator[demo.Progress]:
    """Progress bars on a terminal when ``wanted``; nothing otherwise."""
    if not wanted or not console.is_terminal:
        yield _Quiet()
        return
    columns = (
        TextColumn("{task.description:<20}"),
        BarColumn(),
        MofNCompleteColumn(),
        _Rate(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as progress:
        yield _Bars(progress)
