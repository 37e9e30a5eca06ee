"""HotGlue's job variables and the ``--state`` option."""

from __future__ import annotations

import json
import subprocess
import sys

from target_support import create, singer, target_config, write_snapshot


def test_job_id_root_dir_snapshots_and_mapped_records(login, api, tmp_path, run_target):
    existing = create(api, "products", name="Old", stockLevel=1)
    root = tmp_path / "root"
    (root / "snapshots").mkdir(parents=True)
    write_snapshot(root / "snapshots", "Products", "F1", {"P1": existing})
    config = target_config(login, tmp_path)
    env = {"JOB_ID": "job-42", "ROOT_DIR": str(root), "FLOW": "F1", "OUTPUT_MAPPED_RECORD": "1"}

    run = run_target(config, singer("Products", {"externalId": "P1", "name": "Renamed"}), env=env)

    assert run.returncode == 0, run.stderr
    assert run.state["jobId"] == "job-42"
    entry = run.entries("Products")["P1"]
    assert entry["id"] == str(existing) and entry["outcome"] == "updated"  # via the snapshot
    assert "job job-42" in run.stderr
    assert 'Products P1 mapped: {"name":"Renamed"' in run.stderr
    assert api.get(f"/products/{existing}").json()["data"]["attributes"]["name"] == "Renamed"


def test_mapped_records_are_not_logged_by_default(login, tmp_path, run_target):
    run = run_target(
        target_config(login, tmp_path),
        singer("Products", {"externalId": "P1", "name": "Mug", "stockLevel": 1}),
    )
    assert run.returncode == 0, run.stderr
    assert "mapped:" not in run.stderr
    assert "jobId" not in run.state


def test_state_option_names_the_previous_run(login, tmp_path):
    lines = singer("Products", {"externalId": "P1", "name": "Mug", "stockLevel": 1})
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    first_dir.mkdir()
    second_dir.mkdir()

    def run(folder, *options):
        config = target_config(login, folder)
        (folder / "config.json").write_text(json.dumps(config))
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "target_optiply",
                "--config",
                str(folder / "config.json"),
                *options,
            ],
            input="\n".join(lines) + "\n",
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    assert run(first_dir).returncode == 0
    second = run(second_dir, "--state", str(first_dir / "target-state.json"))

    assert second.returncode == 0, second.stderr
    state = json.loads((second_dir / "target-state.json").read_text())
    assert state["summary"]["Products"]["existing"] == 1  # unchanged since the named run
    assert state["summary"]["Products"]["success"] == 0


def test_hotglue_incremental_state_is_read_when_no_state_is_named(login, tmp_path, run_target):
    lines = singer("Products", {"externalId": "P1", "name": "Mug", "stockLevel": 1})
    config = target_config(login, tmp_path)
    assert run_target(config, lines).returncode == 0
    state = tmp_path / "target-state.json"
    state.rename(tmp_path / "incremental_target_state.json")  # what HotGlue's executor keeps

    second = run_target(config, lines)

    assert second.returncode == 0, second.stderr
    assert second.state["summary"]["Products"]["existing"] == 1
    assert "previous state: incremental_target_state.json" in second.stderr
