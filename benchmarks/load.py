"""Drive a server with wrk and read its report."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

JSONAPI = "application/vnd.api+json"
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


class LoadError(RuntimeError):
    """wrk failed or printed a report we cannot read."""


@dataclass(frozen=True)
class LoadResult:
    """One wrk run: throughput, latency percentiles (ms) and error counts."""

    requests_per_second: float
    requests: int
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    load_average: float  # the 1-minute load average of the machine when the run started

    @property
    def errors(self) -> int:
        """Requests that failed: non-2xx answers, socket errors, timeouts."""
        return self.non_2xx + self.socket_errors


def wrk_path() -> str:
    """The wrk binary (scripts/bench installs it)."""
    found = shutil.which("wrk")
    if found is None:
        raise LoadError("wrk is not installed: run scripts/bench, or apt-get install -y wrk")
    return found


def _lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def lua_script(*, token: str, method: str = "GET", body: bytes | None = None) -> str:
    """A wrk script setting the method, the bearer token and, for POST, the JSON:API body."""
    lines = [
        f"wrk.method = {_lua_string(method)}",
        f'wrk.headers["Authorization"] = {_lua_string("Bearer " + token)}',
        f'wrk.headers["Accept"] = {_lua_string(JSONAPI)}',
    ]
    if body is not None:
        lines.append(f"wrk.body = {_lua_string(body.decode())}")
        lines.append(f'wrk.headers["Content-Type"] = {_lua_string(JSONAPI)}')
    return "\n".join(lines) + "\n"


def _milliseconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise LoadError(f"cannot read the wrk duration {text!r}")
    return float(match[1]) * _UNITS[match[2]]


def parse_report(report: str, load_average: float = 0.0) -> LoadResult:
    """The figures of a ``wrk --latency`` report."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", report)
    total = re.search(r"(\d+) requests in", report)
    p50 = re.search(r"^\s+50%\s+(\S+)", report, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", report, re.MULTILINE)
    if not (rps and total and p50 and p99):
        raise LoadError(f"cannot read the wrk report:\n{report}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", report)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", report
    )
    return LoadResult(
        requests_per_second=float(rps[1]),
        requests=int(total[1]),
        p50_ms=_milliseconds(p50[1]),
        p99_ms=_milliseconds(p99[1]),
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
        load_average=load_average,
    )


def run_wrk(
    url: str,
    *,
    token: str,
    method: str = "GET",
    body: bytes | None = None,
    duration: float = 10.0,
    threads: int = 2,
    connections: int = 32,
) -> LoadResult:
    """Run wrk against ``url`` for ``duration`` seconds; raises LoadError when wrk fails.

    Failed requests (non-2xx answers, socket errors and timeouts) are counted in the result.
    """
    with tempfile.TemporaryDirectory(prefix="optiply-wrk-") as directory:
        script = Path(directory) / "request.lua"
        script.write_text(lua_script(token=token, method=method, body=body))
        load_average = os.getloadavg()[0]
        completed = subprocess.run(
            [
                wrk_path(),
                f"--threads={threads}",
                f"--connections={connections}",
                f"--duration={max(1, round(duration))}s",
                "--timeout=10s",
                "--latency",
                f"--script={script}",
                url,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    if completed.returncode != 0:
        raise LoadError(f"wrk failed ({completed.returncode}): {completed.stderr.strip()}")
    return parse_report(completed.stdout, load_average)
