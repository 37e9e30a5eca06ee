"""``target-optiply``: a Singer target for the Optiply Public API v1 (Meltano Singer SDK).

Streams are the registry's writable types in PascalCase (``Products``, ``SupplierProducts``,
...; matched case-insensitively). A stream with no Optiply resource is warned about once and
skipped. All API work happens in ``target_optiply.batches.Writer``, in dependency order.
"""

from __future__ import annotations

# First, before anything imports httpx: the program's process-wide tweaks (process.py).
from target_optiply import process

# isort: split

import sys
from pathlib import Path
from typing import Any, NoReturn

import click
from singer_sdk import Target
from singer_sdk.contrib.msgspec import MsgSpecReader
from singer_sdk.sinks import Sink
from typing_extensions import override

from optiply import __version__
from optiply.client import OptiplyAuth, OptiplyClient, Token
from target_optiply.batches import Writer
from target_optiply.config import config_jsonschema as settings_schema
from target_optiply.dryrun import DryRunApi
from target_optiply.policy import ErrorPolicy, JobAborted
from target_optiply.references import References
from target_optiply.settings import Settings, resolve
from target_optiply.sinks import ResourceSink, SkippedSink
from target_optiply.state import TargetState, read_json, read_state, write_json_atomically
from target_optiply.streams import STREAMS, match_stream
from target_optiply.throttle import Throttle
from target_optiply.upsert import Api


