"""Which version is champion, telling "there is none" apart from "the registry could not say".

``tasks.registry.champion_version`` reads every MLflow error as "no champion", so an
unreachable server or a permission error made the gate deploy as on a first run. Here
only the registry's own answers for a missing model or a missing alias mean "none";
anything else is an error the gate must treat as an unscorable champion (fail closed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tasks.core.common import StepError
from tasks.model.registry import CHAMPION, download_model

_ABSENT_CODES = ("RESOURCE_DOES_NOT_EXIST",)


@dataclass(frozen=True)
class ChampionStatus:
    """The champion's version (None: no champion), or why the registry could not tell."""

    version: int | None = None
    error: str | None = None
    run_id: str | None = None

    @property
    def known(self) -> bool:
        """True when the registry answered (with a champion or with "none")."""
        return self.error is None


def _is_absent(err: Exception) -> bool:
    """The registry's answers for "no such model" and "no such alias" (MLflow 3.17, SQL and REST stores).

    A missing model is RESOURCE_DOES_NOT_EXIST; a missing alias is INVALID_PARAMETER_VALUE with
    "Registered model alias <alias> not found." (the same code also means a malformed request,
    hence the message check).
    """
    code = getattr(err, "error_code", None)
    if code in _ABSENT_CODES:
        return True
    text = str(err)
    return code == "INVALID_PARAMETER_VALUE" and "alias" in text and "not found" in text


def _first_line(err: Exception) -> str:
    lines = str(err).strip().splitlines()
    text = lines[0] if lines else type(err).__name__
    return text if len(text) <= 150 else text[:147] + "..."


def champion_status(client: Any, model_name: str, alias: str = CHAMPION) -> ChampionStatus:
    """Ask the registry for ``model_name``'s champion; never reads an error as "no champion"."""
    try:
        found = client.get_model_version_by_alias(model_name, alias)
    except Exception as err:  # noqa: BLE001 - any failure but "absent" must block, whatever raised it
        if _is_absent(err):
            return ChampionStatus()
        return ChampionStatus(error=f"registry error: {type(err).__name__}: {_first_line(err)}")
    return ChampionStatus(version=int(found.version), run_id=getattr(found, "run_id", None) or None)


def champion_status_at(tracking_uri: str, model_name: str, alias: str = CHAMPION) -> ChampionStatus:
    """:func:`champion_status` from a tracking URI: a store that cannot even be opened is an error too.

    (An MLflow client on a SQLite URI opens the database when it is created, so a corrupt or
    unreadable file fails before any lookup.)
    """
    try:
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri, tracking_uri)
    except Exception as err:  # noqa: BLE001 - same rule: only the registry's "absent" answers mean "none"
        return ChampionStatus(error=f"registry error: {type(err).__name__}: {_first_line(err)}")
    return champion_status(client, model_name, alias)


SIGNATURE_TAG = "input_signature"
FINGERPRINTS_DIR, FINGERPRINTS_FILE = "training", "fingerprints.npy"


def version_signature(tags: dict[str, str] | None) -> dict | None:
    """The input signature a registered version records in its tags; None if it has none (or not JSON)."""
    import json

    try:
        value = json.loads((tags or {}).get(SIGNATURE_TAG) or "null")
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def run_fingerprints(run_id: str, tracking_uri: str) -> Any:
    """The row fingerprints logged with a version's run; StepError if the artifact is missing."""
    import tempfile
    from pathlib import Path

    import mlflow

    from tasks.model.comparison import load_fingerprints

    with tempfile.TemporaryDirectory() as scratch:
        try:
            path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=f"{FINGERPRINTS_DIR}/"
                                                       f"{FINGERPRINTS_FILE}", dst_path=scratch,
                                                       tracking_uri=tracking_uri)
        except Exception as err:  # noqa: BLE001 - any failure to fetch it means "cannot compare fairly"
            raise StepError(f"no row fingerprints artifact ({_first_line(err)})") from err
        return load_fingerprints(Path(path))


class OtherInput(StepError):
    """The champion takes other images or categories than this run's: a separate model name fits."""


def score_champion(status: ChampionStatus, mlflow_client: Any, tracking_uri: str, model_name: str, test: Any,
                   challenger_correct: Any, challenger_seen: Any, signature: dict) -> Any:
    """The champion compared with the challenger on the test rows neither trained on: a ``ChampionState``.

    The one place the champion is scored. Anything that prevents a fair comparison (registry
    error, no or another input signature, no fingerprints, a model that will not load or takes
    other images) makes the state unscorable with a one-line problem, which blocks promotion.
    """
    from tasks.model.comparison import ChampionState

    if status.error is not None:
        return ChampionState.unscorable(status.error)
    if status.version is None:
        return ChampionState()
    try:
        return _scored(status.version, mlflow_client, tracking_uri, model_name, test, challenger_correct,
                       challenger_seen, signature)
    except OtherInput as err:
        return ChampionState.unscorable(str(err), status.version, other_input=True)
    except StepError as err:
        return ChampionState.unscorable(str(err), status.version)
    except Exception as err:  # noqa: BLE001 - fail closed on anything the registry or the model throws
        return ChampionState.unscorable(f"registry error: {type(err).__name__}: {_first_line(err)}", status.version)


def _scored(version: int, mlflow_client: Any, tracking_uri: str, model_name: str, test: Any, challenger_correct: Any,
            challenger_seen: Any, signature: dict) -> Any:
    import tempfile
    from pathlib import Path

    from tasks.data.encoding import class_indices
    from tasks.model.comparison import ChampionState, compare, row_fingerprints, signature_mismatch, unseen_rows
    from tasks.model.model_io import image_shape, load_model
    from tasks.model.scoring import predicted_classes

    registered = mlflow_client.get_model_version(model_name, str(version))
    recorded = version_signature(registered.tags)
    if recorded is None:
        raise StepError("it records no input signature")
    mismatch = signature_mismatch(recorded, signature, here="here", theirs="its")
    if mismatch:
        raise OtherInput(f"it takes other input: {mismatch}")
    champion_seen = run_fingerprints(registered.run_id, tracking_uri)
    with tempfile.TemporaryDirectory() as scratch:
        model = load_model(str(download_model(f"models:/{model_name}/{version}", tracking_uri, Path(scratch))))
    if image_shape(model) != tuple(test.x.shape[1:]):
        raise OtherInput(f"its model takes {image_shape(model)} images, this data has {tuple(test.x.shape[1:])}")
    champion_correct = predicted_classes(model, test) == class_indices(test.y)
    unseen = unseen_rows(row_fingerprints(test.x), champion_seen, challenger_seen)
    table = compare(champion_correct[unseen], challenger_correct[unseen])
    table.update(test_rows=len(test), champion_accuracy_all_test_rows=float(champion_correct.mean()),
                 challenger_accuracy_all_test_rows=float(challenger_correct.mean()))
    return ChampionState.scored(version, table)
