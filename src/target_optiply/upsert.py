"""One record's decision: which requests it causes, and what came of them.

The decision list of integrator-needs §2.2, in ``Upsert.write``:

1. a delete (``deleted_at``) -> ``_delete``: soft (PATCH, per type in ``streams``) or DELETE;
2. unchanged since the last successful run (same hash) -> ``existing``, no request;
3. references resolved (``References.resolve``: ``Remote_productId`` -> an Optiply id): a
   parent not known yet waits for the next flush (``None``); a parent that failed skips it;
4. an id (the record's, this run's, the previous state's, the snapshot's, ``lookup_by``) ->
   ``_patch``; a 404 re-creates (per type in ``streams``) or fails;
5. else ``_post``; a 409 on a unique pair -> ``_adopt`` (GET by the pair, PATCH when it
   differs); an ambiguous POST (timeout/5xx after sending) -> ``_read_back`` by natural key
   before anything is sent again.

The client is called with plain method calls (``self.api.update(...)``); every request is
counted, throttled and (``OUTPUT_MAPPED_RECORD``) logged by ``_sending`` first.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

from optiply.client import (
    AmbiguousWriteError,
    ConflictError,
    NotFoundError,
    OptiplyError,
    Resource,
    ResourcePage,
)
from optiply.resources import ResourceSpec
from optiply.resources.types import format_datetime
from target_optiply.policy import Failure, failure_key
from target_optiply.records import (
    BadRecord,
    Mapped,
    convert,
    create_body,
    differs,
    line_keys,
    missing_required,
    normalise_external_id,
    raw_line_keys,
    update_body,
    wire,
)
from target_optiply.references import ParentFailed, ParentUnknown, References
from target_optiply.settings import Settings, StreamOptions
from target_optiply.state import Outcome
from target_optiply.streams import of, stream_name
from target_optiply.throttle import Throttle

logger = logging.getLogger("target_optiply")


class Api(Protocol):
    """What the decision needs of ``optiply.client.OptiplyClient`` (or the dry-run recorder)."""

    def create(self, resource_type: str, attributes: Mapping[str, Any]) -> Resource: ...

    def update(
        self, resource_type: str, resource_id: int | str, attributes: Mapping[str, Any]
    ) -> Resource: ...

    def delete(self, resource_type: str, resource_id: int | str) -> None: ...

    def list(self, resource_type: str, query: Any = None, /, **filters: Any) -> ResourcePage: ...


@dataclass
class Result:
    """What came of one record: its outcome and what the state file and the log need."""

    outcome: Outcome
    request: str  # what was sent, for the log: "POST", "PATCH", "POST+PATCH", "DELETE", "-"
    optiply_id: int | None = None
    note: str | None = None
    error: str | None = None
    line_ids: dict[str, str] = field(default_factory=dict)  # source line id -> Optiply id
    digest: str = ""  # the record's content hash (``Mapped.hash``, else of the raw record)
    external_id: str | None = None
    deleted: bool = False
    failure: Failure | None = None  # why it failed, for the error policy

    @property
    def bad(self) -> bool:
        """Failed or skipped: its dependents cannot use it."""
        return self.outcome in (Outcome.FAILED, Outcome.SKIPPED)


class Upsert:
    """Decides and sends one record at a time; thread-safe (one per run, shared by threads)."""

    def __init__(
        self,
        *,
        settings: Settings,
        api: Api,
        references: References,
        previous: Mapping[str, Mapping[str, tuple[int, dict[str, str]]]],
        throttle: Throttle,
        count_request: Callable[[str], None],
    ) -> None:
        """Args:
        previous: ``stream -> hash -> (id, line ids)`` of a previous run's successes.
        count_request: Called with the stream name before every request.
        """
        self.settings = settings
        self.api = api
        self.refs = references
        self._previous = previous
        self._throttle = throttle
        self._count_request = count_request

    def write(self, spec: ResourceSpec, record: dict[str, Any], *, final: bool) -> Result | None:
        """Write one record of ``spec``'s stream; None when it must wait for the next flush.

        Never raises for a record-level problem: a bad value, an unresolved reference or an
        API error is a failed ``Result`` naming the culprit. The id map is updated here.
        """
        mapped: Mapped | None = None
        try:
            mapped = convert(spec, record)
            digest = mapped.hash
            result = self._decide(mapped, digest, final=final)
        except ParentUnknown:
            return None
        except ParentFailed as skip:
            digest = mapped.hash if mapped else _raw_hash(record)
            result = Result(Outcome.SKIPPED, "-", error=str(skip))
        except BadRecord as error:
            digest = _raw_hash(record)
            result = Result(Outcome.FAILED, "-", error=f"invalid {error}")
            result.failure = Failure(f"invalid {error.path}", result.error or "")
        except OptiplyError as error:
            digest = mapped.hash if mapped else _raw_hash(record)
            result = Result(Outcome.FAILED, error.method or "-", error=_describe(error))
            result.failure = Failure(_culprit(error), result.error or "", error)
        if result.outcome is Outcome.FAILED and result.failure is None:
            text = result.error or "failed"
            result.failure = Failure(failure_key(text), text)
        result.digest = digest
        result.external_id = mapped.external_id if mapped else _source_id(record)
        result.deleted = mapped is not None and mapped.deleted
        self._remember(spec, record, mapped, result)
        return result

    def _remember(
        self, spec: ResourceSpec, record: Mapping[str, Any], mapped: Mapped | None, result: Result
    ) -> None:
        """Keep the run's id map up to date: ids learnt, deletes forgotten, failures marked."""
        external = result.external_id
        if external is not None:
            if result.bad:
                self.refs.mark_failed(spec.type, external, result.error or "failed")
                if spec.embedded is not None:
                    keys = line_keys(mapped) if mapped else raw_line_keys(spec, record, external)
                    for key in keys:
                        self.refs.mark_failed(
                            spec.embedded.target, key, f"{stream_name(spec)} {external} failed"
                        )
            elif result.deleted:
                self.refs.forget(spec.type, external)
            elif result.optiply_id is not None:
                self.refs.remember(spec.type, external, result.optiply_id)
        if spec.embedded is not None:
            for key, line_id in result.line_ids.items():
                self.refs.remember(spec.embedded.target, key, int(line_id))

    def _decide(self, mapped: Mapped, digest: str, *, final: bool) -> Result:
        spec = mapped.spec
        stream = stream_name(spec)
        options = self.settings.stream(stream)
        if mapped.deleted:
            return self._delete(mapped, options)
        previous = self._previous.get(stream, {}).get(digest)
        if previous is not None:
            if mapped.external_id:
                self.refs.remember(spec.type, mapped.external_id, previous[0])
            return Result(
                Outcome.EXISTING,
                "-",
                previous[0],
                note="unchanged since the last run",
                line_ids=previous[1],
            )
        flow = self.settings.flow if self.settings.snapshot_dir else None
        self.refs.resolve(mapped, final=final, snapshot_flow=flow)
        optiply_id, how = self._find_id(mapped, options)
        if optiply_id is not None:
            result = self._patch(mapped, optiply_id, options)
            if result is not None:
                if how not in ("record", "run"):
                    result.note = f"id from {how}"
                return result
        return self._post(mapped, options)

    def _find_id(self, mapped: Mapped, options: StreamOptions) -> tuple[int | None, str]:
        if mapped.optiply_id is not None:
            return mapped.optiply_id, "record"
        if mapped.external_id is None:
            return None, "none"
        found = self.refs.lookup(mapped.spec.type, mapped.external_id)
        if found is not None:
            return found
        key = options.lookup_by
        value = mapped.attributes.get(key) if key else None
        if key and value is not None:
            self._sending(mapped)
            page = self.api.list(mapped.spec.type, **{key: wire(value), "limit": 2})
            if isinstance(page, ResourcePage) and len(page) == 1:
                return page.data[0].id, f"lookup by {key}"
        return None, "none"

    # -- writes ------------------------------------------------------------------------------

    def _extras(self, mapped: Mapped, options: StreamOptions, *, create: bool) -> dict[str, Any]:
        spec = mapped.spec
        extra: dict[str, Any] = {}
        if options.send_remote_id and mapped.external_id and spec.attribute("remoteId"):
            extra["remoteId"] = mapped.external_id[:255]
        if (
            options.send_remote_data_synced_to_date
            and spec.attribute("remoteDataSyncedToDate")
            and "remoteDataSyncedToDate" not in mapped.attributes
        ):
            extra["remoteDataSyncedToDate"] = format_datetime(datetime.now(UTC))
        if (
            create
            and spec.has_account
            and self.settings.account_id is not None
            and "accountId" not in mapped.attributes
        ):
            extra["accountId"] = self.settings.account_id
        return extra

    def _patch(self, mapped: Mapped, optiply_id: int, options: StreamOptions) -> Result | None:
        """PATCH; None when the row is gone and the stream re-creates it."""
        spec = mapped.spec
        body = {**update_body(mapped), **self._extras(mapped, options, create=False)}
        try:
            self._sending(mapped, body)
            self.api.update(spec.type, optiply_id, body)
        except NotFoundError:
            policy = options.on_patch_not_found or (
                "create" if of(spec).recreate_on_404 else "fail"
            )
            if policy == "create":
                if mapped.external_id:
                    self.refs.forget(spec.type, mapped.external_id)
                return None
            return Result(
                Outcome.FAILED,
                "PATCH",
                optiply_id,
                error=f"404: {spec.label} {optiply_id} was deleted in Optiply",
            )
        return Result(Outcome.UPDATED, "PATCH", optiply_id)

    def _post(self, mapped: Mapped, options: StreamOptions) -> Result:
        spec = mapped.spec
        problem = missing_required(mapped)
        if problem is not None:
            raise problem
        body = {**create_body(mapped), **self._extras(mapped, options, create=True)}
        if spec.embedded is not None and mapped.lines:
            body[spec.embedded.attribute] = [
                {**{k: wire(v) for k, v in line.attributes.items()}, "productId": line.product_id}
                for line in mapped.lines
            ]
        try:
            self._sending(mapped, body)
            created = self.api.create(spec.type, body)
        except ConflictError:
            if of(spec).adopt_on_409 is None:
                raise
            return self._adopt(mapped, body, options)
        except AmbiguousWriteError as error:
            found = self._read_back(mapped, body)
            if found is not None:
                return self._created(mapped, found, note=f"adopted after ambiguous POST ({error})")
            self._sending(mapped, body)
            created = self.api.create(spec.type, body)  # known not to exist
        return self._created(mapped, created)

    def _created(self, mapped: Mapped, created: Resource, note: str | None = None) -> Result:
        result = Result(Outcome.SUCCESS, "POST", created.id, note=note)
        spec = mapped.spec
        if spec.embedded is not None and mapped.lines:
            ids = created.meta.get("orderLineIds")
            if not isinstance(ids, list) or len(ids) != len(mapped.lines):
                self._sending(mapped)
                page = self.api.list(
                    spec.embedded.target,
                    **{spec.embedded.parent_attribute: created.id, "sort": "id", "limit": 100},
                )
                ids = [row.id for row in page.data]
            if len(ids) == len(mapped.lines):
                for key, line_id in zip(line_keys(mapped), ids, strict=True):
                    result.line_ids[key] = str(line_id)
        return result

    def _adopt(self, mapped: Mapped, body: Mapping[str, Any], options: StreamOptions) -> Result:
        """A 409 on a unique pair: take the existing row, PATCH it when it differs."""
        spec = mapped.spec
        pair = of(spec).adopt_on_409
        assert pair is not None
        self._sending(mapped)
        page = self.api.list(spec.type, **{a: body[a] for a in pair}, limit=1)
        if not page.data:
            return Result(Outcome.FAILED, "POST", error="409 but no row with the pair found")
        existing = page.data[0]
        wanted = update_body(mapped)
        if differs(spec, wanted, existing.attributes):
            patch = {**wanted, **self._extras(mapped, options, create=False)}
            self._sending(mapped, patch)
            self.api.update(spec.type, existing.id, patch)
            return Result(Outcome.EXISTING, "POST+PATCH", existing.id, note="adopted on 409")
        return Result(Outcome.EXISTING, "POST", existing.id, note="adopted on 409")

    def _read_back(self, mapped: Mapped, body: Mapping[str, Any]) -> Resource | None:
        """Find the row an ambiguous POST may have created, by its natural key."""
        spec = mapped.spec
        row = of(spec)
        keys = {name: body[name] for name in row.read_back_key if name in body}
        if not keys:
            return None
        self._sending(mapped)
        page = self.api.list(spec.type, **keys, sort="-id", limit=20)
        candidates = list(page.data)
        if row.read_back_by_source_id and mapped.external_id and "remoteId" in body:
            candidates = [
                found
                for found in candidates
                if mapped.external_id in (found.attributes.get("remoteIdMap") or {}).values()
            ]
        elif row.adopt_on_409 is None:
            return None  # no way to tell our row from another with the same key
        return candidates[0] if candidates else None

    def _delete(self, mapped: Mapped, options: StreamOptions) -> Result:
        spec = mapped.spec
        optiply_id = mapped.optiply_id
        if optiply_id is None and mapped.external_id is not None:
            found = self.refs.lookup(spec.type, mapped.external_id)
            optiply_id = found[0] if found else None
        if optiply_id is None:
            return Result(Outcome.SUCCESS, "-", note="nothing to delete: id unknown")
        soft = of(spec).soft_delete if options.delete_mode == "soft" else None
        try:
            if soft is not None:
                self._sending(mapped)
                self.api.update(spec.type, optiply_id, soft)
                return Result(Outcome.SUCCESS, "PATCH", optiply_id, note="soft-deleted")
            self._sending(mapped)
            self.api.delete(spec.type, optiply_id)
        except NotFoundError:
            return Result(Outcome.SUCCESS, "DELETE", optiply_id, note="already gone (404)")
        return Result(Outcome.SUCCESS, "DELETE", optiply_id, note="deleted")

    def _sending(self, mapped: Mapped, body: Mapping[str, Any] | None = None) -> None:
        """Before every request: count it, log a create's or update's ``body`` as sent
        (HotGlue's ``OUTPUT_MAPPED_RECORD``), wait for the throttle."""
        stream = stream_name(mapped.spec)
        self._count_request(stream)
        if body is not None and self.settings.output_mapped_records:
            logger.info(
                "%s %s mapped: %s",
                stream,
                mapped.external_id,
                orjson.dumps(body, default=str).decode(),
            )
        self._throttle.wait()


def _source_id(record: Mapping[str, Any]) -> str | None:
    """The record's source id (``externalId``, else ``remoteId``), normalised."""
    return normalise_external_id(record.get("externalId", record.get("remoteId")))


def _culprit(error: OptiplyError) -> str:
    """What an API error blames: ``"400 /data/attributes/stockLevel"``, else its status and
    code (``"409 conflict"``)."""
    where = error.pointer or (f"?{error.parameter}" if error.parameter else "")
    return " ".join(str(part) for part in (error.status, where or error.code) if part)


def _describe(error: OptiplyError) -> str:
    """``"400 /data/attributes/stockLevel: detail"``: status, culprit and detail, no URL."""
    where = error.pointer or (f"?{error.parameter}" if error.parameter else "")
    head = " ".join(str(part) for part in (error.status, where) if part)
    return f"{head}: {error.detail}" if head else error.detail


def _raw_hash(record: Mapping[str, Any]) -> str:
    text = json.dumps(record, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


__all__ = ["Api", "Result", "Upsert"]
