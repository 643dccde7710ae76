# The single entry point for install, lint, test, demo and the UI (CI calls `make test`).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STATE := $(CURDIR)/.state
# make ui: where the local UI listens (a plain `=`, so an ambient PORT variable does not move it).
HOST = 127.0.0.1
PORT = 8080

# Embedded default: Airflow on SQLite inside the project, every step a local subprocess.
export AIRFLOW_HOME ?= $(STATE)/airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__UNIT_TEST_MODE := False
export AIRFLOW_CONN_FS_DEFAULT ?= fs://
export PIPELINE_MODE ?= local
export PIPELINE_STATE_DIR ?= $(STATE)
export GX_ANALYTICS_ENABLED := false
export MLFLOW_ENABLE_TELEMETRY := false
export DO_NOT_TRACK := true
export TF_CPP_MIN_LOG_LEVEL := 2
export PATH := $(CURDIR)/$(BIN):$(PATH)

# The tests run on WORKERS processes (pytest-xdist); tests sharing a module or the session's champion stay on one
# (tests/conftest.py). WORKERS=0 runs them in this process, one after another.
WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest $(if $(filter-out 0,$(WORKERS)),-n $(WORKERS) --dist loadscope --no-loadscope-reorder) --durations=15

.PHONY: install tools airflow-db demo test test-fast test-integration test-e2e test-images images lint ui mlflow-ui serve rollback bench bench-quick clean

install: $(VENV)/.installed

# The lock first, then this project, editable and with --no-deps (the lock decides every version): `import tasks`
# and `python -m tasks <step>` then work from any folder, with no PYTHONPATH or sys.path edit.
$(VENV)/.installed: requirements.in constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==26.3"
	$(BIN)/python -m pip install --quiet -r requirements.in -c constraints.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

## tools: checkov (the Kubernetes policy engine of tests/k8s) in its own environment: it cannot share the lock's
tools: $(STATE)/tools/checkov/.installed

$(STATE)/tools/checkov/.installed: tests/k8s/checkov-requirements.txt
	rm -rf $(STATE)/tools/checkov
	$(PYTHON) -m venv $(STATE)/tools/checkov
	$(STATE)/tools/checkov/bin/python -m pip install --quiet "pip==26.3"
	$(STATE)/tools/checkov/bin/python -m pip install --quiet -r tests/k8s/checkov-requirements.txt
	touch $@

airflow-db: install
	mkdir -p $(AIRFLOW_HOME)
	$(BIN)/airflow db migrate > $(STATE)/airflow-db-migrate.log 2>&1 || (tail -20 $(STATE)/airflow-db-migrate.log; exit 1)

## demo: set up and run the training DAG end to end on the embedded default dataset
demo: airflow-db
	$(BIN)/python scripts/run_dag.py fashion_mnist_training $(if $(CONF),--conf '$(CONF)')

## test: set up and run the whole test suite, every tier (unit, integration, end to end, images)
test: install tools
	$(PYTEST)

## test-fast: the unit tier: in-process, tiny data, no subprocess, no DAG run, no extra environment
test-fast: install
	$(PYTEST) -m unit

## test-integration: step CLIs, DAG integrity, pods and k8s objects, plugin routes
test-integration: install tools
	$(PYTEST) -m integration

## test-e2e: whole DAG runs (one lifecycle on a shared champion, ingest, rollback), the browser run
test-e2e: install
	$(PYTEST) -m e2e

## images: build the step images with podman (base stand-ins where the bases cannot be pulled); see images/README.md
## e.g. make images TF_VARIANT=gpu IMAGES="step-data step-train airflow"
images:
	scripts/images.sh all

## test-images: build the images and run every training step in its image under the restricted runtime
test-images: install
	$(PYTEST) -m images

lint: install
	$(BIN)/ruff check dags plugins tasks tests scripts benchmarks

## ui: Airflow UI on http://localhost:8080, listening on 127.0.0.1 only (LocalExecutor, SQLite); prints the
##     admin password. `make ui PORT=8791` picks another port; HOST=0.0.0.0 would open it to every network.
# standalone's API server binds [api] host and port; links and task workers follow the port.
ui: airflow-db
	AIRFLOW__API__HOST=$(HOST) AIRFLOW__API__PORT=$(PORT) AIRFLOW__API__BASE_URL=http://localhost:$(PORT) \
	  AIRFLOW__CORE__EXECUTION_API_SERVER_URL=http://127.0.0.1:$(PORT)/execution/ $(BIN)/airflow standalone

## mlflow-ui: MLflow UI on http://localhost:5000 over the local tracking store and registry
mlflow-ui: install
	mkdir -p $(STATE)/mlflow
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(STATE)/mlflow/mlflow.db --port 5000

## serve: the deployed champion over HTTP on http://127.0.0.1:8501 (TF Serving's REST API: POST
## /v1/models/<model>:predict); follows deploy and rollback without a restart. e.g. make serve PORT=9000
serve: PORT = 8501
serve: install
	$(BIN)/python -m tasks.serve --host $(HOST) --port $(PORT)

## rollback: move a model's champion back (default: to the previous one), e.g. CONF='{"model_name": "fashion_mnist_8x8", "reason": "..."}'
rollback: airflow-db
	$(BIN)/python scripts/run_dag.py fashion_mnist_rollback $(if $(CONF),--conf '$(CONF)')

bench: install
	$(BIN)/python -m benchmarks

## bench-quick: every benchmark on tiny sizes, nothing recorded: the benchmark code still runs (minutes, not a test)
bench-quick: install
	$(BIN)/python -m benchmarks --quick

clean:
	rm -rf $(STATE)
