"""A step's contract: its inputs, its settings and its outputs, declared once.

Everything that used to be written several times derives from these declarations:
the step's argparse CLI (:meth:`StepContract.parser`), the trigger form's Params and
the DAG's templated arguments (``plugins/mlops_pipeline/contract_wiring.py``), and
the names of the files a run report reads (:meth:`StepContract.output_path`). A
setting has one default, one list of choices and one set of bounds; the step checks
them where its arguments enter (:func:`run_step`), whoever started it.
"""

from __future__ import annotations

import argparse
import inspect
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tasks.core.common import StepError, require_writable, run_cli

TRUE_WORDS = {"true", "1", "yes", "on"}
FALSE_WORDS = {"false", "0", "no", "off"}
JSON_SCHEMA_DRAFT = "http://json-schema.org/draft-07/schema#"


@dataclass(frozen=True)
class Setting:
    """One tunable value: type, single default, bounds or choices, and how the form shows it.

    ``form`` settings become trigger-form Params (``{{ params.<name> }}`` in the DAG);
    the others are fixed by the wiring (an output folder's tracking URI, a suite name).
    ``cli=False`` marks a setting the orchestrator uses itself (a pod's GPU count, the
    gate's threshold) and never passes to a step's command line; ``step_body=False`` one
    the step's command line takes but :func:`run_step` keeps (whether to reuse earlier work).
    """

    name: str
    kind: type
    default: Any
    title: str
    description: str
    section: str = ""
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    choices: tuple[Any, ...] | None = None
    pattern: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    nullable: bool = False
    form: bool = True
    cli: bool = True
    step_body: bool = True  # False: on the CLI, but taken by ``run_step`` (data reuse), not the step function
    rule: Callable[[Any], str | None] | None = None  # a check JSON schema cannot say (returns the problem)

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def parse(self, text: str) -> Any:
        """A command-line string as this setting's type (argparse's ``type=``)."""
        if self.nullable and text == "":
            return None
        if self.kind is bool:
            word = text.strip().lower()
            if word in TRUE_WORDS | FALSE_WORDS:
                return word in TRUE_WORDS
            raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
        try:
            return self.kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {self.kind.__name__}, got {text[:60]!r}") from None

    def check(self, value: Any) -> Any:
        """Return ``value`` if it keeps this setting's rules; else fail with one line naming the rule."""
        if value is None:
            if self.nullable:
                return value
            raise StepError(f"{self.name}: a value is required")
        problem = self._problem(value)
        if problem:
            shown = repr(value[:80]) if isinstance(value, str) else repr(value)
            raise StepError(f"{self.name}={shown}: {problem}")
        return value

    def _problem(self, value: Any) -> str | None:
        if self.rule is not None and (problem := self.rule(value)):  # first: it says more than a pattern can
            return problem
        if self.choices is not None and value not in self.choices:
            return "must be one of " + ", ".join(map(str, self.choices))
        if self.pattern is not None and not re.fullmatch(self.pattern, str(value)):
            return f"must match {self.pattern}"
        if self.min_length is not None and len(value) < self.min_length:
            return f"must be at least {self.min_length} characters"
        if self.max_length is not None and len(value) > self.max_length:
            return f"must be at most {self.max_length} characters"
        if self.kind is float and not math.isfinite(value):
            return "must be a finite number"
        if self.minimum is not None and (value <= self.minimum if self.exclusive_minimum else value < self.minimum):
            return f"must be {'>' if self.exclusive_minimum else '>='} {self.minimum}"
        if self.maximum is not None and value > self.maximum:
            return f"must be <= {self.maximum}"
        return None

    def json_schema(self) -> dict[str, Any]:
        """The JSON-schema keywords of this setting (what Airflow's ``Param`` validates).

        The schema names its draft (07: every keyword here is in it). Airflow validates a Param's value with
        ``jsonschema.validate``, which first checks the schema against its draft's metaschema, on every
        resolve; with no draft named that is 2020-12's, about 3x slower, and a DAG run resolves each form
        setting for every task thousands of times (serialization, each task's start).
        """
        names = {bool: "boolean", int: "integer", float: "number", str: "string"}
        schema: dict[str, Any] = {"$schema": JSON_SCHEMA_DRAFT,
                                  "type": [names[self.kind], "null"] if self.nullable else names[self.kind]}
        if self.choices is not None:
            schema["enum"] = list(self.choices)
        if self.pattern is not None:
            schema["pattern"] = f"^(?:{self.pattern})$"
        if self.minimum is not None:
            schema["exclusiveMinimum" if self.exclusive_minimum else "minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        if self.min_length is not None or (self.kind is str and not self.nullable and self.default != ""):
            schema["minLength"] = self.min_length or 1
        if self.max_length is not None:
            schema["maxLength"] = self.max_length
        return schema


@dataclass(frozen=True)
class Input:
    """A URI the step reads; the DAG wires it to an upstream step's result."""

    name: str
    help: str
    required: bool = True

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class Output:
    """A named file in the step's output folder; the result JSON carries its path under ``name``."""

    name: str
    filename: str
    help: str = ""


@dataclass(frozen=True)
class StepContract:
    """What a step reads, which settings it takes, what it writes and which image runs it."""

    step: str
    summary: str
    inputs: tuple[Input, ...] = ()
    settings: tuple[Setting, ...] = ()
    outputs: tuple[Output, ...] = ()
    image: str = "data"
    output_folder: bool = True
    output_file: str = ""  # set (to its help) for a step that writes one file the caller names, not a folder

    def setting(self, name: str) -> Setting:
        return next(s for s in self.settings if s.name == name)

    def cli_settings(self) -> tuple[Setting, ...]:
        return tuple(s for s in self.settings if s.cli)

    def output_path(self, folder: str | Path, name: str) -> Path:
        """Where output ``name`` lives in this step's output ``folder``."""
        return Path(folder) / next(o.filename for o in self.outputs if o.name == name)

    def parameter_names(self) -> list[str]:
        """The keyword arguments the step function takes: inputs, ``output``, CLI settings."""
        return [*(i.name for i in self.inputs), *(["output"] if self.output_folder or self.output_file else []),
                *(s.name for s in self.cli_settings() if s.step_body)]

    def parser(self) -> argparse.ArgumentParser:
        """The step's CLI: one ``--flag`` per input and setting, with the declared default and choices."""
        parser = argparse.ArgumentParser(prog=f"python -m tasks {self.step}", description=self.summary,
                                         allow_abbrev=False)
        for item in self.inputs:
            parser.add_argument(item.flag, dest=item.name, required=item.required, default="",
                                help=item.help.replace("%", "%%"))
        if self.output_file:
            parser.add_argument("--output", required=True, type=Path, help=self.output_file)
        elif self.output_folder:
            files = ", ".join(o.filename for o in self.outputs)
            parser.add_argument("--output", required=True, type=Path, help=f"step output folder ({files})")
        for s in self.cli_settings():
            extra = f" (one of {', '.join(map(str, s.choices))})" if s.choices else ""
            parser.add_argument(s.flag, dest=s.name, type=s.parse, default=s.default,
                                help=f"{s.description}{extra} [default: {s.default!r}]".replace("%", "%%"))
        return parser

    def parse(self, argv: list[str] | None) -> dict[str, Any]:
        """Parsed and checked arguments, as the step function's keyword arguments."""
        values = vars(self.parser().parse_args(argv))
        for s in self.cli_settings():
            values[s.name] = s.check(values[s.name])
        return values


def run_step(contract: StepContract, argv: list[str] | None, body: Callable[..., dict],
             content: Callable[[dict[str, Any]], str | None] | None = None) -> int:
    """Parse ``argv`` by ``contract``, call ``body(**arguments)`` and report as every step does.

    A step whose contract takes the reuse settings goes through :func:`tasks.core.reuse.run`:
    an earlier run's outputs of the same content key are reused instead of calling ``body``;
    ``content`` gives its input's content key where no upstream step left one (``fetch``).
    """
    declared = set(contract.parameter_names())
    parameters = inspect.signature(body).parameters
    undeclared = {name for name, item in parameters.items() if item.default is inspect.Parameter.empty} - declared
    if declared - set(parameters) or undeclared:
        raise TypeError(f"{body.__name__} does not match the {contract.step} contract: it lacks "
                        f"{sorted(declared - set(parameters))}, needs undeclared {sorted(undeclared)}")

    def call() -> dict:
        arguments = contract.parse(argv)
        kept = {s.name: arguments.pop(s.name) for s in contract.cli_settings() if not s.step_body}
        for target in _write_targets(contract, arguments):
            require_writable(target)
        if "reuse_index" not in kept:
            return body(**arguments)
        from tasks.core import reuse

        settings = {s.name: arguments[s.name] for s in contract.cli_settings() if s.step_body}
        return reuse.run(contract.step, arguments, settings, kept, body, content,
                         inputs=tuple(i.name for i in contract.inputs))

    return run_cli(contract.step, call)


def _write_targets(contract: StepContract, arguments: Mapping[str, Any]) -> list[Path]:
    """The local folders a step will write into, checked before it starts any work.

    The output folder (or an output file's folder) and the serving root of ``deploy`` and
    ``rollback``: a step that cannot write there learns it in its first second, not after
    an hour of training.
    """
    targets = []
    if contract.output_folder or contract.output_file:
        output = Path(arguments["output"])
        targets.append(output.parent if contract.output_file else output)
    serving = arguments.get("serving_root")
    if serving and "://" not in str(serving):
        targets.append(Path(serving))
    return targets


