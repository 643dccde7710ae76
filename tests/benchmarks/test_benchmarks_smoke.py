"""Every benchmark ``make bench`` runs is still there to run: it imports and takes the suite's one argument.

Running them belongs to ``make bench`` (full size, recorded in ``benchmarks/results.jsonl``) and to
``make bench-quick`` (tiny sizes, nothing recorded: proves the code still runs, minutes, three DAG runs among
them); a test suite that timed them or ran whole pipelines would be the slowest thing in it. What the suite
keeps is the contract the runner relies on, checked in process.
"""

from __future__ import annotations

import importlib
import inspect

import pytest

from benchmarks.__main__ import BENCHMARKS, main

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("name", BENCHMARKS)
def test_every_listed_benchmark_imports_and_runs_with_the_quick_switch(name):
    module = importlib.import_module(f"benchmarks.{name}")
    run = getattr(module, "run", None)
    assert callable(run), f"benchmarks/{name}.py has no run(quick=...)"
    quick = inspect.signature(run).parameters.get("quick")
    assert quick is not None and quick.default is False, f"benchmarks/{name}.py: run(quick: bool = False)"


def test_a_name_outside_the_list_is_refused_before_anything_runs(capsys):
    with pytest.raises(SystemExit) as refused:
        main(["--quick", "--only", "no_such_benchmark"])
    assert refused.value.code == 2 and "invalid choice: 'no_such_benchmark'" in capsys.readouterr().err
