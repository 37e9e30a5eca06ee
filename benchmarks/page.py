"""How long the sandbox page takes to show an account's journal: empty, and with 10,000 rows.

Runs ``optiply serve --journal`` on a scratch SQLite database, opens ``/sandbox`` in Debian's
headless chromium (Playwright, the system browser), pastes a token and times from navigation
until the request table shows its rows (the newest 500) and the chart and row counts are drawn.
The same measurement on an empty journal is the baseline of the same run. The 10,000 requests
are a realistic mix: pages of 100 products (~40 KB answers), writes, and 4xx errors.

    .venv/bin/python -m benchmarks.page [--rows 10000] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx

from benchmarks import data
from benchmarks.load import JSONAPI
from benchmarks.server import optiply_serve, token
from optiply.server.auth import admin
from optiply.server.storage.engine import make_engine
from optiply.server.storage.migrate import upgrade

CHROMIUM = "/usr/bin/chromium"
SHOWN = 500  # the page's table holds the newest 500


def fill(url: str, access_token: str, requests: int, threads: int = 4) -> None:
    """Send ``requests`` requests: 80% product pages, 15% supplier POSTs, 5% bad filters."""
    headers = {"Authorization": f"Bearer {access_token}", "Accept": JSONAPI}
    share = requests // threads

    def work(offset: int) -> None:
        with httpx.Client(base_url=url + "/v1", headers=headers, timeout=60) as api:
            for n in range(offset, offset + share):
                if n % 20 == 0:
                    api.get("/products", params={"filter[bogus]": "1"})
                elif n % 20 < 4:
                    body = {"data": {"type": "suppliers", "attributes": {"name": f"S{n}"}}}
                    api.post("/suppliers", json=body, headers={"Content-Type": JSONAPI})
                else:
                    api.get("/products", params={"page[limit]": 100})

    workers = [threading.Thread(target=work, args=(i * share,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def show_times(url: str, access_token: str, expected_rows: int, runs: int) -> list[float]:
    """Seconds from navigation to a table of ``expected_rows`` rows, chart and counts drawn."""
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        for _ in range(runs):
            page = browser.new_context().new_page()
            started = time.perf_counter()
            page.goto(url + "/sandbox")
            page.locator("#token-form [name=token]").fill(access_token)
            page.locator("#token-form button[type=submit]").click()
            page.wait_for_function(
                "n => document.querySelectorAll('#requests tbody tr').length >= n"
                " && document.querySelectorAll('#chart rect, #chart path').length > 0"
                " && document.querySelectorAll('#rows tbody tr').length > 0",
                arg=expected_rows,
                timeout=120_000,
            )
            times.append(time.perf_counter() - started)
            page.context.close()
        browser.close()
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000, help="journal rows to fill")
    parser.add_argument("--runs", type=int, default=5, help="page loads per measurement")
    options = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="optiply-bench-page-"))
    database_url = f"sqlite:///{work / 'page.db'}"
    engine = make_engine(database_url)
    upgrade(engine)
    account = admin.create_account(engine, name="page benchmark")
    engine.dispose()
    login = data.create_login(database_url, account.id)
    with optiply_serve(database_url, work, extra=("--journal",)) as server:
        access_token = token(server.url, login)
        with httpx.Client(base_url=server.url + "/v1", timeout=60) as api:
            for n in range(100):  # pages of 100 products: ~40 KB answers
                body = {"data": {"type": "products", "attributes": {"name": f"P{n}"}}}
                api.post(
                    "/products",
                    json=body,
                    headers={"Authorization": f"Bearer {access_token}", "Content-Type": JSONAPI},
                )
        empty = show_times(server.url, access_token, 1, options.runs)
        started = time.perf_counter()
        fill(server.url, access_token, options.rows)
        filled_in = time.perf_counter() - started
        time.sleep(3)  # the journal writer's batches, and a pruning round
        full = show_times(server.url, access_token, SHOWN, options.runs)
    print(f"journal filled with {options.rows:,} requests in {filled_in:.1f} s")
    print(f"page shown, empty journal (baseline): median {statistics.median(empty) * 1000:.0f} ms")
    print(
        f"page shown, {options.rows:,} journal rows ({SHOWN} in the table): "
        f"median {statistics.median(full) * 1000:.0f} ms "
        f"(runs: {', '.join(f'{t * 1000:.0f}' for t in full)} ms)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
