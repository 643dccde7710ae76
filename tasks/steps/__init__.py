"""The step CLIs: one module per pipeline step, a typed function plus a thin ``main(argv)``.

``python -m tasks <step>`` (tasks/__main__.py) runs ``tasks.steps.<step>.main``. Nothing else in
``tasks`` imports these modules: the scheduler imports only the contracts and the library below them.
"""
