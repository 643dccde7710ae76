"""Reuse of data work: the content key, the index, and the data steps reusing an earlier run's outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tasks.core import reuse
from tests.support.steps import call_step
from tests.tasks.helpers import result_of

SETTINGS = {"image_height": 8, "image_width": 8, "categories": "a,b"}


# --- the key -------------------------------------------------------------------------------------------------------

def test_the_same_input_settings_and_code_give_the_same_key():
    assert reuse.step_key("prepare", "up", dict(SETTINGS)) == reuse.step_key("prepare", "up", dict(SETTINGS))


@pytest.mark.parametrize("change", [
    {"settings": {**SETTINGS, "image_height": 9}},
    {"upstream": "another upstream"},
    {"code": "another code version"},
    {"step": "features"},
])
def test_a_changed_setting_upstream_code_or_step_gives_another_key(change):
    base = {"step": "prepare", "upstream": "up", "settings": SETTINGS, "code": reuse.code_version()}
    changed = {**base, **change}
    assert reuse.step_key(**changed) != reuse.step_key(**base)


def test_the_code_version_covers_the_step_code_and_is_stable():
    assert reuse.code_version() == reuse.code_version()
    assert len(reuse.code_version()) == 64


# --- the index -----------------------------------------------------------------------------------------------------

def _computed(folder: Path) -> dict:
    folder.mkdir(parents=True)
    (folder / "out.txt").write_text("data")
    return {"out": str(folder / "out.txt"), "rows": 3}


def test_a_recorded_step_is_found_and_its_files_are_linked_into_the_next_run(tmp_path):
    index, first, second = tmp_path / "reuse", tmp_path / "dag" / "run1" / "prepare", tmp_path / "dag/run2/prepare"
    reuse.record(index, "prepare", "k1", first, _computed(first))
    entry = reuse.lookup(index, "prepare", "k1")
    assert entry is not None
    result = reuse.adopt(entry, second)
    assert result["out"] == str(second / "out.txt") and (second / "out.txt").read_text() == "data"
    assert result["reused_from"]["dag_id"] == "dag" and result["reused_from"]["run_folder"] == "run1"
    assert (second / reuse.KEY_FILE).is_file()  # the next step finds its upstream's key in this run's folder
    assert not [p for p in index.rglob("*") if p.name.endswith(".tmp")]  # written by rename, nothing half-written


def test_a_missing_or_changed_earlier_output_is_a_miss(tmp_path):
    index, first = tmp_path / "reuse", tmp_path / "dag" / "run1" / "prepare"
    reuse.record(index, "prepare", "k1", first, _computed(first))
    (first / "out.txt").write_text("truncated? no: longer")
    assert reuse.lookup(index, "prepare", "k1") is None
    (first / "out.txt").unlink()
    assert reuse.lookup(index, "prepare", "k1") is None
    assert reuse.lookup(index, "prepare", "never recorded") is None


def test_an_entry_pointing_outside_the_artifact_root_is_ignored(tmp_path):
    index, elsewhere = tmp_path / "root" / "reuse", tmp_path / "elsewhere" / "prepare"
    reuse.record(index, "prepare", "k1", elsewhere, _computed(elsewhere))
    assert reuse.lookup(index, "prepare", "k1") is None


def test_a_failed_step_records_nothing(tmp_path):
    from tasks.core.common import StepError

    def failing(**_):
        raise StepError("bad input")

    options = {"reuse_index": str(tmp_path / "reuse"), "reuse_data_steps": True}
    with pytest.raises(StepError):
        reuse.run("prepare", {"output": tmp_path / "d" / "r" / "prepare"}, SETTINGS, options, failing,
                  content=lambda _: "up")
    assert not (tmp_path / "reuse").exists()


# --- the data steps through their command lines ------------------------------------------------------------------

def _chain(root: Path, run: str, *extra: str, reuse_flag: str = "true") -> dict[str, dict]:
    """fetch -> prepare -> features -> split on the embedded digits into ``<root>/dag/<run>``, as the DAG wires them."""
    folder, index = root / "dag" / run, str(root / "reuse")
    common = ("--reuse-index", index, f"--reuse-data-steps={reuse_flag}")
    extras = {step: [a for a in extra if a.split("=")[0] in flags] for step, flags in
              {"fetch": ("--empty-cell-rate",), "prepare": (), "features": (), "split": ("--test-size",)}.items()}
    results = {}
    for step, source in (("fetch", None), ("prepare", "fetch/raw_profile.json"), ("features", "prepare/prepared.arrow"),
                         ("split", "features/features.npz")):
        given = ("--source", "embedded://digits") if source is None else ("--input", str(folder / source))
        done = call_step(step, *given, "--output", str(folder / step), *common, *extras[step])
        assert done.returncode == 0, done.stderr
        results[step] = result_of(done)
    return results


def _reused(results: dict[str, dict]) -> list[str]:
    return [step for step, result in results.items() if result.get("reused_from")]


def test_a_rerun_on_the_same_data_and_settings_reuses_every_data_step(tmp_path):
    first = _chain(tmp_path, "run1")
    second = _chain(tmp_path, "run2")
    assert _reused(first) == []
    assert _reused(second) == ["fetch", "prepare", "features", "split"]
    assert {r["reused_from"]["run_folder"] for r in second.values()} == {"run1"}
    assert second["split"]["train"] == str(tmp_path / "dag" / "run2" / "split" / "train.npz")  # this run's folder
    assert Path(second["split"]["train"]).read_bytes() == Path(first["split"]["train"]).read_bytes()
    assert second["fetch"]["sha256"] == first["fetch"]["sha256"]


def test_a_changed_fault_setting_recomputes_from_fetch_and_a_changed_split_share_only_split(tmp_path):
    _chain(tmp_path, "run1")
    assert _reused(_chain(tmp_path, "run2", "--empty-cell-rate=0.002")) == []
    assert _reused(_chain(tmp_path, "run3", "--test-size=0.25")) == ["fetch", "prepare", "features"]


def test_reuse_off_recomputes_and_a_deleted_earlier_output_is_recomputed(tmp_path):
    _chain(tmp_path, "run1")
    assert _reused(_chain(tmp_path, "run2", reuse_flag="false")) == []
    for run in ("run1", "run2"):  # the index now points at run2 (the last computation); remove both copies
        (tmp_path / "dag" / run / "prepare" / "prepared.arrow").unlink()
    # prepare computes again (same key: same bytes); the later steps' keys are unchanged, so they reuse
    assert _reused(_chain(tmp_path, "run3")) == ["fetch", "features", "split"]


def test_a_changed_dataset_recomputes_every_step(tmp_path):
    csv = tmp_path / "data.csv"
    done = call_step("make_dataset", "--output", str(csv))
    assert done.returncode == 0, done.stderr
    folder, index = tmp_path / "dag", str(tmp_path / "reuse")

    def fetch(run: str) -> dict:
        fetched = call_step("fetch", "--source", str(csv), "--output", str(folder / run / "fetch"),
                            "--reuse-index", index, env={"PIPELINE_ALLOWED_DATA_ROOTS": str(tmp_path)})
        assert fetched.returncode == 0, fetched.stderr
        return result_of(fetched)

    assert fetch("run1")["reused_from"] is None
    assert fetch("run2")["reused_from"]
    csv.write_text(csv.read_text() + csv.read_text().splitlines()[1] + "\n")  # one more row: other bytes
    assert fetch("run3")["reused_from"] is None


def test_validation_is_reused_too_without_importing_great_expectations_again(tmp_path):
    fetched = _chain(tmp_path, "run1")["fetch"]
    outputs = []
    for run in ("run1", "run2"):
        done = call_step("validate", "--suite", "raw", "--input", fetched["profile"], "--output",
                         str(tmp_path / "dag" / run / "validate_raw"), "--reuse-index", str(tmp_path / "reuse"))
        assert done.returncode == 0, done.stderr
        outputs.append(result_of(done))
    assert outputs[0]["reused_from"] is None and outputs[1]["reused_from"]["task_id"] == "validate_raw"
    assert json.loads(Path(outputs[1]["validation"]).read_text())["success"] is True
