"""A fair, paired champion/challenger comparison and the promotion rule, as plain numpy.

Retraining on a new version of a dataset mostly reuses the same images, so a champion
scored on the challenger's test split is scored largely on rows it was trained on. Here
every image gets a fingerprint of its pixels; the two models are compared only on test
rows that neither trained on, row by row, and the challenger wins only if it is better by
a margin *and* McNemar's exact test says the difference is not noise. Anything that
prevents a fair comparison blocks promotion (fail closed) unless a person forces it.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tasks.core.common import StepError
from tasks.core.parameters import MIN_COMPARISON_ROWS, MIN_IMPROVEMENT, SIGNIFICANCE

FINGERPRINT_BYTES = 16
FINGERPRINT_DTYPE = np.dtype(f"S{FINGERPRINT_BYTES}")
MAX_REASON = 300
MAX_PROBLEM = 200
MAX_CATEGORY_SHOWN = 24
# What to do about a champion that takes other input, said the same way by the gate and by deploy.
OTHER_INPUT_HINT = "set model_name to register a separate model, or replace_incompatible_champion=true to replace it"
_CHUNK_ROWS = 512


def _as_bytes(x: np.ndarray) -> np.ndarray:
    """Images as uint8 rows: floats are read as [0, 1] (pixels / 255), integers as 0..255."""
    x = np.asarray(x)
    if x.ndim < 2:
        raise StepError(f"images must be an array of shape (rows, ...), got shape {x.shape}")
    flat = x.reshape(x.shape[0], -1)
    if flat.dtype == np.uint8:
        return np.ascontiguousarray(flat)
    if np.issubdtype(flat.dtype, np.integer):
        if flat.size and (flat.min() < 0 or flat.max() > 255):
            raise StepError("integer pixels must lie in 0..255")
        return np.ascontiguousarray(flat.astype(np.uint8))
    if not np.issubdtype(flat.dtype, np.floating):
        raise StepError(f"images must be numeric, got dtype {flat.dtype}")
    out = np.empty(flat.shape, np.uint8)
    for start in range(0, flat.shape[0], _CHUNK_ROWS):  # chunks stay in cache: ~10x faster than whole-array passes
        chunk = flat[start:start + _CHUNK_ROWS]
        if not chunk.size:
            break
        low, high = chunk.min(), chunk.max()  # NaN propagates into both; infinities fail the range check
        if np.isnan(low) or np.isnan(high):
            raise StepError("images contain NaN pixels: cannot fingerprint them")
        if low < -1e-6 or high > 1 + 1e-6:
            raise StepError(f"float pixels must be normalised to [0, 1], found {low:g}..{high:g}")
        scaled = np.multiply(chunk, np.float32(255.0), dtype=np.float32)  # float32 is exact enough for 256 levels
        out[start:start + _CHUNK_ROWS] = np.rint(scaled, out=scaled)
    return out


def row_fingerprints(x: np.ndarray) -> np.ndarray:
    """One 16-byte BLAKE2b digest per image, from its pixels alone.

    Pixels are quantised back to 0..255 first, so the same image read from a CSV (uint8)
    or from a prepared bundle (float32 / 255) or from IDX files gets one fingerprint;
    the label is not hashed, so a relabelled image is still recognised as seen.
    """
    rows = _as_bytes(x)
    flat, width, digest = memoryview(rows.reshape(-1)), rows.shape[1], hashlib.blake2b
    out = [digest(flat[i:i + width], digest_size=FINGERPRINT_BYTES).digest() for i in range(0, flat.nbytes, width)]
    return np.array(out, dtype=FINGERPRINT_DTYPE) if out else np.empty(0, dtype=FINGERPRINT_DTYPE)


def save_fingerprints(path: Path, fps: np.ndarray) -> None:
    """Write fingerprints as a ``.npy`` of fixed-size bytes, atomically (a crash leaves no half file)."""
    fps = np.asarray(fps)
    if fps.dtype != FINGERPRINT_DTYPE:
        raise StepError(f"fingerprints must have dtype {FINGERPRINT_DTYPE}, got {fps.dtype}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.save(handle, fps, allow_pickle=False)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def load_fingerprints(path: Path) -> np.ndarray:
    """Read fingerprints written by :func:`save_fingerprints`; one-line StepError if unreadable."""
    try:
        fps = np.load(Path(path), allow_pickle=False)
    except (OSError, ValueError) as err:
        raise StepError(f"{path}: cannot read row fingerprints ({str(err).splitlines()[0]})") from err
    if fps.dtype != FINGERPRINT_DTYPE or fps.ndim != 1:
        raise StepError(f"{path}: not a fingerprint file (dtype {fps.dtype}, shape {fps.shape})")
    return fps


def unseen_rows(test_fps: np.ndarray, *trained_fp_sets: np.ndarray) -> np.ndarray:
    """Boolean mask of the test rows that none of the given training sets contains."""
    test_fps = np.asarray(test_fps, dtype=FINGERPRINT_DTYPE)
    seen = [np.asarray(s, dtype=FINGERPRINT_DTYPE) for s in trained_fp_sets if len(s)]
    if not seen:
        return np.ones(len(test_fps), dtype=bool)
    return ~np.isin(test_fps, np.concatenate(seen))


def mcnemar_exact(champion_correct: np.ndarray, challenger_correct: np.ndarray) -> float:
    """Two-sided exact McNemar p-value: a binomial(n, 1/2) test on the discordant pairs.

    Only rows where exactly one model is right carry evidence; with none, p is 1.
    Computed in log space, so tens of thousands of discordant rows stay exact enough.
    """
    champion, challenger = _paired(champion_correct, challenger_correct)
    b = int(np.sum(champion & ~challenger))
    c = int(np.sum(~champion & challenger))
    n = b + c
    if n == 0:
        return 1.0
    k = np.arange(min(b, c) + 1, dtype=np.float64)
    log_pmf = (math.lgamma(n + 1) - _lgamma(k + 1) - _lgamma(n - k + 1)) - n * math.log(2.0)
    top = log_pmf.max()
    tail = math.exp(top) * float(np.exp(log_pmf - top).sum())
    return float(min(1.0, 2.0 * tail))


def _lgamma(values: np.ndarray) -> np.ndarray:
    return np.array([math.lgamma(v) for v in values], dtype=np.float64)


def _paired(champion_correct: np.ndarray, challenger_correct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    champion = np.asarray(champion_correct).astype(bool).ravel()
    challenger = np.asarray(challenger_correct).astype(bool).ravel()
    if champion.shape != challenger.shape:
        raise StepError(f"paired comparison needs one prediction per row from both models, got "
                        f"{champion.size} and {challenger.size}")
    return champion, challenger


def compare(champion_correct: np.ndarray, challenger_correct: np.ndarray) -> dict:
    """The comparison table on the same rows: accuracies, their difference, discordant counts, p-value."""
    champion, challenger = _paired(champion_correct, challenger_correct)
    rows = int(champion.size)
    b = int(np.sum(champion & ~challenger))
    c = int(np.sum(~champion & challenger))
    return {
        "rows": rows,
        "champion_accuracy": float(champion.mean()) if rows else None,
        "challenger_accuracy": float(challenger.mean()) if rows else None,
        "difference": (c - b) / rows if rows else None,
        "champion_only_correct": b,
        "challenger_only_correct": c,
        "p_value": mcnemar_exact(champion, challenger),
    }


@dataclass(frozen=True)
class ChampionState:
    """What the gate knows about the serving model.

    * no champion: ``ChampionState()``;
    * compared: ``ChampionState.scored(version, compare(...))`` on the rows neither model trained on;
    * not comparable: ``ChampionState.unscorable(problem, version)``, ``problem`` one line such as
      "it takes other input: image shape 28x28 here vs its 8x8", "no row fingerprints artifact" or
      "registry error: ..."; ``version`` is None when the registry could not even say which version
      serves; ``other_input`` is True when the champion takes other images or categories (then a
      separate model name is the usual way out).
    """

    version: int | None = None
    table: dict | None = None
    problem: str | None = None
    other_input: bool = False

    @classmethod
    def scored(cls, version: int, table: dict) -> ChampionState:
        return cls(version=int(version), table=dict(table))

    @classmethod
    def unscorable(cls, problem: str, version: int | None = None, other_input: bool = False) -> ChampionState:
        return cls(version=None if version is None else int(version),
                   problem=_one_line(problem, MAX_PROBLEM) or "unknown", other_input=bool(other_input))

    @property
    def exists(self) -> bool:
        return self.version is not None or self.problem is not None


def _one_line(text: str | None, limit: int) -> str:
    line = " ".join(str(text or "").split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _check_rule(min_comparison_rows: int, min_improvement: float, significance: float) -> None:
    """The gate's settings by their declared bounds (``tasks/core/parameters.py``), whoever calls the rule."""
    MIN_COMPARISON_ROWS.check(min_comparison_rows)
    MIN_IMPROVEMENT.check(min_improvement)
    SIGNIFICANCE.check(significance)


