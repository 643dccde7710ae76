"""The hyperparameter search space as one line of text: which settings are searched, over what.

``model_type: mlp|cnn; units: 32..512 log; learning_rate: 0.0001..0.01 log; batch_size: 16|32|64|128``

Each entry names a searchable setting (declared once in ``tasks.core.parameters``) and
gives either choices (``a|b|c``) or a range (``low..high``, ``log`` for a log scale).
Values are read by the setting's own type and must keep its own bounds and choices, so
the space can never propose what the form itself would refuse. Standard library only:
the trigger form's rule and the DAG read it without Optuna.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tasks.core.contract import Setting


@dataclass(frozen=True)
class Dimension:
    """One searched setting: its choices, or its range (and whether the range is log-scaled)."""

    name: str
    kind: type
    choices: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None
    log: bool = False

    def text(self) -> str:
        if self.choices:
            return f"{self.name}: " + "|".join(map(str, self.choices))
        return f"{self.name}: {self.low}..{self.high}" + (" log" if self.log else "")


def _value(setting: Setting, text: str) -> Any:
    try:
        value = setting.kind(text.strip())
    except ValueError:
        raise ValueError(f"{setting.name}: {text.strip()!r} is not a {setting.kind.__name__}") from None
    problem = setting._problem(value)
    if problem:
        raise ValueError(f"{setting.name}: {value!r} {problem}")
    return value


def _dimension(setting: Setting, spec: str) -> Dimension:
    words = spec.split()
    log = words[-1:] == ["log"]
    body = " ".join(words[:-1] if log else words)
    if ".." in body:
        if setting.kind not in (int, float):
            raise ValueError(f"{setting.name}: a {setting.kind.__name__} setting takes choices (a|b), not a range")
        low, high = (_value(setting, part) for part in body.split("..", 1))
        if not low < high:
            raise ValueError(f"{setting.name}: range {low}..{high} must rise")
        return Dimension(setting.name, setting.kind, low=low, high=high, log=log)
    if log:
        raise ValueError(f"{setting.name}: 'log' belongs to a range (low..high log)")
    choices = tuple(dict.fromkeys(_value(setting, part) for part in body.split("|")))
    return Dimension(setting.name, setting.kind, choices=choices)


def parse_space(text: str, searchable: tuple[Setting, ...]) -> tuple[Dimension, ...]:
    """The dimensions ``text`` declares; ValueError naming the entry and the rule it breaks."""
    by_name = {s.name: s for s in searchable}
    dimensions: dict[str, Dimension] = {}
    for entry in filter(None, (part.strip() for part in text.split(";"))):
        name, colon, spec = entry.partition(":")
        name = name.strip()
        if not colon or not spec.strip():
            raise ValueError(f"entry {entry[:60]!r}: expected 'setting: a|b' or 'setting: low..high [log]'")
        if name not in by_name:
            raise ValueError(f"{name!r} cannot be searched; searchable: {', '.join(by_name)}")
        if name in dimensions:
            raise ValueError(f"{name} appears twice")
        dimensions[name] = _dimension(by_name[name], spec)
    if not dimensions:
        raise ValueError("the search space names no setting")
    return tuple(dimensions.values())


def space_text(dimensions: tuple[Dimension, ...]) -> str:
    """``dimensions`` written back in the form's syntax."""
    return "; ".join(d.text() for d in dimensions)
