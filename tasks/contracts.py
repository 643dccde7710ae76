"""Each step's contract: the URIs it reads, the settings it takes, the files it writes, its image.

This module is light (standard library only) so that the DAG files, the runners and
the run report can read the contracts without importing pandas or TensorFlow. The
step modules take their CLI from here (``run_step(CONTRACTS["train"], argv, train)``).
``resolve_dataset``, ``choose_model`` and ``gate`` are not steps but Airflow tasks
that take settings from the form too; their contracts declare those settings.
"""

from __future__ import annotations

from tasks.core import parameters as p
from tasks.core.contract import Input, Output, StepContract

SHAPE = (p.IMAGE_HEIGHT, p.IMAGE_WIDTH)
CHECKS = (p.MIN_VALID_LABEL_SHARE, p.MAX_EMPTY_CELL_SHARE, p.MIN_ROWS, p.MIN_CLASS_SHARE)
FAULTS = (p.INVALID_LABEL_RATE, p.EMPTY_CELL_RATE, p.FAULT_SEED)
COMPILE = (p.OPTIMIZER, p.LOSS, p.LEARNING_RATE, p.OUTPUT_ACTIVATION)
MODEL_FILE = Output("model", "model.keras", "Keras model")

_CONTRACTS = (
    StepContract("ingest", "Version the oldest settled file of the landing folder into the dataset store.",
                 inputs=(Input("landing", "folder where new dataset files land"),
                         Input("store", "versioned dataset store folder")),
                 settings=(p.Setting("min_age", float, 30.0, "Settle time", "Seconds a file must be unchanged.",
                                     minimum=0, form=False),
                           p.Setting("max_wait", float, 60.0, "Settle wait", "Seconds to wait for a file to settle.",
                                     minimum=0, form=False)),
                 output_folder=False),
    StepContract("fetch", "Snapshot the run's dataset as one CSV and parse it, once, into a columnar copy.",
                 inputs=(Input("source", "dataset URI, or an embedded:// source"),),
                 settings=(*SHAPE, *FAULTS, *p.REUSE),
                 outputs=(Output("raw", "raw.csv", "the dataset, byte for byte or converted to the CSV layout"),
                          Output("columnar", "raw.arrow", "the CSV parsed once (Arrow): labels as text, pixels uint8"),
                          Output("profile", "raw_profile.json",
                                 "what raw validation must see (empty, non-numeric, out-of-range cells)"))),
    StepContract("make_dataset", "Write the embedded digits dataset (with its faults) as a CSV file.",
                 settings=FAULTS, output_folder=False, output_file="CSV file to write"),
    StepContract("validate", "Check a dataset against a Great Expectations suite before it is used.",
                 inputs=(Input("input", "raw CSV or fetch's raw_profile.json (raw suite), or prepared Arrow file "
                                        "(prepared suite)"),),
                 settings=(p.SUITE, *SHAPE, p.CATEGORIES, *CHECKS, *p.REUSE),
                 outputs=(Output("validation", "validation.json"), Output("data_docs", "data_docs/index.html"))),
    StepContract("prepare", "Clean the raw data: drop rows with empty cells or unknown labels, in record batches.",
                 inputs=(Input("input", "fetch's raw_profile.json (its columnar copy beside it), or a raw CSV"),),
                 settings=(*SHAPE, p.CATEGORIES, *p.REUSE),
                 outputs=(Output("prepared", "prepared.arrow", "Arrow IPC file: label names, uint8 pixels"),
                          Output("report", "prepare_report.json"))),
    StepContract("features", "Turn prepared rows into image arrays and encoded labels.",
                 inputs=(Input("input", "prepared Arrow file"),), settings=(*SHAPE, p.LOSS, p.CATEGORIES, *p.REUSE),
                 outputs=(Output("features", "features.npz", "uint8 images and encoded labels"),
                          Output("label_map", "label_map.json"))),
    StepContract("split", "Split the features into stratified train, validation and test bundles.",
                 inputs=(Input("input", "features bundle (.npz)"),),
                 settings=(p.TEST_SIZE, p.VALIDATION_SIZE, p.RANDOM_STATE, *p.REUSE),
                 outputs=(Output("train", "train.npz"), Output("val", "val.npz"), Output("test", "test.npz"))),
    StepContract("build_model", "Build a fresh, compiled Keras classifier from hyperparameters.",
                 settings=(p.MODEL_TYPE, *SHAPE, p.CLASSES, p.UNITS, p.HIDDEN_ACTIVATION, *COMPILE, p.RANDOM_STATE),
                 outputs=(MODEL_FILE,), image="train"),
    StepContract("load_pretrained", "Load a model (default: the champion) and adapt it to this run, to fine-tune.",
                 settings=(p.BASE_MODEL_URI, p.TRACKING_URI, p.MODEL_NAME, *SHAPE, p.CATEGORIES, p.CLASSES, *COMPILE),
                 outputs=(MODEL_FILE,), image="train"),
    StepContract("train", "Fit the model on the train split with early stopping on the validation split.",
                 inputs=(Input("model", "compiled .keras model to start from (a trial builds its own)",
                               required=False),
                         Input("train", "train bundle (.npz)"), Input("validation", "validation bundle (.npz)")),
                 settings=(p.EPOCHS, p.BATCH_SIZE, p.LEARNING_RATE, p.EARLY_STOPPING_PATIENCE, p.RANDOM_STATE,
                           p.GPU_COUNT, p.TRIAL_STUDY, p.TRIAL_NUMBER, p.TRIAL_BUILD),
                 outputs=(MODEL_FILE, Output("history", "history.json"),
                          Output("fingerprints", "fingerprints.npy", "fingerprints of the train and validation rows")),
                 image="train"),
    StepContract("evaluate", "Score the trained model on the test split: accuracy, loss, per-class metrics.",
                 inputs=(Input("model", "trained .keras model"), Input("test", "test bundle (.npz)")),
                 outputs=(Output("metrics", "metrics.json"), Output("confusion_matrix", "confusion_matrix.png"),
                          Output("report", "report.html"), Output("summary", "report.md"),
                          Output("predictions", "predictions.npz", "predicted class code of each test row, in order")),
                 image="train"),
    StepContract("register", "Log the run to MLflow, register the model and score the champion on unseen rows.",
                 inputs=(Input("model", "trained .keras model"), Input("history", "training history (.json)"),
                         Input("metrics", "evaluation metrics (.json)"), Input("test", "test bundle (.npz)"),
                         Input("parent", "model URI this one was fine-tuned from", required=False),
                         Input("fingerprints", "the training rows' fingerprints (default: beside the model)",
                               required=False),
                         Input("tuning", "the run's tuning study (study.db): trials logged as nested runs, the "
                                         "chosen settings recorded", required=False)),
                 settings=(p.TRACKING_URI, p.MODEL_NAME, p.RUN_PARAMS, p.LINEAGE),
                 outputs=(Output("registration", "registration.json"),
                          Output("model_card", "model_card.json", "the version's model card (also in MLflow)")),
                 image="train"),
    StepContract("deploy", "Make a registered version the champion and export it to the serving folder.",
                 settings=(p.TRACKING_URI, p.MODEL_NAME,
                           p.Setting("version", int, None, "Version", "Registered version to deploy.", minimum=1,
                                     form=False),
                           p.SERVING_ROOT, p.REASON, p.BY, p.REPLACE_INCOMPATIBLE_CHAMPION, p.CANARY_PERCENT,
                           p.SERVING_IMAGE),
                 outputs=(Output("manifest", "serving.yaml", "Kubernetes objects serving the deployed version, "
                                 "pinned (its SavedModel copied beside), canary stage if any"),),
                 image="train"),
    StepContract("rollback", "Move the champion back to an earlier version and serve it again.",
                 settings=(p.TRACKING_URI, p.MODEL_NAME, p.TARGET_VERSION, p.SERVING_ROOT, p.REASON, p.BY),
                 output_folder=False, image="train"),
    StepContract("predict", "Predict categories for CSV rows with a registered or saved model, or a served one.",
                 inputs=(Input("model_uri", "models:/NAME@champion, models:/NAME/N, or a path (or --endpoint)",
                               required=False),
                         Input("input", "CSV in the Fashion-MNIST layout")),
                 settings=(p.TRACKING_URI, *SHAPE, p.MODEL_NAME, p.ENDPOINT,
                           p.Setting("limit", int, 20, "Limit", "Rows to predict.", minimum=1, form=False)),
                 output_folder=False, image="train"),
    StepContract("monitor", "Live accuracy and drift per served version; land feedback as data when they fall short.",
                 inputs=(Input("landing", "landing folder the extended dataset is dropped into"),
                         Input("store", "dataset store whose latest version is the current dataset"),
                         Input("dataset", "the current dataset file instead of the store's latest", required=False)),
                 settings=(p.FEEDBACK_DB, p.MODEL_NAME, p.MIN_LABELLED, p.MIN_LIVE_ACCURACY, p.MAX_DRIFT),
                 outputs=(Output("report", "monitoring.json", "figures per version, alerts, the landed file"),),
                 image="train"),  # SQLAlchemy comes with MLflow there; the data image has no database client
    StepContract("canary", "Complete or roll back each canary in progress from its live feedback accuracy.",
                 settings=(p.TRACKING_URI, p.SERVING_ROOT, p.MODEL_NAME, p.FEEDBACK_DB, p.MIN_LABELLED,
                           p.CANARY_MAX_DROP, p.BY),
                 outputs=(Output("report", "canary.json", "each canary's verdict and the manifest written"),),
                 image="train"),
    # Airflow tasks that are not steps, for the form settings they decide on.
    StepContract("resolve_dataset", "Pick the dataset version a run trains on, and the shape of its images.",
                 settings=(p.DATASET_URI, *SHAPE), output_folder=False),
    StepContract("wait_for_data", "Wait for a remote dataset to appear; a local one must exist.",
                 settings=(p.DATA_WAIT_TIMEOUT_MINUTES,), output_folder=False),
    StepContract("choose_model", "Fine-tune a pretrained model or build a new one.",
                 settings=(p.USE_PRETRAINED_MODEL,), output_folder=False),
    StepContract("plan_trials", "Create the run's study and ask it for the trials' settings.",
                 settings=(p.TUNING_TRIALS, p.TUNING_PARALLELISM, p.TUNING_METRIC, p.SEARCH_SPACE),
                 output_folder=False),
    StepContract("gate", "Deploy only a challenger that clears the threshold and beats the champion, fairly.",
                 settings=(p.ACCURACY_THRESHOLD, p.MIN_IMPROVEMENT, p.MIN_COMPARISON_ROWS, p.SIGNIFICANCE,
                           p.REPLACE_INCOMPATIBLE_CHAMPION), output_folder=False),
)
CONTRACTS: dict[str, StepContract] = {c.step: c for c in _CONTRACTS}
DECIDERS = ("resolve_dataset", "wait_for_data", "choose_model", "plan_trials", "gate")
STEP_NAMES = tuple(name for name in CONTRACTS if name not in DECIDERS)
