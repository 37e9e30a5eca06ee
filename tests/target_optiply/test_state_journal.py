"""target-state.json survives a crash between rewrites: the journal holds every record."""

from __future__ import annotations

from target_optiply.state import Outcome, TargetState, read_json, read_state


def test_records_between_rewrites_survive_a_crash(tmp_path):
    path = tmp_path / "target-state.json"
    state = TargetState(path, write_interval=3600)
    state.add("Products", {"id": "1", "externalId": "A", "success": True}, Outcome.SUCCESS)
    state.write()  # a flush: the file now covers the first record
    state.add("Products", {"id": "2", "externalId": "B", "success": True}, Outcome.SUCCESS)
    state.add("Suppliers", {"externalId": "S", "success": False}, Outcome.FAILED)
    # ... and the process dies here, before the next rewrite.

    on_disk = read_json(path)
    assert [e["externalId"] for e in on_disk["bookmarks"]["Products"]] == ["A"]
    recovered = read_state(path)
    assert [e["externalId"] for e in recovered["bookmarks"]["Products"]] == ["A", "B"]
    assert recovered["bookmarks"]["Suppliers"] == [{"externalId": "S", "success": False}]
    assert recovered["summary"]["Products"]["success"] == 2
    assert recovered["summary"]["Suppliers"]["fail"] == 1


def test_a_rewrite_removes_the_journals_it_covers(tmp_path):
    path = tmp_path / "target-state.json"
    state = TargetState(path, write_interval=3600)
    for i in range(3):
        state.add("Products", {"id": str(i), "externalId": f"E{i}"}, Outcome.SUCCESS)
    state.write()

    assert not list(tmp_path.glob("target-state.json.journal.*"))
    assert read_state(path)["summary"]["Products"]["success"] == 3
    assert len(read_state(path)["bookmarks"]["Products"]) == 3


def test_a_torn_last_line_is_ignored(tmp_path):
    path = tmp_path / "target-state.json"
    state = TargetState(path, write_interval=3600)
    state.add("Products", {"id": "1", "externalId": "A"}, Outcome.SUCCESS)
    journal = next(tmp_path.glob("target-state.json.journal.*"))
    with journal.open("a") as file:
        file.write('{"stream": "Products", "entry": {"id"')

    assert [e["id"] for e in read_state(path)["bookmarks"]["Products"]] == ["1"]
