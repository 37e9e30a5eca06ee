"""``tap-optiply``: a Singer tap for the Optiply Public API v1 (Meltano Singer SDK).

One stream per readable type of the registry, named as the existing tap-optiply names them
(``products``, ``sellOrderLines``, ... plus ``accounts``). One ``OptiplyClient`` (one OAuth
token, refreshed before expiry and on a 401) serves every stream; during ``sync_all`` the
streams are read ahead concurrently (``prefetch``) while the SDK writes them one after another.
Incremental streams also read the rows deleted since their bookmark when the server offers the
deleted-rows extension (``deletions``).
"""

from __future__ import annotations

# First, before anything imports httpx: the program's process-wide tweaks (process.py).
from tap_optiply import process

# isort: split

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from singer_sdk import Tap
from typing_extensions import override

from optiply import __version__
from optiply.client import OptiplyAuth, OptiplyClient
from optiply.jsonapi.extensions import DELETED_ROWS
from optiply.query import ListQuery
from tap_optiply.config import config_jsonschema
from tap_optiply.output import LineWriter
from tap_optiply.prefetch import Prefetch
from tap_optiply.schemas import READABLE
from tap_optiply.settings import Settings, resolve, stream_filters
from tap_optiply.streams import ResourceStream
from tap_optiply.walk import Batch


class TapOptiply(Tap):
    """Reads every Optiply resource: incrementally by (updatedAt, id), or in full."""

    name = "tap-optiply"
    package_name = "optiply"
    message_writer_class = LineWriter
    config_jsonschema = config_jsonschema()  # declared once: config.SETTINGS

    @classmethod
    @override
    def get_plugin_version(cls) -> str:
        """The package's version, without a metadata lookup at every start."""
        return __version__

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        process.apply()
        # Checked now, before any request (and by --discover): the server's own parser.
        self._filters = stream_filters(self.config.get("stream_filters"))
        self._settings: Settings | None = None
        self._client: OptiplyClient | None = None
        self._prefetch: Prefetch | None = None
        self._prefetch_names: set[str] = set()
        self._deletions: bool | None = None
        self.started_at = datetime.now(UTC)

    @override
    def discover_streams(self) -> list[ResourceStream]:
        """One stream per readable type, in registry order."""
        return [ResourceStream(self, spec) for spec in READABLE.values()]

    @property
    def settings(self) -> Settings:
        """The run's settings (resolved on first use, so --about and --discover need no
        credentials)."""
        if self._settings is None:
            self._settings = resolve(self.config)
        return self._settings

    @property
    def client(self) -> OptiplyClient:
        """The run's one client: one token for every stream."""
        if self._client is None:
            settings = self.settings
            self.logger.info("Optiply API %s, auth %s", settings.base_url, settings.dashboard_url)
            auth = None
            if settings.client_id or settings.token is None:
                auth = OptiplyAuth(
                    client_id=settings.client_id,
                    client_secret=settings.client_secret,
                    username=settings.username,
                    password=settings.password,
                    dashboard_url=settings.dashboard_url,
                    token=settings.token,
                )
            self._client = OptiplyClient(
                settings.base_url,
                auth=auth,
                access_token=None
                if auth is not None or settings.token is None
                else settings.token.access_token,
                account_id=settings.account_id,
                coupling_id=settings.coupling_id,
            )
        return self._client

    def deletions_offered(self) -> bool:
        """Whether the server lists deleted rows (the deleted-rows extension at ``GET /v1``);
        asked once per tap, and only when an incremental stream wants to know."""
        if self._deletions is None:
            self._deletions = DELETED_ROWS.uri in self.client.extensions()
            if self._deletions:
                self.logger.info("The server lists deleted rows: emitted with _sdc_deleted_at")
        return self._deletions

    def filters(self, resource_type: str) -> ListQuery:
        """The stream's own filters from ``stream_filters`` (none: an empty query)."""
        return self._filters.get(resource_type, ListQuery())

    def read(self, stream: ResourceStream) -> Iterable[Batch]:
        """The stream's pages: from the read-ahead of ``sync_all``, else read here."""
        if self._prefetch is not None and stream.name in self._prefetch_names:
            return self._prefetch.take(stream.name)
        return stream.batches()

    # The SDK marks sync_all final; the read-ahead needs a start and an end around it.
    @override  # type: ignore[misc]
    def sync_all(self) -> None:
        """Sync every selected stream, reading up to ``max_concurrency`` of them ahead."""
        self.started_at = datetime.now(UTC)
        settings = self.settings
        self._set_compatible_replication_methods()  # what the SDK's sync_all does first
        # Each read's start (state, settings) is taken here, on this thread; the reads
        # themselves run on the prefetch's threads.
        reads = {
            stream.name: stream.batches()
            for stream in self.streams.values()
            if isinstance(stream, ResourceStream) and stream.selected
        }
        self._prefetch_names = set(reads)
        self._prefetch = Prefetch(
            {name: _returning(read) for name, read in reads.items()},
            concurrency=settings.max_concurrency,
        )
        try:
            super().sync_all()
        finally:
            self._prefetch.close()
            self._prefetch = None
            if self._client is not None:
                self._client.close()
                self._client = None


def _returning(read: Iterable[Batch]) -> Callable[[], Iterable[Batch]]:
    """A producer handing over a read made already."""
    return lambda: read


__all__ = ["TapOptiply"]
