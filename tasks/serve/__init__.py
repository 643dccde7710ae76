"""The local model endpoint: TensorFlow Serving's REST protocol in front of MLflow's scoring server.

``python -m tasks.serve`` (``make serve``) answers ``POST /v1/models/<name>:predict`` with a
``{"instances": [...]}`` body, as TensorFlow Serving does in the cluster, and serves whatever
version the serving folder holds (``<serving root>/<name>/<version>/``, kept by ``deploy`` and
``rollback``), switching blue/green when it changes. See ``front.py`` and ``backends.py``.
"""
