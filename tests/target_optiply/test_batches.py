"""When records are written, on which thread, in which order: ``Batches`` with a recording
stub in place of the API decision (no server, no client)."""

from __future__ import annotations

import threading
import time

import pytest

from optiply.resources import get
from target_optiply.batches import Batches, Pending, chain_key
from target_optiply.policy import JobAborted


class Recorder:
    """Records each call (stream, source id, thread); ``wait_for`` defers records once."""

    def __init__(self, *, wait_for: set[str] = frozenset(), delay: float = 0.0) -> None:
        self.calls: list[tuple[str, str, str, bool]] = []
        self.numbers: list[tuple[str, str, object]] = []  # stream, source id, record["n"]
        self._lock = threading.Lock()
        self._waiting = set(wait_for)
        self._delay = delay

    def __call__(self, item: Pending, final: bool) -> bool:
        time.sleep(self._delay)
        source = str(item.record.get("externalId"))
        with self._lock:
            self.calls.append((item.stream, source, threading.current_thread().name, final))
            self.numbers.append((item.stream, source, item.record.get("n")))
            if source in self._waiting and not final:
                self._waiting.discard(source)
                return False
        return True

    def order(self) -> list[tuple[str, str]]:
        return [(stream, source) for stream, source, _, _ in self.calls]


def test_parents_are_written_before_children_whatever_the_input_order():
    recorder = Recorder()
    batches = Batches(recorder)
    batches.add(get("receiptLines"), {"externalId": "R1"})
    batches.add(get("buyOrders"), {"externalId": "B1"})
    batches.add(get("products"), {"externalId": "P1"})
    batches.add(get("supplierProducts"), {"externalId": "SP1"})
    batches.flush(final=True)
    assert recorder.order() == [
        ("Products", "P1"),
        ("SupplierProducts", "SP1"),
        ("BuyOrders", "B1"),
        ("ReceiptLines", "R1"),
    ]


def test_a_record_that_must_wait_is_kept_ahead_of_later_ones_for_the_next_flush():
    recorder = Recorder(wait_for={"A"})
    batches = Batches(recorder)
    batches.add(get("products"), {"externalId": "A"})
    batches.flush(final=False)
    batches.wait()
    batches.add(get("products"), {"externalId": "B"})
    batches.flush(final=True)
    batches.close()
    assert [(source, final) for _, source, _, final in recorder.calls] == [
        ("A", False),
        ("A", True),
        ("B", True),
    ]


def test_a_batch_is_written_in_the_background_and_the_flush_hook_runs_after_it():
    flushed: list[int] = []
    recorder = Recorder()
    batches = Batches(recorder, after_flush=lambda: flushed.append(len(recorder.calls)))
    batches.add(get("products"), {"externalId": "P1"})
    batches.flush(final=False)
    batches.wait()
    batches.close()
    assert recorder.calls[0][2].startswith("target-optiply-flush")
    assert flushed == [1]


def test_records_of_one_source_id_stay_in_order_on_one_thread_while_others_run_beside():
    recorder = Recorder(delay=0.002)
    batches = Batches(recorder, concurrency=4)
    for n in range(40):
        batches.add(get("products"), {"externalId": f"P{n % 5}", "n": n})
    batches.flush(final=True)
    batches.close()
    threads: dict[str, set[str]] = {}
    for _, source, thread, _ in recorder.calls:
        threads.setdefault(source, set()).add(thread)
    assert all(len(names) == 1 for names in threads.values())  # one chain, one thread
    assert len({name for names in threads.values() for name in names}) > 1  # chains in parallel
    for source in threads:
        numbers = [n for _, src, n in recorder.numbers if src == source]
        assert numbers == sorted(numbers) and len(numbers) == 8  # input order


def test_a_stop_lets_records_under_way_finish_and_starts_no_new_one():
    started: list[str] = []

    def process(item: Pending, final: bool) -> bool:
        started.append(str(item.record["externalId"]))
        if item.record["externalId"] == "P0":
            raise JobAborted("stop")
        time.sleep(0.01)
        return True

    batches = Batches(process, concurrency=2)
    for n in range(20):
        batches.add(get("products"), {"externalId": f"P{n}"})
    with pytest.raises(JobAborted, match="stop"):
        batches.flush(final=True)
    batches.close()
    assert len(started) < 20


@pytest.mark.parametrize(
    ("record", "key"),
    [
        ({"externalId": "A"}, "x:A"),
        ({"remoteId": 12.0}, "x:12"),
        ({"id": 7}, "i:7"),
        ({}, "n:3"),
    ],
    ids=["external-id", "remote-id", "optiply-id", "none"],
)
def test_chain_keys(record, key):
    assert chain_key(record, 3) == key
