"""The gate's comparison: which rows are fair to score on, whether a difference is evidence, and the rule."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from tasks.core.common import StepError
from tasks.data.sources import FASHION_SAMPLE_FILE
from tasks.model.comparison import (
    ChampionState,
    compare,
    decide_promotion,
    load_fingerprints,
    mcnemar_exact,
    model_signature,
    row_fingerprints,
    save_fingerprints,
    signature_mismatch,
    unseen_rows,
)

SAMPLE = FASHION_SAMPLE_FILE  # shipped with its MIT notice in tasks/data/samples
RULE = {"min_comparison_rows": 100, "min_improvement": 0.01, "significance": 0.05}


def correctness(rows: int, champion_only: int, challenger_only: int, both: int) -> tuple[np.ndarray, np.ndarray]:
    """Paired per-row correctness with the given discordant counts (the rest: both wrong)."""
    champion, challenger = np.zeros(rows, bool), np.zeros(rows, bool)
    champion[:champion_only] = True
    challenger[champion_only:champion_only + challenger_only] = True
    end = champion_only + challenger_only
    champion[end:end + both] = challenger[end:end + both] = True
    return champion, challenger


# --- fingerprints -----------------------------------------------------------------------------------------------

def test_an_image_has_one_fingerprint_whether_stored_as_bytes_or_normalised_floats():
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, size=(50, 28, 28), dtype=np.uint8)

    as_bytes = row_fingerprints(pixels)
    as_floats = row_fingerprints(pixels.astype(np.float32) / np.float32(255.0))
    as_flat_ints = row_fingerprints(pixels.reshape(50, -1).astype(np.int64))

    assert as_bytes.dtype == np.dtype("S16") and as_bytes.shape == (50,)
    assert (as_bytes == as_floats).all() and (as_bytes == as_flat_ints).all()
    assert len(set(as_bytes.tolist())) == 50


def test_one_changed_pixel_gives_another_fingerprint():
    image = np.zeros((1, 8, 8), np.uint8)
    changed = image.copy()
    changed[0, 7, 7] = 1

    assert row_fingerprints(image)[0] != row_fingerprints(changed)[0]


@pytest.mark.parametrize("bad, message", [
    (np.full((2, 4), 3.0), "normalised to \\[0, 1\\]"),
    (np.full((2, 4), np.nan), "NaN"),
    (np.full((2, 4), 300), "0..255"),
    (np.zeros(4), "shape"),
])
def test_images_that_cannot_be_fingerprinted_fail_with_one_line(bad, message):
    with pytest.raises(StepError, match=message):
        row_fingerprints(bad)


def test_a_full_dataset_gets_one_distinct_fingerprint_per_row():
    # How fast: benchmarks/data_path.py (make bench), where load cannot fail a test.
    pixels = np.random.default_rng(2).random((70_000, 784), dtype=np.float32)
    fps = row_fingerprints(pixels)
    assert fps.shape == (70_000,) and len(np.unique(fps)) == 70_000


def test_fingerprints_survive_a_round_trip_and_a_bad_file_says_so(tmp_path):
    fps = row_fingerprints(np.arange(30, dtype=np.uint8).reshape(3, 10))
    save_fingerprints(tmp_path / "fp" / "train.npy", fps)

    assert (load_fingerprints(tmp_path / "fp" / "train.npy") == fps).all()
    assert [p.name for p in (tmp_path / "fp").iterdir()] == ["train.npy"]  # no temporary left behind
    (tmp_path / "junk.npy").write_text("not numpy")
    with pytest.raises(StepError, match="junk.npy: cannot read row fingerprints"):
        load_fingerprints(tmp_path / "junk.npy")
    np.save(tmp_path / "floats.npy", np.zeros(3))
    with pytest.raises(StepError, match="not a fingerprint file"):
        load_fingerprints(tmp_path / "floats.npy")


def test_only_rows_that_no_model_trained_on_are_unseen():
    images = np.arange(60, dtype=np.uint8).reshape(6, 10)
    fps = row_fingerprints(images)
    champion_trained, challenger_trained = fps[:3], fps[2:4]

    assert unseen_rows(fps, champion_trained, challenger_trained).tolist() == [False] * 4 + [True] * 2
    assert unseen_rows(fps).all()


def test_real_images_read_from_csv_and_from_idx_get_the_same_fingerprints(tmp_path):
    # Given 999 real Fashion-MNIST images, read as the pipeline does from the CSV (pixels / 255 as float32)
    from tasks.core.layout import pixel_columns
    from tasks.data.cleaning import numeric_pixels
    from tasks.data.idx_format import read_idx_pair
    from tasks.data.raw_csv import read_raw_csv

    frame = read_raw_csv(str(SAMPLE), 28, 28)
    values = numeric_pixels(str(SAMPLE), frame, pixel_columns(28, 28))
    from_csv = values / np.float32(255.0)
    # and the same images re-serialised as an IDX pair (uint8 bytes)
    raw = values.astype(np.uint8)
    images = struct.pack(">IIII", 0x803, len(raw), 28, 28) + raw.tobytes()
    labels = struct.pack(">II", 0x801, len(raw)) + frame["label"].astype(int).to_numpy(np.uint8).tobytes()
    from_idx, _ = read_idx_pair("t10k-images-idx3-ubyte", images, "t10k-labels-idx1-ubyte", labels)

    # When both are fingerprinted
    csv_fps, idx_fps = row_fingerprints(from_csv.reshape(-1, 28, 28)), row_fingerprints(from_idx)

    # Then each image has one fingerprint across the two copies, and distinct images distinct ones
    assert len(csv_fps) == 999 and (csv_fps == idx_fps).all()
    distinct_images = len(np.unique(raw, axis=0))
    assert len(set(csv_fps.tolist())) == distinct_images
    # and a model trained on the CSV's first 700 rows has seen exactly those images in the IDX copy
    unseen = unseen_rows(idx_fps, csv_fps[:700])
    trained = {row.tobytes() for row in raw[:700]}
    assert not unseen[:700].any() and unseen[700:].tolist() == [row.tobytes() not in trained for row in raw[700:]]


# --- McNemar and the table --------------------------------------------------------------------------------------

@pytest.mark.parametrize("b, c, expected", [
    (0, 5, 2 / 32),                 # 2 * P(X <= 0), X ~ Bin(5, 1/2)
    (1, 9, 2 * 11 / 1024),          # 2 * (1 + 10) / 2^10
    (4, 4, 1.0),                    # symmetric: no evidence
    (0, 0, 1.0),                    # no discordant pair
])
def test_mcnemar_exact_matches_the_binomial_by_hand(b, c, expected):
    champion, challenger = correctness(b + c + 20, b, c, 10)

    assert mcnemar_exact(champion, challenger) == pytest.approx(expected, rel=1e-9)
    assert mcnemar_exact(challenger, champion) == pytest.approx(expected, rel=1e-9)


def test_mcnemar_agrees_with_scipy_on_tens_of_thousands_of_pairs():
    stats = pytest.importorskip("scipy.stats")
    champion, challenger = correctness(30_000, 5_000, 5_300, 15_000)

    expected = stats.binomtest(5_000, 10_300, 0.5).pvalue
    assert mcnemar_exact(champion, challenger) == pytest.approx(expected, rel=1e-6)


def test_the_table_reports_paired_figures_on_the_same_rows():
    champion, challenger = correctness(200, 10, 30, 150)

    table = compare(champion, challenger)

    assert table["rows"] == 200 and table["champion_only_correct"] == 10 and table["challenger_only_correct"] == 30
    assert table["champion_accuracy"] == pytest.approx(0.80) and table["challenger_accuracy"] == pytest.approx(0.90)
    assert table["difference"] == pytest.approx(0.10) and 0 < table["p_value"] < 0.01
    with pytest.raises(StepError, match="one prediction per row"):
        compare(champion, challenger[:-1])


# --- the promotion rule -----------------------------------------------------------------------------------------

def scored(b: int, c: int, rows: int = 1000) -> ChampionState:
    return ChampionState.scored(3, compare(*correctness(rows, b, c, rows // 2)))


def test_below_threshold_never_deploys_even_without_a_champion():
    deploy, reason, table = decide_promotion(0.70, 0.80, ChampionState(), **RULE)

    assert not deploy and reason == "accuracy 0.7000 < threshold 0.8000: not deploying"
    assert table["decision"] == "keep"


def test_with_no_champion_the_threshold_decides():
    deploy, reason, _ = decide_promotion(0.85, 0.80, ChampionState(), **RULE)

    assert deploy and "no champion yet: deploying" in reason


@pytest.mark.parametrize("problem", ["it takes 28x28 images, this data is 8x8", "no row fingerprints artifact",
                                     "other label set: 10 categories vs 3"])
def test_an_unscorable_champion_blocks_promotion_unless_forced(problem):
    champion = ChampionState.unscorable(problem, version=3)

    kept, reason, table = decide_promotion(0.99, 0.80, champion, **RULE)
    forced, forced_reason, forced_table = decide_promotion(0.99, 0.80, champion, **RULE,
                                                           replace_incompatible_champion=True)

    assert not kept and problem in reason and "replace_incompatible_champion=true" in reason
    assert not table["forced"] and table["champion_problem"] == problem
    assert forced and "(forced)" in forced_reason and forced_table["forced"]


def test_a_registry_error_is_not_read_as_no_champion():
    champion = ChampionState.unscorable("registry error: MlflowException: API request failed\nretries exhausted")

    deploy, reason, _ = decide_promotion(0.99, 0.80, champion, **RULE)

    assert not deploy and reason.startswith("the champion cannot be compared (registry error: MlflowException")
    assert "\n" not in reason


def test_too_few_unseen_rows_means_no_fair_comparison_and_no_promotion():
    deploy, reason, table = decide_promotion(0.95, 0.80, scored(0, 40, rows=60), **RULE)

    assert not deploy
    assert reason.startswith("only 60 test rows unseen by both champion v3 and the challenger (need 100)")
    assert table["rows"] == 60


@pytest.mark.parametrize("b, c, significance, verdict", [
    (30, 10, 0.05, "challenger is not better"),
    (20, 20, 0.05, "challenger is not better"),
    (40, 45, 0.05, "gain below min_improvement 0.01"),   # +0.005 on 1000 rows
    (10, 20, 0.05, "not significant at 0.05"),           # +0.010, p = 0.099
    (3, 13, 0.01, "not significant at 0.01"),            # +0.010, p = 0.021: significant at 0.05, not at 0.01
])
def test_a_challenger_that_is_not_clearly_better_keeps_the_champion(b, c, significance, verdict):
    deploy, reason, table = decide_promotion(0.95, 0.80, scored(b, c), **{**RULE, "significance": significance})

    assert not deploy and verdict in reason and table["decision"] == "keep"
    assert reason.startswith(f"on 1000 unseen rows challenger {(500 + c) / 1000:.4f} vs champion v3 "
                             f"{(500 + b) / 1000:.4f}")


def test_a_challenger_better_by_the_margin_and_significantly_is_promoted():
    deploy, reason, table = decide_promotion(0.95, 0.80, scored(10, 40), **RULE)

    assert deploy and table["decision"] == "deploy" and not table["forced"]
    assert reason == ("on 1000 unseen rows challenger 0.5400 vs champion v3 0.5100 (+0.0300, McNemar p=2.39e-05): "
                      "better by >= 0.01 and significant at 0.05: deploying")


def test_every_reason_is_one_short_line_that_keeps_what_to_do():
    long_problem = "registry error: " + "x" * 500 + "\nsecond line"
    states = [ChampionState(), ChampionState.unscorable(long_problem, 12345), scored(0, 40, 60), scored(10, 40),
              ChampionState.unscorable("it takes other input: " + "y" * 500, 7, other_input=True)]
    for state in states:
        for force in (False, True):
            _, reason, _ = decide_promotion(0.95, 0.80, state, **RULE, replace_incompatible_champion=force)
            assert "\n" not in reason and len(reason) <= 300, reason
            if state.problem:  # a long problem is cut, never the advice after it
                assert reason.endswith("(forced)" if force else "to replace it"), reason


def test_a_champion_that_takes_other_input_says_what_to_do_in_one_line():
    # Given a champion that takes 8x8 images, when the challenger takes 28x28 ones
    champion = ChampionState.unscorable("it takes other input: image shape 28x28 here vs its 8x8", 1,
                                        other_input=True)

    deploy, reason, _ = decide_promotion(0.99, 0.80, champion, **RULE)

    # Then the reason names both ways out: a separate model, or replacing this one
    assert not deploy
    assert reason == ("champion v1 cannot be compared (it takes other input: image shape 28x28 here vs its 8x8): "
                      "not deploying; set model_name to register a separate model, or "
                      "replace_incompatible_champion=true to replace it")


def test_a_champion_the_registry_cannot_read_is_not_advised_a_new_model_name():
    champion = ChampionState.unscorable("no row fingerprints artifact", 2)

    _, reason, _ = decide_promotion(0.99, 0.80, champion, **RULE)

    assert "model_name" not in reason and reason.endswith("set replace_incompatible_champion=true to replace it")


@pytest.mark.parametrize("rule, message", [
    ({**RULE, "min_comparison_rows": 0}, "min_comparison_rows"),
    ({**RULE, "significance": 0.0}, "significance"),
    ({**RULE, "min_improvement": -0.1}, "min_improvement"),
    ({**RULE, "min_improvement": 0.995}, "min_improvement=0.995: must be <= 0.99"),  # the form's bound, one rule
    ({**RULE, "min_improvement": float("nan")}, "min_improvement=nan: must be a finite number"),
])
def test_a_rule_that_could_never_or_always_pass_is_refused(rule, message):
    with pytest.raises(StepError, match=message):
        decide_promotion(0.9, 0.8, ChampionState(), **rule)


# --- input signatures -------------------------------------------------------------------------------------------

def test_a_signature_mismatch_names_what_differs_in_one_line():
    served = model_signature((28, 28), ["T-shirt/top", "Trouser"], "integer")
    digits = model_signature((8, 8), ["0", "1", "2"], "onehot")

    assert signature_mismatch(None, digits) is None
    assert signature_mismatch(served, model_signature([28, 28], ("T-shirt/top", "Trouser"), "integer")) is None
    assert signature_mismatch(served, digits) == ("image shape 8x8 vs served 28x28; categories differ (3 vs served 2, "
                                                  "first at index 0: '0' vs served 'T-shirt/top'); label encoding "
                                                  "'onehot' vs served 'integer'")


def test_differing_categories_are_named_escaped_and_cut_short_from_the_champions_side():
    # Given a champion whose ten categories are digit words, and a challenger with Fashion-MNIST's
    words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    fashion = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    champion = model_signature((28, 28), words, "integer")

    plain = signature_mismatch(champion, model_signature((28, 28), fashion, "integer"), here="here", theirs="its")
    odd = signature_mismatch(champion, model_signature((28, 28), ["a\nline " + "z" * 40, *words[1:]], "integer"),
                             here="here", theirs="its")
    longer = signature_mismatch(champion, model_signature((28, 28), [*words, "ten"], "integer"))

    # Then the two names at the first difference are shown, quoted; a control character is escaped, a long name cut
    assert plain == "categories differ (10 here vs its 10, first at index 0: 'T-shirt/top' here vs its 'zero')"
    assert f"first at index 0: 'a\\nline {'z' * 14}...' here vs its 'zero'" in odd and "\n" not in odd
    assert longer == "categories differ (11 vs served 10, first at index 10: 'ten' vs served none)"
