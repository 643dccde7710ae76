"""Which version is champion, telling "there is none" apart from "the registry could not say".

``tasks.registry.champion_version`` reads every MLflow error as "no champion", so an
unreachable server or a permission error made the gate deploy as on a first run. Here
only the registry's own answers for a missing model or a missing alias mean "none";
anything else is an error the gate must treat as an unscorable champion (fail closed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CHAMPION = "champion"
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
