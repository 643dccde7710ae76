"""The training DAG's exact pod specs, run by ``podman kube play`` on a volume like a real RWX one.

Given the step and MLflow images built from this checkout and pushed to a registry on
127.0.0.1:5000, a host folder owned root:root 0755 behind the ``pipeline-artifacts`` claim (podman
applies no ``fsGroup``, like a ReadWriteMany class that ignores it), an MLflow server from our
image on a real PostgreSQL, and the DAG parsed in ``kubernetes`` mode with helm-values.yaml's
environment, when each step's pod is rendered (earlier pods' results fed back as XCom) and played
in order, then:

- on the unprepared volume the first step stops at once, exit 2, in one line naming the folder;
- once k8s/prepare-artifacts-volume.yaml's pod has run, every step succeeds in its own pull of
  its image from that registry (``imagePullPolicy`` as rendered), the model is registered in the
  PostgreSQL-backed MLflow, deployed, and served from the volume, and no container of any pod
  names an image outside the registry.

What podman ignores (GPU requests, node selectors, tolerations) only a cluster checks.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.images import podman
from tests.support.services import PG_BIN, free_port, throwaway_postgres, wait_http

pytestmark = [pytest.mark.images, pytest.mark.slow, pytest.mark.timeout(3600)]
ROOT = Path(__file__).resolve().parents[2]
REGISTRY = "127.0.0.1:5000"
CLAIM = "pipeline-artifacts"
CONF = {"epochs": 3, "model_type": "mlp"}
RUN_ID = "manual__kube_play"
DAG_ID = "fashion_mnist_training"
SIDECAR = "airflow-xcom-sidecar"


def _unusable() -> str | None:
    reason = podman.unusable_reason()
    if reason:
        return reason
    if shutil.which("docker-registry") is None:
        return "Debian's docker-registry is not installed (apt-get install docker-registry)"
    if shutil.which("catatonit") is None:  # kube play's pause image is built around it
        return "catatonit is not installed: podman kube play cannot build its pause image (apt-get install catatonit)"
    if not (PG_BIN / "initdb").exists():
        return f"PostgreSQL 15 is not installed at {PG_BIN} (apt-get install postgresql)"
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 5000)) == 0:
            return "127.0.0.1:5000 is taken: the test's registry needs it"
    return None


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    """The environment of every podman call: runc and ulimits that work here, our registry as insecure."""
    reason = _unusable()
    if reason:
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("podman")
    (folder / "containers.conf").write_text('[containers]\ndefault_ulimits = ["nofile=20000:20000", '
                                            '"nproc=32768:32768"]\n[engine]\nruntime = "runc"\n')
    (folder / "registries.conf").write_text(f'unqualified-search-registries = []\n[[registry]]\n'
                                            f'location = "{REGISTRY}"\ninsecure = true\n')
    return {**os.environ, "CONTAINERS_CONF": str(folder / "containers.conf"),
            "CONTAINERS_REGISTRIES_CONF": str(folder / "registries.conf")}


def _podman(env: dict[str, str], *args: str, timeout: int = 600, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(["podman", *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"podman {' '.join(args[:3])} failed: {done.stderr[-2000:]}")
    return done


def pushed(image: str) -> str:
    return f"{REGISTRY}/fashion-mlops/{podman.IMAGE_NAMES[image]}:{podman.TAG}"


@pytest.fixture(scope="module")
def registry(env, tmp_path_factory) -> Iterator[dict[str, float]]:
    """Images built once and pushed to Debian's docker-registry; the local copies under its name removed."""
    build_s = podman.build_images(tmp_path_factory.mktemp("build") / "build.log", ("data", "train", "mlflow"))
    folder = tmp_path_factory.mktemp("registry")
    (folder / "config.yml").write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {folder}/store\n"
                                       f"http:\n  addr: {REGISTRY}\nlog:\n  level: warn\n")
    server = subprocess.Popen(["docker-registry", "serve", str(folder / "config.yml")], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://{REGISTRY}/v2/", 30)
        started = time.perf_counter()
        for image in ("data", "train", "mlflow"):
            _podman(env, "tag", podman.image_ref(image), pushed(image))
            # zstd: the same layers, ~30 % less CPU than gzip to compress (step-train: 45 against 64 CPU-s)
            _podman(env, "push", "--tls-verify=false", "--compression-format", "zstd", pushed(image), timeout=1800)
            _podman(env, "untag", pushed(image), pushed(image))  # this name only: the pods must pull it
        print(f"\nimages built in {build_s:.0f} s, pushed in {time.perf_counter() - started:.0f} s")
        yield {"build_s": build_s}
    finally:
        server.terminate()
        server.wait(30)


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL 15 cluster on 127.0.0.1 with MLflow's database."""
    with throwaway_postgres("mlflow") as server:
        yield f"{server}/mlflow"


@pytest.fixture(scope="module")
def mlflow_server(env, registry, postgres) -> Iterator[str]:
    """Our MLflow image, pulled from the registry, serving artifacts, on the PostgreSQL backend store."""
    port = free_port()
    name = f"mlflow-kube-play-{port}"
    _podman(env, "run", "-d", "--name", name, "--network", "host", "--pull", "always", "--tls-verify=false",
            "--env", f"MLFLOW_BACKEND_STORE_URI={postgres}", pushed("mlflow"), "--host=127.0.0.1", f"--port={port}",
            "--workers=1", "--serve-artifacts", "--artifacts-destination=/mlflow/artifacts",
            f"--allowed-hosts=127.0.0.1:{port},127.0.0.1,localhost:{port},localhost", timeout=900)
    uri = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_http(f"{uri}/health", 300)
        except OSError as err:
            logs = _podman(env, "logs", name, check=False)
            raise AssertionError(f"MLflow did not start ({err}):\n{logs.stderr[-3000:]}") from err
        yield uri
    finally:
        _podman(env, "rm", "-f", name, check=False)


def _helm_env(mlflow_uri: str) -> dict[str, str]:
    """helm-values.yaml's environment, with this machine's registry and MLflow in place of the cluster's."""
    values = yaml.safe_load((ROOT / "helm-values.yaml").read_text())
    env = {item["name"]: item["value"] for item in values["env"]}
    return {**env, "PIPELINE_DATA_IMAGE": pushed("data"), "PIPELINE_TRAIN_IMAGE": pushed("train"),
            "MLFLOW_TRACKING_URI": mlflow_uri, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}


@pytest.fixture(scope="module")
def dag(mlflow_server) -> Iterator[Any]:
    """The training DAG parsed in kubernetes mode with the Helm values' environment (kept for rendering)."""
    from airflow.dag_processing.dagbag import DagBag

    with pytest.MonkeyPatch.context() as mp:
        for name in ("PIPELINE_STATE_DIR", "PIPELINE_SERVING_ROOT", "PIPELINE_DATASET_STORE", "PIPELINE_LANDING_DIR"):
            mp.delenv(name, raising=False)
        for key, value in _helm_env(mlflow_server).items():
            mp.setenv(key, value)
        bag = DagBag(dag_folder=str(ROOT / "dags"))
        assert not bag.import_errors, bag.import_errors
        yield bag.dags[DAG_ID]


@pytest.fixture
def volume(env) -> Iterator[Path]:
    """A host folder root:root 0755 behind the claim; podman's one-time chown of a new volume spent on root."""
    folder = Path(tempfile.mkdtemp(prefix="rwx-", dir="/var/tmp"))
    folder.chmod(0o755)
    _podman(env, "volume", "rm", "-f", CLAIM, check=False)
    _podman(env, "volume", "create", "--opt", "type=none", "--opt", "o=bind", "--opt", f"device={folder}", CLAIM)
    _podman(env, "run", "--rm", "--network", "none", "-v", f"{CLAIM}:/v", podman.PYTHON_BASE, "/bin/true")
    assert (folder.stat().st_uid, folder.stat().st_gid, folder.stat().st_mode & 0o7777) == (0, 0, 0o755)
    yield folder
    _podman(env, "volume", "rm", "-f", CLAIM, check=False)
    shutil.rmtree(folder, ignore_errors=True)


def render_pod(dag: Any, task_id: str, params: dict, results: dict[str, dict]) -> dict:
    """The pod the task would send the API server for this run (earlier pods' results as XCom), as plain data."""
    from kubernetes.client import ApiClient

    from benchmarks.step_plan import render_task

    task, context = render_task(dag, task_id, params, results, RUN_ID)
    return ApiClient().sanitize_for_serialization(task.build_pod_request_obj(context=context, dry_run=True))


def play(env: dict[str, str], pod: dict, folder: Path, network: str = "none") -> dict[str, Any]:
    """Run ``pod`` with ``podman kube play``; its base container's exit code, logs and XCom result."""
    name = pod["metadata"]["name"]
    spec = folder / f"{name}.yaml"
    spec.write_text(yaml.safe_dump(pod, sort_keys=False))
    started = time.perf_counter()
    try:
        _podman(env, "kube", "play", "--network", network, "--tls-verify=false", str(spec), timeout=1800)
        base = pod["spec"]["containers"][0]["name"]
        code = int(_podman(env, "wait", f"{name}-{base}", timeout=1800).stdout.strip())
        logs = _podman(env, "logs", f"{name}-{base}", check=False)
        result = None
        if any(c["name"] == SIDECAR for c in pod["spec"]["containers"]):
            read = _podman(env, "exec", f"{name}-{SIDECAR}", "cat", "/airflow/xcom/return.json", check=False)
            result = json.loads(read.stdout) if read.returncode == 0 and read.stdout.strip() else None
        return {"code": code, "stdout": logs.stdout, "stderr": logs.stderr, "result": result,
                "seconds": time.perf_counter() - started}
    finally:
        _podman(env, "kube", "down", str(spec), check=False)


def _params(dag: Any) -> dict:
    from benchmarks.step_plan import resolve_params

    return resolve_params(dag, CONF)


def _network(pod: dict) -> str:
    """MLflow's steps reach the server on this host; every other step runs with no network at all."""
    args = " ".join(pod["spec"]["containers"][0].get("args") or [])
    return "host" if "--tracking-uri=http" in args or "--tracking-uri http" in args else "none"


def test_a_step_pod_on_an_unprepared_volume_stops_at_once_in_one_line(env, registry, dag, volume, tmp_path):
    from mlops_pipeline.settings import load_settings
    from mlops_pipeline.triggers import MANUAL, resolve_for_run

    params = _params(dag)
    store = load_settings().dataset_store
    results = {"resolve_dataset": resolve_for_run(MANUAL, [], store, params)}

    ran = play(env, render_pod(dag, "fetch", params, results), tmp_path)

    assert ran["code"] == 2, ran["stderr"][-2000:]
    assert "Traceback" not in ran["stderr"]
    assert ran["stderr"].strip().splitlines()[-1].startswith(
        "error: fetch: /artifacts: not writable by this step (uid 50000, gid 0): owned by 0:0 with mode 0755")
    assert ran["result"] is None
    assert list(volume.iterdir()) == []


def _prepare_pod() -> dict:
    """k8s/prepare-artifacts-volume.yaml's pod, its image set to the data step image as docs/kubernetes.md says."""
    job = yaml.safe_load((ROOT / "k8s" / "prepare-artifacts-volume.yaml").read_text())
    spec = copy.deepcopy(job["spec"]["template"]["spec"])
    spec["containers"][0]["image"] = pushed("data")
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": job["metadata"]["name"]}, "spec": spec}


def test_every_step_pod_runs_in_order_on_the_prepared_volume(env, registry, dag, mlflow_server, postgres, volume,
                                                            tmp_path):
    from benchmarks.step_plan import pipeline_task_ids
    from mlops_pipeline.decisions import gate_for
    from mlops_pipeline.settings import load_settings
    from mlops_pipeline.triggers import MANUAL, resolve_for_run
    from mlops_pipeline.tuning import untuned

    started = time.perf_counter()
    prepared = play(env, _prepare_pod(), tmp_path)
    assert prepared["code"] == 0, prepared["stderr"]
    assert "after: /artifacts 50000:0 2775" in prepared["stdout"]

    params = _params(dag)
    results: dict[str, dict] = {"resolve_dataset": resolve_for_run(MANUAL, [], load_settings().dataset_store, params),
                                "pick_best": untuned(params)}  # an untuned run: pick_best hands on the form's
    seconds, images = {}, set()
    for task_id in pipeline_task_ids(dag, False):
        if task_id == "deploy":
            deploy, reason, table = gate_for(params, results["register"])
            assert deploy, reason
            results["gate"] = {"reason": reason, "comparison": table}
        pod = render_pod(dag, task_id, params, results)
        images |= {c["image"] for c in pod["spec"]["containers"] + pod["spec"].get("initContainers", [])}
        ran = play(env, pod, tmp_path, _network(pod))
        assert ran["code"] == 0, f"{task_id}: {ran['stderr'][-2000:]}"
        assert ran["result"] is not None, f"{task_id} returned no XCom"
        results[task_id], seconds[task_id] = ran["result"], round(ran["seconds"], 1)
    print(f"\nprepare + {len(seconds)} step pods in {time.perf_counter() - started:.0f} s: {json.dumps(seconds)}")

    assert images == {pushed("data"), pushed("train")}
    for image in ("data", "train"):
        assert _podman(env, "image", "exists", pushed(image), check=False).returncode == 0  # pulled by the pods
    assert results["register"]["version"] == 1
    assert (results["deploy"]["version"], results["deploy"]["action"]) == (1, "deploy")
    assert any((volume / "serving").rglob("saved_model.pb"))
    _assert_registered_in_postgres(mlflow_server, postgres, results["register"])


def _assert_registered_in_postgres(mlflow_uri: str, postgres: str, registered: dict) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(mlflow_uri, mlflow_uri)
    name = registered["model_uri"].split("/")[1]
    champion = client.get_model_version_by_alias(name, "champion")
    tags = client.get_run(champion.run_id).data.tags
    assert champion.version == "1"
    assert tags["image"] == pushed("train")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    assert tags["git_commit"] == head  # the commit the image baked in is the version's lineage
    port = postgres.rsplit(":", 1)[1].split("/")[0]
    rows = subprocess.run(["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", str(PG_BIN / "psql"),
                           "-h", "127.0.0.1", "-p", port, "-U", "postgres", "-d", "mlflow", "-tAc",
                           "SELECT count(*) FROM model_versions"], capture_output=True, text=True, timeout=60)
    assert rows.stdout.strip() == "1", rows.stderr  # the registry lives in PostgreSQL, not in the server