class TargetOptiply(Target):
    """Writes Singer records to Optiply: upserts, references, embedded lines, deletes."""

    name = "target-optiply"
    package_name = "optiply"
    # The SDK's msgspec reader: the same messages (floats still read as Decimal), in a
    # third of the default reader's CPU per line.
    message_reader_class = MsgSpecReader

    config_jsonschema = settings_schema()  # declared once: config.SETTINGS

    # ``--state FILE``: a previous run's state (as ``previous_state_path``); set by ``invoke``.
    _cli_state: Path | None = None

    @classmethod
    @override
    def get_singer_command(cls) -> click.Command:
        """The SDK's command, plus ``--state``."""
        command = super().get_singer_command()
        command.params.append(
            click.Option(
                ["--state"],
                type=click.Path(dir_okay=False, path_type=Path),
                help="A previous run's target-state.json: its ids are reused and its "
                "unchanged records skipped (as the previous_state_path setting).",
            )
        )
        return command

    @classmethod
    @override
    def invoke(cls, *, state: Path | None = None, **kwargs: Any) -> None:
        """Run the target; ``state`` comes from ``--state``."""
        cls._cli_state = state
        super().invoke(**kwargs)

    @classmethod
    @override
    def get_plugin_version(cls) -> str:
        """The package's version, without a metadata lookup at every start."""
        return __version__

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_parallelism = 1  # the writer orders the work; sinks never run in parallel
        process.apply()  # the program's process-wide tweaks (target_optiply.process)
        self.settings: Settings = resolve(self.config)
        self._writer: Writer | None = None
        self._api: Api | None = None
        self._warned: set[str] = set()

    @override
    def get_sink_class(self, stream_name: str) -> type[Sink]:
        """``ResourceSink`` for an Optiply stream; ``SkippedSink`` (warned once) otherwise."""
        if match_stream(stream_name) is not None:
            return ResourceSink
        if self.settings.fail_on_unknown_stream:
            self.abort(JobAborted(f"stream {stream_name!r} matches no Optiply resource"))
        if stream_name not in self._warned:
            self._warned.add(stream_name)
            self.logger.warning(
                "stream %r matches no Optiply resource (known: %s); its records are skipped",
                stream_name,
                ", ".join(STREAMS),
            )
        return SkippedSink

    @property
    def writer(self) -> Writer:
        """The run's writer, built on first use (so --about needs no credentials)."""
        if self._writer is None:
            self._writer = self._build_writer()
        return self._writer

    def _build_writer(self) -> Writer:
        settings = self.settings
        self.logger.info(
            "Optiply API %s, auth %s%s%s",
            settings.base_url,
            settings.dashboard_url,
            f", job {settings.job_id}" if settings.job_id else "",
            " (dry run)" if settings.dry_run else "",
        )
        previous_path = self._cli_state or settings.previous_state_path or _previous(settings)
        previous = read_state(previous_path) if previous_path else {}
        if previous_path and previous.get("bookmarks"):
            self.logger.info("previous state: %s", previous_path.name)
        references = References()
        if settings.snapshot_dir is not None and settings.flow:
            references.seed_from_snapshots(settings.snapshot_dir, settings.flow)
        seeded = references.seed_from_state(previous)
        if seeded:
            self.logger.info("%d ids taken from the previous state", seeded)
        api: Api
        if settings.dry_run:
            assert settings.dry_run_path is not None
            api = DryRunApi(settings.dry_run_path)
        else:
            api = OptiplyClient(
                settings.base_url,
                auth=self._auth(settings),
                account_id=settings.account_id,
                coupling_id=settings.coupling_id,
                max_retries=settings.max_retries,
            )
        self._api = api
        return Writer(
            settings=settings,
            api=api,
            references=references,
            state=TargetState(
                settings.state_path,
                write_interval=settings.state_write_interval,
                extra={"jobId": settings.job_id} if settings.job_id else None,
            ),
            policy=ErrorPolicy(
                max_record_failures=settings.max_record_failures,
                fail_on_first_error=settings.fail_on_first_error,
                max_consecutive_transient=settings.max_consecutive_transient_failures,
                systemic_failure_records=settings.systemic_failure_records,
                systemic_failure_share=settings.systemic_failure_share,
            ),
            previous=previous,
            concurrency=1 if settings.dry_run else settings.max_concurrency,
            throttle=Throttle(settings.max_requests_per_second),
        )

    def _auth(self, settings: Settings) -> OptiplyAuth:
        token_file = settings.token_file

        def persist(token: Token) -> None:
            if token_file is None:
                return
            document = read_json(token_file)
            document["access_token"] = token.access_token.get_secret_value()
            if token.refresh_token is not None:
                document["refresh_token"] = token.refresh_token.get_secret_value()
            if token.expires_at is not None:
                document["expires_in"] = int(token.expires_at)  # absolute, as HotGlue reads it
            write_json_atomically(token_file, document)
            self.logger.info("refreshed token written to %s", token_file.name)

        return OptiplyAuth(
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            username=settings.username,
            password=settings.password,
            dashboard_url=settings.dashboard_url,
            token=settings.token,
            on_token=persist if token_file is not None else None,
        )

    def abort(self, stop: JobAborted) -> NoReturn:
        """End the run cleanly on a stop, at the end of the input or in a batch written
        mid-stream: state written, summary logged, one error line, exit 1."""
        writer = self._writer
        if writer is not None:
            writer.close()
            writer.state.close()
            writer.log_summary()
        self.logger.error("target-optiply stopped: %s", stop)
        self._close()
        raise SystemExit(1)

    @override
    def _write_state_message(self, state: dict[str, Any]) -> None:
        # A tap's STATE is passed on only once every record before it is written: wait for
        # the batch the writer may still be writing in the background.
        if self._writer is not None:
            try:
                self._writer.wait()
            except JobAborted as stop:
                self.abort(stop)
        super()._write_state_message(state)

    @override
    def process_endofpipe(self) -> None:
        """Write everything still buffered (final: unresolved references fail), then report."""
        writer = self._writer
        try:
            if writer is not None:
                writer.flush(final=True)
            super().process_endofpipe()  # the SDK's drain: batches of what is left, if any
            if writer is not None:
                writer.wait()
                verdict = writer.policy.verdict()
                if verdict is not None:
                    raise JobAborted(verdict)
        except JobAborted as stop:
            self.abort(stop)
        if writer is not None:
            writer.log_summary()
            if self.settings.emit_state_message and writer.state.summary:
                sys.stdout.flush()
                writer.state.emit(sys.stdout.buffer)
                sys.stdout.buffer.flush()
            writer.state.close()
        self._close()

    def _close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        api = self._api
        if isinstance(api, OptiplyClient):
            api.close()
        elif isinstance(api, DryRunApi):
            api.close()


def _previous(settings: Settings) -> Path | None:
    """The state a run continues from when none is named: ``target_state_path`` when it (or a
    journal of it) exists, else HotGlue's ``incremental_target_state.json`` beside it."""
    path = settings.state_path
    if path is None:
        return None
    if path.exists() or any(path.parent.glob(f"{path.name}.journal.*")):
        return path
    incremental = path.with_name("incremental_target_state.json")
    return incremental if incremental.exists() else path


__all__ = ["TargetOptiply"]
