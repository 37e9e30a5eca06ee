"""The ``optiply`` command: serve the API, administer its database, get a demo login.

Every command takes ``--database-url`` (default ``$OPTIPLY_DATABASE_URL``, else
``sqlite:///./optiply.db``) and applies pending migrations first. Failures print one line on
stderr and exit non-zero.
"""

from __future__ import annotations

import typer

from optiply.cli.admin import accounts_app, clients_app, db_app, tokens_app, users_app
from optiply.cli.data import accounts_reset, demo_shift_dates, snapshot_app
from optiply.cli.demo import demo_app
from optiply.cli.requests import requests
from optiply.cli.sandbox import accounts_update, faults_app
from optiply.cli.serve import serve

app = typer.Typer(
    name="optiply",
    help="A self-hostable Optiply Public API v1 server.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals can hold passwords and secrets
)
app.command("serve")(serve)
app.add_typer(db_app, name="db")
accounts_app.command("update")(accounts_update)
accounts_app.command("reset")(accounts_reset)
app.add_typer(accounts_app, name="accounts")
app.add_typer(users_app, name="users")
app.add_typer(clients_app, name="clients")
app.add_typer(tokens_app, name="tokens")
demo_app.command("shift-dates")(demo_shift_dates)
app.add_typer(demo_app, name="demo")
app.add_typer(snapshot_app, name="snapshot")
app.command("requests")(requests)
app.add_typer(faults_app, name="faults")

if __name__ == "__main__":
    app()
