"""One record's decision: which requests it causes, and what came of them.

The decision list of integrator-needs §2.2, in ``Upsert.write``:

1. a delete (``deleted_at``) -> ``_delete``: soft (PATCH, per type in ``streams``) or DELETE;
2. unchanged since the last successful run (same hash) -> ``existing``, no request;
3. references resolved (``References.resolve``: ``Remote_productId`` -> an Optiply id): a
   parent not known yet waits for the next flush (``None``); a parent that failed skips it;
4. an id (the record's, this run's, the previous state's, the snapshot's, ``lookup_by``) ->
   ``_patch``; a 404 re-creates (per type in ``streams``) or fails;
5. else ``_post``; a 409 on a unique pair -> ``_adopt`` (GET by the pair, PATCH when it
   differs); an ambiguous POST (timeout/5xx after sending) -> ``_read_back`` (by remote id
   when the server offers it, else by natural key) before anything is sent again.

Steps 1-4 make a ``Plan`` (``plan``: the request to send, not sent); ``write`` sends it at
once, ``target_optiply.bulk`` sends many plans as one atomic request and ends each with
``complete``. Every write carries a deterministic ``Idempotency-Key`` (``api.Keys``: the run, the
stream, the source id, the record's content, the request, and the how-manieth such request
of the run): on a server that honours keys the client's own retry of an ambiguous POST is
answered by the server's replay, so it is written once; elsewhere (the hosted API,
``--no-extensions``) the key is ignored and step 5's read-back applies. A key the server
says came with another request (422 ``IDEMPOTENCYKEY_REUSED``: a rerun of the same job
whose body changed) is handled like an ambiguous write.

The client is called with plain method calls (``self.api.update(...)``); every request is
counted, throttled and (``OUTPUT_MAPPED_RECORD``) logged by ``_sending`` first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from optiply.client import (
    AmbiguousWriteError,
    ConflictError,
    NotFoundError,
    OptiplyError,
    Resource,
    ResourcePage,
    ValidationError,
)
from optiply.jsonapi.extensions import REMOTE_ID
from optiply.resources import ResourceSpec
from optiply.resources.types import format_datetime
from target_optiply.api import (
    KEY_REUSED,
    Api,
    Key,
    Keys,
    Plan,
    Result,
    Step,
    culprit,
    describe,
    note,
    raw_hash,
    source_id,
)
from target_optiply.policy import Failure, failure_key
from target_optiply.records import (
    BadRecord,
    Mapped,
    convert,
    create_body,
    differs,
    line_keys,
    missing_required,
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
        offered: frozenset[str] = frozenset(),
        run: str = "",
    ) -> None:
        """Args:
        previous: ``stream -> hash -> (id, line ids)`` of a previous run's successes.
        count_request: Called with the stream name before every request.
        offered: The extension URIs the server offers (``Api.extensions``).
        run: What tells this run's keys from another run's (the job id, else random).
        """
        self.settings = settings
        self.api = api
        self.refs = references
        self.offered = offered
        self._key = Keys(run)
        self._previous = previous
        self._throttle = throttle
        self._count_request = count_request

    def write(self, spec: ResourceSpec, record: dict[str, Any], *, final: bool) -> Result | None:
        """Write one record of ``spec``'s stream; None when it must wait for the next flush.

        Never raises for a record-level problem: a bad value, an unresolved reference or an
        API error is a failed ``Result`` naming the culprit. The id map is updated here.
        """
        step = self._step(spec, record, final=final, send=True)
        assert not isinstance(step, Plan)
        return step

    def plan(self, spec: ResourceSpec, record: dict[str, Any], *, final: bool) -> Step:
        """Decide one record without sending its POST or PATCH: a ``Plan`` to send (and end
        with ``complete``), else what ``write`` would return (no request, failed, waiting)."""
        return self._step(spec, record, final=final, send=False)

    def complete(self, plan: Plan, resource: Resource) -> Result:
        """End a plan another sender sent, with the row it answered."""
        if plan.method == "POST":
            result = self._created(plan.mapped, resource)
        else:
            result = Result(Outcome.UPDATED, "PATCH", plan.optiply_id)
        result.note = note(plan.how)
        return self._settle(plan.spec, plan.record, plan.mapped, plan.digest, result)

    def _step(self, spec: ResourceSpec, record: dict[str, Any], *, final: bool, send: bool) -> Step:
        mapped: Mapped | None = None
        try:
            mapped = convert(spec, record)
            digest = mapped.hash
            step = self._decide(mapped, digest, final=final)
            if isinstance(step, Plan):
                if not send:
                    step.record = record
                    return step
                step = self._send(step)
            result = step
        except ParentUnknown:
            return None
        except ParentFailed as skip:
            digest = mapped.hash if mapped else raw_hash(record)
            result = Result(Outcome.SKIPPED, "-", error=str(skip))
        except BadRecord as error:
            digest = raw_hash(record)
            result = Result(Outcome.FAILED, "-", error=f"invalid {error}")
            result.failure = Failure(f"invalid {error.path}", result.error or "")
        except OptiplyError as error:
            digest = mapped.hash if mapped else raw_hash(record)
            result = Result(Outcome.FAILED, error.method or "-", error=describe(error))
            result.failure = Failure(culprit(error), result.error or "", error)
        return self._settle(spec, record, mapped, digest, result)

    def _settle(
        self,
        spec: ResourceSpec,
        record: Mapping[str, Any],
        mapped: Mapped | None,
        digest: str,
        result: Result,
    ) -> Result:
        """A record's ``Result`` made whole, and the run's id map updated."""
        if result.outcome is Outcome.FAILED and result.failure is None:
            text = result.error or "failed"
            result.failure = Failure(failure_key(text), text)
        result.digest = digest
        result.external_id = mapped.external_id if mapped else source_id(record)
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

    def _decide(self, mapped: Mapped, digest: str, *, final: bool) -> Result | Plan:
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
            body = {**update_body(mapped), **self._extras(mapped, options, create=False)}
            key = self._key(stream_name(spec), mapped.external_id, digest, "PATCH", optiply_id)
            return Plan(spec, {}, mapped, digest, "PATCH", optiply_id, body, key, how)
        return self._plan_post(mapped, digest, options)

    def _plan_post(self, mapped: Mapped, digest: str, options: StreamOptions) -> Plan:
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
        key = self._key(stream_name(spec), mapped.external_id, digest, "POST", None)
        return Plan(spec, {}, mapped, digest, "POST", None, body, key)

    def _send(self, plan: Plan) -> Result:
        if plan.method == "PATCH":
            result = self._patch(plan)
            if result is not None:
                result.note = note(plan.how)
                return result
            options = self.settings.stream(stream_name(plan.spec))
            plan = self._plan_post(plan.mapped, plan.digest, options)
        return self._post(plan)

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

    def _patch(self, plan: Plan) -> Result | None:
        """PATCH; None when the row is gone and the stream re-creates it."""
        mapped, spec, optiply_id, body = plan.mapped, plan.spec, plan.optiply_id, plan.body
        assert optiply_id is not None
        options = self.settings.stream(stream_name(spec))
        try:
            self._sending(mapped, body)
            try:
                self.api.update(spec.type, optiply_id, body, idempotency_key=plan.key)
            except ValidationError as error:
                if error.code != KEY_REUSED:
                    raise
                self.api.update(spec.type, optiply_id, body, idempotency_key=False)
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

    def _post(self, plan: Plan) -> Result:
        mapped, spec, body = plan.mapped, plan.spec, plan.body
        key: Key = plan.key
        try:
            self._sending(mapped, body)
            created = self.api.create(spec.type, body, idempotency_key=key)
        except ConflictError:
            if of(spec).adopt_on_409 is None:
                raise
            return self._adopt(mapped, body, self.settings.stream(stream_name(spec)))
        except (AmbiguousWriteError, ValidationError) as error:
            if isinstance(error, ValidationError):
                if error.code != KEY_REUSED:
                    raise
                key = False  # the key came with another body (a rerun): send none now
            found = self._read_back(mapped, body)
            if found is not None:
                return self._created(mapped, found, note=f"adopted after ambiguous POST ({error})")
            self._sending(mapped, body)
            created = self.api.create(spec.type, body, idempotency_key=key)  # known not to exist
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
        """Find the row an ambiguous POST may have created: by remote id when the server
        offers it (the oldest of several), else by its natural key."""
        spec = mapped.spec
        row = of(spec)
        if self.can_find_by_remote_id(spec) and mapped.external_id and "remoteId" in body:
            self._sending(mapped)
            found = self.api.find_by_remote_id(spec.type, str(body["remoteId"]))
            return min(found, key=lambda resource: resource.id) if found else None
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
        method = "DELETE" if soft is None else "PATCH"
        key = self._key(stream_name(spec), mapped.external_id, mapped.hash, method, optiply_id)
        try:
            self._sending(mapped)
            if soft is not None:
                self.api.update(spec.type, optiply_id, soft, idempotency_key=key)
                return Result(Outcome.SUCCESS, "PATCH", optiply_id, note="soft-deleted")
            self.api.delete(spec.type, optiply_id, idempotency_key=key)
        except NotFoundError:
            return Result(Outcome.SUCCESS, "DELETE", optiply_id, note="already gone (404)")
        return Result(Outcome.SUCCESS, "DELETE", optiply_id, note="deleted")

    def can_find_by_remote_id(self, spec: ResourceSpec) -> bool:
        """The server finds ``spec``'s rows by remote id, and the stream sends them."""
        return (
            REMOTE_ID.uri in self.offered
            and spec.attribute("remoteId") is not None
            and self.settings.stream(stream_name(spec)).send_remote_id
        )

    def sending_request(self, spec: ResourceSpec) -> None:
        """Before a request for records of ``spec``'s stream: count it, wait for the throttle."""
        self._count_request(stream_name(spec))
        self._throttle.wait()

    def sending_batch(self, plans: list[Plan]) -> None:
        """Before a request that writes ``plans``: count it once, log each body as sent,
        wait for the throttle once."""
        self._count_request(stream_name(plans[0].spec))
        if self.settings.output_mapped_records:
            for plan in plans:
                self._log_body(plan.mapped, plan.body)
        self._throttle.wait()

    def _sending(self, mapped: Mapped, body: Mapping[str, Any] | None = None) -> None:
        """Before every request: count it, log a create's or update's ``body`` as sent
        (HotGlue's ``OUTPUT_MAPPED_RECORD``), wait for the throttle."""
        self._count_request(stream_name(mapped.spec))
        if body is not None and self.settings.output_mapped_records:
            self._log_body(mapped, body)
        self._throttle.wait()

    def _log_body(self, mapped: Mapped, body: Mapping[str, Any]) -> None:
        stream = stream_name(mapped.spec)
        logger.info(
            "%s %s mapped: %s", stream, mapped.external_id, orjson.dumps(body, default=str).decode()
        )


__all__ = ["Api", "Plan", "Result", "Step", "Upsert"]