def decide_promotion(accuracy: float | None, accuracy_threshold: float, champion: ChampionState, *,
                     min_comparison_rows: int, min_improvement: float, significance: float,
                     replace_incompatible_champion: bool = False) -> tuple[bool, str, dict]:
    """Deploy or not, one line saying why, and the table the report and the log show. Fails closed.

    ``accuracy`` is the challenger's accuracy on its whole test split (the threshold's figure);
    the champion comparison uses only ``champion.table``, computed on rows neither model saw.
    """
    _check_rule(min_comparison_rows, min_improvement, significance)
    table = {"champion_version": champion.version, "challenger_test_accuracy": accuracy,
             "accuracy_threshold": accuracy_threshold, **(champion.table or {}), "min_comparison_rows":
             min_comparison_rows, "min_improvement": min_improvement, "significance": significance,
             "champion_problem": champion.problem, "forced": False}
    deploy, reason = _rule(accuracy, accuracy_threshold, champion, min_comparison_rows, min_improvement,
                           significance, replace_incompatible_champion)
    table["forced"] = deploy and champion.problem is not None
    table.update(decision="deploy" if deploy else "keep", reason=_one_line(reason, MAX_REASON))
    return deploy, table["reason"], table


def _rule(accuracy: float | None, threshold: float, champion: ChampionState, min_rows: int, min_improvement: float,
          significance: float, force: bool) -> tuple[bool, str]:
    if accuracy is None or not math.isfinite(accuracy):
        return False, f"no usable test accuracy ({accuracy!r}): not deploying"
    if accuracy < threshold:
        return False, f"accuracy {accuracy:.4f} < threshold {threshold:.4f}: not deploying"
    if not champion.exists:
        return True, f"accuracy {accuracy:.4f} >= threshold {threshold:.4f} and there is no champion yet: deploying"
    name = f"champion v{champion.version}" if champion.version is not None else "the champion"
    if champion.problem is not None:
        if force:
            return True, _around_problem(f"{name} cannot be compared (", champion.problem,
                                         "); replace_incompatible_champion=true: deploying (forced)")
        hint = OTHER_INPUT_HINT if champion.other_input else "set replace_incompatible_champion=true to replace it"
        return False, _around_problem(f"{name} cannot be compared (", champion.problem, f"): not deploying; {hint}")
    return _paired_rule(champion.table or {}, name, min_rows, min_improvement, significance)


