"""Benchmarks: the pipeline's performance budget, each figure against a baseline measured in the same run.

Scripts that print their figures and append them to ``benchmarks/results.jsonl``;
they never run inside the test suite (``tests/benchmarks`` only smoke-runs them on
tiny sizes). Entry point: ``python -m benchmarks`` (``make bench``).
"""
