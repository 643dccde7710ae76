"""The ingest step: new files become immutable versions, duplicates and half-copied or bad files do not."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import threading
import time
from pathlib import Path

import pytest

from tasks.core.common import StepError
from tasks.steps.ingest import ingest, read_index
from tests.support.steps import call_step
from tests.tasks.helpers import balanced_rows, result_of, write_csv


def aged(path: Path, seconds: float = 120) -> Path:
    """Pretend the file was finished ``seconds`` ago (the copy is long over)."""
    past = time.time() - seconds
    os.utime(path, (past, past))
    return path


def run_ingest(landing: Path, store: Path, min_age: str = "5", max_wait: str = "0"):
    return call_step("ingest", "--landing", str(landing), "--store", str(store), "--min-age", min_age,
                    "--max-wait", max_wait)


@pytest.fixture
def folders(tmp_path):
    return tmp_path / "landing", tmp_path / "datasets"


def test_a_new_file_becomes_a_versioned_dataset_with_a_manifest(folders):
    landing, store = folders
    landing.mkdir()
    data = aged(write_csv(landing / "batch1.csv", balanced_rows(2)))
    digest = hashlib.sha256(data.read_bytes()).hexdigest()

    done = run_ingest(landing, store)

    assert done.returncode == 0, done.stderr
    result = result_of(done)
    assert result["status"] == "new" and result["sha256"] == digest
    stored = store / digest / "batch1.csv"
    assert result["uri"] == str(stored) and hashlib.sha256(stored.read_bytes()).hexdigest() == digest
    manifest = json.loads((store / digest / "manifest.json").read_text())
    assert manifest["rows"] == 20 and manifest["pixels"] == 4 and manifest["filename"] == "batch1.csv"
    assert [e["status"] for e in read_index(store)] == ["new"]
    assert not data.exists() and len(list((landing / "processed").iterdir())) == 1


def test_a_square_pixel_count_gives_the_version_its_image_shape_and_another_gives_none(folders):
    # Given a 28x28 file landed first, then one with three pixel columns (no square shape)
    landing, store = folders
    landing.mkdir()
    aged(write_csv(landing / "a.csv", balanced_rows(1, pixels=784), height=28, width=28), seconds=200)
    aged(write_csv(landing / "b.csv", balanced_rows(1, pixels=3), header=["label", "pixel1", "pixel2", "pixel3"]))

    # When both are ingested
    first, second = result_of(run_ingest(landing, store)), result_of(run_ingest(landing, store))

    # Then the square one carries its shape in its result and in the store's index; the other none
    assert (first["filename"], first["image_height"], first["image_width"]) == ("a.csv", 28, 28)
    assert second["filename"] == "b.csv" and "image_height" not in second
    assert [e.get("image_height") for e in read_index(store)] == [28, None]


def test_the_same_bytes_again_are_a_duplicate_and_create_nothing(folders):
    landing, store = folders
    landing.mkdir()
    aged(write_csv(landing / "a.csv", balanced_rows(2)))
    first = result_of(run_ingest(landing, store))
    aged(write_csv(landing / "same-bytes-other-name.csv", balanced_rows(2)))

    again = run_ingest(landing, store)

    assert again.returncode == 0, again.stderr
    result = result_of(again)
    assert result["status"] == "duplicate" and result["uri"] == first["uri"]
    assert [p.name for p in store.iterdir() if p.is_dir()] == [first["sha256"]]
    assert [e["status"] for e in read_index(store)] == ["new", "duplicate"]
    assert not (store / first["sha256"] / "same-bytes-other-name.csv").exists()


def test_a_gzipped_csv_is_stored_as_is(folders):
    landing, store = folders
    landing.mkdir()
    plain = write_csv(landing.parent / "x.csv", balanced_rows(1))
    packed = landing / "x.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    aged(packed)

    result = result_of(run_ingest(landing, store))

    assert result["status"] == "new" and result["uri"].endswith("x.csv.gz")
    assert json.loads((store / result["sha256"] / "manifest.json").read_text())["rows"] == 10


def test_a_file_still_being_copied_is_not_ingested_until_it_is_complete(folders):
    landing, store = folders
    landing.mkdir()
    full = write_csv(landing.parent / "full.csv", balanced_rows(3)).read_bytes()
    growing = landing / "big.csv"
    growing.write_bytes(full[: len(full) // 2])  # half copied, modified just now

    early = run_ingest(landing, store, min_age="30")

    assert early.returncode == 0, early.stderr
    result = result_of(early)
    assert (result["status"], result["pending"]) == ("none", ["big.csv"])
    assert not store.exists() and growing.exists()

    with growing.open("ab") as handle:  # the copy finishes, then nobody touches it for a while
        handle.write(full[len(full) // 2:])
    aged(growing)
    done = result_of(run_ingest(landing, store, min_age="30"))

    assert done["status"] == "new" and done["sha256"] == hashlib.sha256(full).hexdigest()


def test_ingest_waits_for_a_growing_file_to_settle_and_takes_the_whole_file(folders):
    landing, store = folders
    landing.mkdir()
    full = write_csv(landing.parent / "full.csv", balanced_rows(3)).read_bytes()
    growing = landing / "slow.csv"
    growing.write_bytes(full[:100])

    def finish_copy() -> None:
        time.sleep(0.6)
        with growing.open("ab") as handle:
            handle.write(full[100:])

    writer = threading.Thread(target=finish_copy)
    writer.start()
    result = ingest(landing, store, min_age=1.0, max_wait=10.0)
    writer.join()

    assert result["status"] == "new" and result["sha256"] == hashlib.sha256(full).hexdigest()


@pytest.mark.parametrize("name, content, words", [
    ("images.csv", b"\x89PNG\r\n\x1a\n\x00\x00binary", "not UTF-8"),
    ("wrong.csv", b"id,value\n1,2\n", "no 'label' column"),
    ("header_only.csv", b"label,pixel1,pixel2\n", "header only"),
    ("broken.csv.gz", b"not gzip at all", "corrupt gzip"),
])
def test_an_unreadable_file_fails_in_one_line_and_leaves_the_store_unchanged(folders, name, content, words):
    landing, store = folders
    landing.mkdir()
    aged(write_csv(landing / "good.csv", balanced_rows(1)), 300)
    assert result_of(run_ingest(landing, store))["status"] == "new"
    before = sorted(p.relative_to(store) for p in store.rglob("*"))
    bad = landing / name
    bad.write_bytes(content)
    aged(bad)

    done = run_ingest(landing, store)

    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith(f"error: ingest: {bad}: ") and words in done.stderr
    assert sorted(p.relative_to(store) for p in store.rglob("*")) == before
    rejected = list((landing / "rejected").iterdir())
    assert not bad.exists() and any(p.name.endswith(name + ".reason") for p in rejected)


def test_an_empty_landing_folder_ingests_nothing(folders):
    landing, store = folders

    assert ingest(landing, store, min_age=1, max_wait=0) == {"status": "none", "pending": []}
    assert not store.exists()


# --- The landing folder is a boundary: links, hard links and non-CSV files are refused without being read ---

SECRET_FILES = {
    "outside.csv": "label,pixel1,pixel2,pixel3,pixel4\n" + "\n".join(f"Bag,{i},2,3,4" for i in range(20)) + "\n",
    "simple_auth_manager_passwords.json.generated": "ADMIN_PASSWORD=hunter2-secret\n",
    "passwd": "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n",
}
SECRET_WORDS = ("hunter2", "ADMIN_PASSWORD", "root:x", "/bin/bash", "daemon", "Bag,")


def _outside(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / "elsewhere"
    folder.mkdir(exist_ok=True)
    target = folder / name
    target.write_text(SECRET_FILES[name])
    return target


def _assert_nothing_quoted(*texts: str) -> None:
    for text in texts:
        leaked = [word for word in SECRET_WORDS if word in text]
        assert not leaked, f"{leaked} leaked into: {text[:300]}"


def _reason_of(landing: Path, name: str) -> str:
    notes = [p for p in (landing / "rejected").iterdir() if p.name.endswith(name + ".reason")]
    assert len(notes) == 1, list((landing / "rejected").iterdir())
    return notes[0].read_text()


@pytest.mark.parametrize("target_name", sorted(SECRET_FILES))
def test_a_symbolic_link_in_the_landing_folder_is_rejected_without_reading_its_target(folders, tmp_path,
                                                                                      target_name):
    landing, store = folders
    landing.mkdir()
    target = _outside(tmp_path, target_name)
    link = landing / "batch.csv"
    link.symlink_to(target)

    with pytest.raises(StepError) as refused:
        ingest(landing, store, min_age=0, max_wait=0)

    assert not store.exists() and read_index(store) == []
    moved = [p for p in (landing / "rejected").iterdir() if p.name.endswith("batch.csv")]
    assert len(moved) == 1 and moved[0].is_symlink() and os.readlink(moved[0]) == str(target)
    assert target.read_text() == SECRET_FILES[target_name]  # the target stays where it was, untouched
    reason = _reason_of(landing, "batch.csv")
    assert "batch.csv" in reason and "symbolic link" in reason
    _assert_nothing_quoted(str(refused.value), reason)


def test_the_ingest_cli_refuses_a_link_to_a_password_file_and_prints_none_of_it(folders, tmp_path):
    landing, store = folders
    landing.mkdir()
    (landing / "fresh.csv").symlink_to(_outside(tmp_path, "simple_auth_manager_passwords.json.generated"))

    done = run_ingest(landing, store, min_age="0")

    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: ingest: {landing / 'fresh.csv'}: is a symbolic link")
    assert not store.exists() and not (landing / "fresh.csv").is_symlink()
    _assert_nothing_quoted(done.stdout, done.stderr, _reason_of(landing, "fresh.csv"))


def test_a_hard_link_to_a_file_outside_the_landing_folder_is_rejected_and_nothing_is_stored(folders, tmp_path):
    landing, store = folders
    landing.mkdir()
    target = _outside(tmp_path, "outside.csv")
    os.link(target, landing / "linked.csv")
    aged(landing / "linked.csv")

    with pytest.raises(StepError) as refused:
        ingest(landing, store, min_age=5, max_wait=0)

    assert not store.exists() and read_index(store) == []
    reason = _reason_of(landing, "linked.csv")
    assert "linked.csv" in reason and "2 hard links" in reason
    assert target.read_text() == SECRET_FILES["outside.csv"]
    _assert_nothing_quoted(str(refused.value), reason)


@pytest.mark.parametrize("name, rule", [
    ("accounts.csv", "no 'label' column"),
    ("accounts.csv.bak", "not a dataset file name"),
])
def test_a_regular_file_that_is_not_a_label_csv_is_rejected_naming_the_rule_not_its_content(folders, name, rule):
    landing, store = folders
    landing.mkdir()
    (landing / name).write_text(SECRET_FILES["passwd"] + SECRET_FILES["simple_auth_manager_passwords.json.generated"])
    aged(landing / name)

    done = run_ingest(landing, store)

    assert done.returncode == 2 and rule in done.stderr
    reason = _reason_of(landing, name)
    assert name in reason and rule in reason
    assert not store.exists()
    _assert_nothing_quoted(done.stdout, done.stderr, reason)
