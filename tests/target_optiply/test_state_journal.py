"""target-state.json: bookmarks live in per-stream journals; the file is assembled from them."""

from __future__ import annotations

import io
import json

from target_optiply.state import Outcome, TargetState, read_json, read_state


def test_records_between_rewrites_survive_a_crash(tmp_path):
    path = tmp_path / "target-state.json"
    state = TargetState(path, write_interval=3600)
    state.add("Products", {"id": "1", "externalId": "A", "success": True}, Outcome.SUCCESS)
    state.write()  # a flush: the file now covers the first record
    state.add("Products", {"id": "2", "externalId": "B", "success": True}, Outcome.UPDATED)
    state.add("Suppliers", {"externalId": "S", "success": False}, Outcome.FAILED)
    # ... and the process dies here, before the next rewrite.

    on_disk = read_json(path)
    assert [e["externalId"] for e in on_disk["bookmarks"]["Products"]] == ["A"]
    recovered = read_state(path)
    assert [e["externalId"] for e in recovered["bookmarks"]["Products"]] == ["A", "B"]
    assert recovered["bookmarks"]["Suppliers"] == [
        {"externalId": "S", "success": False, "outcome": "fail"}
    ]
    assert recovered["summary"]["Products"]["success"] == 1
    assert recovered["summary"]["Products"]["updated"] == 1
    assert recovered["summary"]["Suppliers"]["fail"] == 1


def test_the_final_file_holds_everything_and_the_journals_go(tmp_path):
    path = tmp_path / "target-state.json"
    state = TargetState(path, write_interval=3600)
    for i in range(3):
        state.add("Products", {"id": str(i), "externalId": f"E{i}"}, Outcome.SUCCESS)
    state.add("Suppliers", {"id": "9", "externalId": 'S\n"quoted"'}, Outcome.EXISTING)
    expected = state.document()
    state.close()

    assert not list(tmp_path.glob("target-state.json.journal.*"))
    on_disk = read_json(path)
    assert on_disk["bookmarks"] == expected["bookmarks"]
    assert on_disk["summary"]["Products"]["success"] == 3
    assert on_disk["bookmarks"]["Suppliers"][0]["externalId"] == 'S\n"quoted"'
    assert read_state(path)["bookmarks"] == expected["bookmarks"]  # nothing replayed twice


def test_the_state_line_on_stdout_is_one_json_line(tmp_path):
    state = TargetState(tmp_path / "target-state.json")
    state.add("Products", {"id": "1", "externalId": "A"}, Outcome.SUCCESS)
    state.add("Products", {"id": "2", "externalId": "B"}, Outcome.SUCCESS)
    out = io.BytesIO()
    state.emit(out)

    text = out.getvalue().decode()
    assert text.count("\n") == 1 and text.endswith("\n")
    assert json.loads(text) == state.document()


def test_a_new_run_supersedes_a_crashed_runs_journals(tmp_path):
    path = tmp_path / "target-state.json"
    crashed = TargetState(path, write_interval=3600)
    crashed.add("Products", {"id": "1", "externalId": "A"}, Outcome.SUCCESS)
    assert [e["id"] for e in read_state(path)["bookmarks"]["Products"]] == ["1"]

    second = TargetState(path, write_interval=3600)
    second.add("Products", {"id": "2", "externalId": "B"}, Outcome.SUCCESS)
    second.close()

    assert [e["id"] for e in read_state(path)["bookmarks"]["Products"]] == ["2"]
    assert not list(tmp_path.glob("target-state.json.journal.*"))


def test_a_torn_last_line_is_ignored(tmp_path):
    path = tmp_path / "target-state.json"
    state = TargetState(path, write_interval=3600)
    state.add("Products", {"id": "1", "externalId": "A"}, Outcome.SUCCESS)
    journal = next(tmp_path.glob("target-state.json.journal.*"))
    with journal.open("a") as file:
        file.write('{"id": "2", "exter')

    assert [e["id"] for e in read_state(path)["bookmarks"]["Products"]] == ["1"]


def test_without_a_path_nothing_is_left_behind():
    state = TargetState(None)
    state.add("Products", {"id": "1", "externalId": "A"}, Outcome.SUCCESS)
    assert state.document()["bookmarks"]["Products"][0]["id"] == "1"
    folder = state._base.parent
    state.close()
    assert not folder.exists()