def _around_problem(before: str, problem: str, after: str) -> str:
    """``before + problem + after`` within MAX_REASON: the problem is cut, never what to do about it."""
    return before + _one_line(problem, max(20, MAX_REASON - len(before) - len(after))) + after


def _paired_rule(table: dict, name: str, min_rows: int, min_improvement: float,
                 significance: float) -> tuple[bool, str]:
    rows = int(table.get("rows") or 0)
    if rows < min_rows:
        return False, (f"only {rows} test rows unseen by both {name} and the challenger (need {min_rows}): "
                       f"not deploying, no fair comparison")
    diff, p = float(table["difference"]), float(table["p_value"])
    figures = (f"on {rows} unseen rows challenger {table['challenger_accuracy']:.4f} vs {name} "
               f"{table['champion_accuracy']:.4f} ({diff:+.4f}, McNemar p={p:.3g})")
    if diff <= 0:
        return False, f"{figures}: challenger is not better, not deploying"
    if diff < min_improvement - 1e-12:
        return False, f"{figures}: gain below min_improvement {min_improvement:g}, not deploying"
    if p >= significance:
        return False, f"{figures}: not significant at {significance:g}, not deploying"
    return True, f"{figures}: better by >= {min_improvement:g} and significant at {significance:g}: deploying"


def model_signature(image_shape: tuple[int, ...], categories: list[str] | tuple[str, ...], label_encoding: str) -> dict:
    """What a model takes and what its outputs mean, as a JSON-ready dict kept with every version."""
    return {"image_shape": [int(v) for v in image_shape], "categories": [str(c) for c in categories],
            "label_encoding": str(label_encoding)}


def _shape_text(shape: object) -> str:
    return "x".join(str(v) for v in shape) if isinstance(shape, list | tuple) else repr(shape)


def _category_text(names: list, index: int) -> str:
    """The category name at ``index`` quoted and escaped (control characters too), cut short; "none" past the end."""
    if index >= len(names):
        return "none"
    name = str(names[index])
    return repr(name if len(name) <= MAX_CATEGORY_SHOWN else name[:MAX_CATEGORY_SHOWN - 3] + "...")


def signature_mismatch(served: dict | None, candidate: dict, here: str = "", theirs: str = "served") -> str | None:
    """One line naming what differs between the served model's signature and a candidate's; None if compatible.

    ``served=None`` means nothing is served yet, so anything is compatible. Each difference
    reads "<candidate's>[ here] vs <theirs> <served's>": deploy says "28x28 vs served 8x8", the
    gate "28x28 here vs its 8x8".
    """
    if served is None:
        return None

    def versus(new: object, old: object) -> str:
        return f"{new}{' ' + here if here else ''} vs {theirs} {old}"

    problems = []
    if list(served.get("image_shape") or []) != list(candidate.get("image_shape") or []):
        problems.append("image shape " + versus(_shape_text(candidate.get("image_shape")),
                                                _shape_text(served.get("image_shape"))))
    old, new = list(served.get("categories") or []), list(candidate.get("categories") or [])
    if old != new:
        first = next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), min(len(old), len(new)))
        problems.append(f"categories differ ({versus(len(new), len(old))}, first at index {first}: "
                        f"{versus(_category_text(new, first), _category_text(old, first))})")
    if served.get("label_encoding") != candidate.get("label_encoding"):
        problems.append("label encoding " + versus(repr(candidate.get("label_encoding")),
                                                   repr(served.get("label_encoding"))))
    return _one_line("; ".join(problems), MAX_REASON) if problems else None
