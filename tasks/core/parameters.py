"""Every setting of the pipeline, each declared once: type, default, bounds, choices, form text.

Step contracts (``tasks/contracts.py``) pick from these; the trigger form, the CLIs and
the DAG's arguments are built from them, so a default or a choice list exists once.
Sections order the trigger form: Data, Model, Training, Deployment.
"""

from __future__ import annotations

from tasks.core.contract import Setting
from tasks.core.layout import EMBEDDED_DIGITS, FASHION_MNIST_CATEGORIES, categories_problem
from tasks.core.search_space import parse_space

HIDDEN_ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "selu", "gelu")
OUTPUT_ACTIVATIONS = ("softmax", "linear")
OPTIMIZERS = ("adam", "sgd", "rmsprop", "adamw", "nadam")
LOSSES = ("sparse_categorical_crossentropy", "categorical_crossentropy")
MODEL_TYPES = ("mlp", "cnn")
SUITES = ("raw", "prepared")
# A registered model name is also a folder name: letters, digits, '_', '.', '-', never '.' or '..' alone.
MODEL_NAME_PATTERN = r"(?!\.{1,2}$)[A-Za-z0-9_.-]{1,100}"

DATA, MODEL, TRAINING, DEPLOYMENT = "Data", "Model", "Training", "Deployment"


def _data(name: str, kind: type, default: object, title: str, description: str, **rules: object) -> Setting:
    return Setting(name, kind, default, title, description, DATA, **rules)


DATASET_URI = _data("dataset_uri", str, EMBEDDED_DIGITS, "Dataset URI",
                    "Fashion-MNIST-layout CSV (path, file://, http(s)://, s3://), IDX '*-images-idx3-ubyte.gz' file "
                    f"or folder, or {EMBEDDED_DIGITS} (offline default).", cli=False)
IMAGE_HEIGHT = _data("image_height", int, 8, "Image height",
                     "Pixels per column: 8 for embedded digits, 28 for Fashion-MNIST.", minimum=1, maximum=512)
IMAGE_WIDTH = _data("image_width", int, 8, "Image width",
                    "Pixels per row: 8 for embedded digits, 28 for Fashion-MNIST.", minimum=1, maximum=512)
INVALID_LABEL_RATE = _data("invalid_label_rate", float, 0.05, "Injected invalid labels (embedded only)",
                           "Share of rows whose label becomes tshirt/hat/jacket/...", minimum=0, maximum=0.9)
EMPTY_CELL_RATE = _data("empty_cell_rate", float, 0.001, "Injected empty cells (embedded only)",
                        "Share of pixel cells left empty.", minimum=0, maximum=0.5)
FAULT_SEED = _data("fault_seed", int, 42, "Fault seed", "Seed of the injected faults' positions.", minimum=0)
MIN_VALID_LABEL_SHARE = _data("min_valid_label_share", float, 0.9, "Least share of valid labels (raw check)",
                              "validate_raw fails the run if fewer rows carry a known category; prepare drops the "
                              "rest. 0.9 lets the demo's 5% through.", minimum=0, maximum=1)
MAX_EMPTY_CELL_SHARE = _data("max_empty_cell_share", float, 0.01, "Largest share of empty pixel cells (raw check)",
                             "validate_raw fails the run above this; prepare drops rows with empty cells.",
                             minimum=0, maximum=1)
MIN_ROWS = _data("min_rows", int, 100, "Least number of rows",
                 "validate_raw and validate_prepared fail a smaller dataset.", minimum=1)
MIN_CLASS_SHARE = _data("min_class_share", float, 0.02, "Least share of each class (prepared check)",
                        "validate_prepared fails the run if any category has fewer rows.", minimum=0, maximum=1)
TEST_SIZE = _data("test_size", float, 0.2, "Test share", "Share of rows held out for evaluation.",
                  minimum=0, exclusive_minimum=True, maximum=0.5)
VALIDATION_SIZE = _data("validation_size", float, 0.1, "Validation share", "Share of rows for early stopping.",
                        minimum=0, exclusive_minimum=True, maximum=0.4)
RANDOM_STATE = _data("random_state", int, 42, "Random state",
                     "Seed of the split, weight initialisation and shuffling.", minimum=0)
DATA_WAIT_TIMEOUT_MINUTES = _data("data_wait_timeout_minutes", int, 60, "Wait for remote data (minutes)",
                                  "How long wait_for_data waits for a remote dataset before failing the run; a "
                                  "local path that does not exist fails at once.", minimum=1, maximum=360, cli=False)
# Ten non-empty comma-separated names for the form; distinctness is the rule's (JSON schema cannot say it).
CATEGORIES_PATTERN = r"\s*[^,\s][^,]*(?:,\s*[^,\s][^,]*){9}"
CATEGORIES = _data("categories", str, ",".join(FASHION_MNIST_CATEGORIES), "Category names",
                   "The 10 distinct category names, comma-separated, in label-code order (label 0 first). Labels "
                   "given as names must use these; integer labels 0..9 are named by them.",
                   pattern=CATEGORIES_PATTERN, max_length=1000, rule=categories_problem)
SUITE = _data("suite", str, None, "Suite", "Which checkpoint's expectation suite to run.", choices=SUITES,
              form=False)
REUSE_DATA_STEPS = _data("reuse_data_steps", bool, True, "Reuse earlier data work",
                         "fetch to split reuse an earlier run's outputs when the dataset's content and the settings "
                         "each step reads are the same (keyed by content, never by run); off: recompute.",
                         step_body=False)
REUSE_INDEX = _data("reuse_index", str, "", "Reuse index", "Folder of the content-keyed index of data step outputs "
                    "(the DAG gives <artifact root>/reuse); empty: no reuse.", form=False, step_body=False)
REUSE = (REUSE_DATA_STEPS, REUSE_INDEX)


def _model(name: str, kind: type, default: object, title: str, description: str, **rules: object) -> Setting:
    return Setting(name, kind, default, title, description, MODEL, **rules)


USE_PRETRAINED_MODEL = _model("use_pretrained_model", bool, False, "Fine-tune a pretrained model",
                              "On: load base_model_uri and fine-tune it. Off: build a new model.", cli=False)
# The UI's form sends an emptied text field as null, so null must be allowed here.
BASE_MODEL_URI = _model("base_model_uri", str, "", "Base model URI",
                        "Model to fine-tune when the box above is on: empty for the registered champion, "
                        "models:/NAME/VERSION, or a .keras path / file:// URI.", nullable=True)
MODEL_TYPE = _model("model_type", str, "mlp", "Model type",
                    "mlp: Flatten-Dense(units)-Dense(classes), as in the thesis; cnn: small CNN.", choices=MODEL_TYPES)
UNITS = _model("units", int, 128, "Hidden units",
               "Neurons in the hidden Dense layer (mlp) or the dense head (cnn); 1..4096.", minimum=1, maximum=4096)
HIDDEN_ACTIVATION = _model("hidden_activation", str, "relu", "Hidden activation", "Activation of the hidden layers.",
                           choices=HIDDEN_ACTIVATIONS)
OUTPUT_ACTIVATION = _model("output_activation", str, "softmax", "Output activation",
                           "softmax outputs class probabilities; linear trains on logits.", choices=OUTPUT_ACTIVATIONS)
OPTIMIZER = _model("optimizer", str, "adam", "Optimizer", "Keras optimizer; its learning rate is set under Training.",
                   choices=OPTIMIZERS)
LOSS = _model("loss", str, LOSSES[0], "Loss", "Decides the label encoding: integer codes (sparse) or one-hot.",
              choices=LOSSES)
CLASSES = _model("classes", int, 10, "Classes", "Number of output classes.", minimum=1, maximum=1000, form=False)


def _training(name: str, kind: type, default: object, title: str, description: str, **rules: object) -> Setting:
    return Setting(name, kind, default, title, description, TRAINING, **rules)


EPOCHS = _training("epochs", int, 100, "Epochs",
                   "Most passes over the training split (1..1000); early stopping may end sooner.",
                   minimum=1, maximum=1000)
BATCH_SIZE = _training("batch_size", int, 32, "Batch size", "Images per gradient step (1..8192).",
                       minimum=1, maximum=8192)
LEARNING_RATE = _training("learning_rate", float, 0.001, "Learning rate",
                          "Step size of the optimizer (0 < rate <= 1).", minimum=0, exclusive_minimum=True, maximum=1)
EARLY_STOPPING_PATIENCE = _training("early_stopping_patience", int, 8, "Early-stopping patience",
                                    "Epochs without validation-loss improvement before stopping.",
                                    minimum=0, maximum=100)
GPU_COUNT = _training("gpu_count", int, 1, "GPUs for training",
                      "nvidia.com/gpu limit of the train pod (Kubernetes mode); 0 runs it on a CPU node.",
                      minimum=0, maximum=8, cli=False)
# Tuning: the settings a search may vary, and how it runs (plan_trials and pick_best read these).
SEARCHABLE = (MODEL_TYPE, UNITS, LEARNING_RATE, BATCH_SIZE)
TUNING_METRICS = ("val_accuracy", "val_loss")


def _space_problem(text: str) -> str | None:
    try:
        parse_space(text, SEARCHABLE)
    except ValueError as exc:
        return str(exc)
    return None


TUNING_TRIALS = _training("tuning_trials", int, 0, "Tuning trials",
                          "Hyperparameter search before training: this many trials (each a train task on the train "
                          "and validation rows), then build_model and train use the best. 0 = off: the settings "
                          "above are used as given.", minimum=0, maximum=100, cli=False)
TUNING_PARALLELISM = _training("tuning_parallelism", int, 2, "Trials at once",
                               "Most trials running at the same time (each a pod with its own GPUs in Kubernetes "
                               "mode).", minimum=1, maximum=8, cli=False)
TUNING_METRIC = _training("tuning_metric", str, "val_accuracy", "Tuning metric",
                          "What the search optimises on the validation rows: val_accuracy (higher is better) or "
                          "val_loss (lower is better).", choices=TUNING_METRICS, cli=False)
SEARCH_SPACE = _training("search_space", str,
                         "model_type: mlp|cnn; units: 32..512 log; learning_rate: 0.0001..0.01 log; "
                         "batch_size: 16|32|64|128", "Search space",
                         "Searched settings, ';'-separated: 'name: a|b' (choices) or 'name: low..high [log]' "
                         "(range). Searchable: model_type, units, learning_rate, batch_size; each within its own "
                         "bounds.", max_length=1000, rule=_space_problem, cli=False)
TRIAL_STUDY = _training("trial_study", str, "", "Trial study", "Optuna storage URL of the study this run is a trial "
                        "of (empty: not a trial).", form=False)
TRIAL_NUMBER = _training("trial_number", int, -1, "Trial number", "The trial's number in the study.", minimum=-1,
                         form=False)
TRIAL_BUILD = _training("trial_build", str, "{}", "Trial model", "A trial's build_model settings as a JSON object: "
                        "the step builds this model instead of reading --model.", form=False)


def _deployment(name: str, kind: type, default: object, title: str, description: str, **rules: object) -> Setting:
    return Setting(name, kind, default, title, description, DEPLOYMENT, **rules)


ACCURACY_THRESHOLD = _deployment("accuracy_threshold", float, 0.9, "Accuracy threshold",
                                 "Deploy only if the test accuracy is at least this (0..1).", minimum=0, maximum=1,
                                 cli=False)
MIN_IMPROVEMENT = _deployment("min_improvement", float, 0.0, "Minimum improvement over the champion",
                              "Deploy only if the challenger's accuracy beats the champion's, on the test rows "
                              "neither model trained on, by at least this much (0 = strictly better).",
                              minimum=0, maximum=0.99, cli=False)
MIN_COMPARISON_ROWS = _deployment("min_comparison_rows", int, 100, "Least rows for the champion comparison",
                                  "Test rows that neither the champion nor the challenger trained on; with fewer, "
                                  "nothing is promoted (no fair comparison).", minimum=1, cli=False)
SIGNIFICANCE = _deployment("significance", float, 0.05, "Significance of the improvement",
                           "Deploy only if McNemar's exact test on the paired predictions gives p below this.",
                           minimum=0, exclusive_minimum=True, maximum=1, cli=False)
REPLACE_INCOMPATIBLE_CHAMPION = _deployment(
    "replace_incompatible_champion", bool, False, "Replace a champion that cannot be compared",
    "On: deploy even if the champion cannot be scored on this data (other image shape or categories, no "
    "fingerprints, registry error) or takes other input than this model; recorded in the promotion history.")
# Empty (or null, as the UI's form sends an empty text field): a training run names the model after its
# input (tasks/model/naming.py).
MODEL_NAME = _deployment("model_name", str, "", "Model name",
                         "Registered model name in MLflow, and the serving folder's name. Empty: a training run "
                         "names it after its input: fashion_mnist for 28x28 Fashion-MNIST images, "
                         "fashion_mnist_<H>x<W> for other sizes (the 8x8 digits: fashion_mnist_8x8), "
                         "classes_<hash>_<H>x<W> for other categories. Rollback needs it set.",
                         pattern=f"(?:{MODEL_NAME_PATTERN})?", nullable=True)
TARGET_VERSION = _deployment("target_version", int, 0, "Target version",
                             "Registered version to serve again; 0 = the previous champion.", minimum=0)
REASON = _deployment("reason", str, "manual rollback", "Reason", "Why: recorded in the promotion history.",
                     min_length=3, max_length=500)
BY = _deployment("by", str, "unknown", "By", "Who or what made the change (e.g. the Airflow run).", form=False)
TRACKING_URI = _deployment("tracking_uri", str, "", "Tracking URI", "MLflow tracking and registry URI.", form=False)
CANARY_PERCENT = _deployment("canary_percent", int, 0, "Canary share (%)",
                             "Share of the cluster's requests the new version gets first, beside the previous "
                             "champion (Gateway API HTTPRoute weights in deploy's serving.yaml); 0 = switch all at "
                             "once.", minimum=0, maximum=99)
SERVING_IMAGE = _deployment("serving_image", str, "docker.io/tensorflow/serving:2.21.0", "Serving image",
                            "TF Serving image of the rendered serving manifest; pin it by digest "
                            "(image@sha256:...).", form=False)
ENDPOINT = _deployment("endpoint", str, "", "Endpoint",
                       "Model server base URL speaking TF Serving's REST API (make serve, or the cluster's "
                       "TF Serving), e.g. http://127.0.0.1:8501; empty: load the model in process.",
                       pattern=r"(https?://[^\s/?#]+(/[^\s?#]*)?)?", form=False)
MONITOR = "Monitoring"


def _monitoring(name: str, kind: type, default: object, title: str, description: str, **rules: object) -> Setting:
    return Setting(name, kind, default, title, description, MONITOR, **rules)


MIN_LABELLED = _monitoring("min_labelled", int, 100, "Minimum labelled rows",
                           "Labelled feedback rows (or served predictions, for drift) a version needs before its "
                           "live figures can act: fewer are noise.", minimum=1)
MIN_LIVE_ACCURACY = _monitoring("min_live_accuracy", float, 0.8, "Minimum live accuracy",
                                "Below this accuracy on labelled feedback, the feedback becomes a new dataset "
                                "version (retraining).", minimum=0, maximum=1)
MAX_DRIFT = _monitoring("max_drift", float, 0.25, "Drift bound (PSI)",
                        "Population stability index above which the predicted classes or the pixel intensities "
                        "have drifted from the training rows (0.1 small, 0.25 large).", minimum=0)
CANARY_MAX_DROP = _monitoring("max_drop", float, 0.02, "Largest live-accuracy drop of a canary",
                              "The canary step rolls a canary back when even the top of its live accuracy's 95% "
                              "interval is below the stable version's minus this.", minimum=0, maximum=0.99,
                              form=False)
FEEDBACK_DB = _monitoring("feedback_db", str, "", "Feedback database",
                          "SQLAlchemy URL of the feedback store; empty: $PIPELINE_FEEDBACK_DB_URL, else SQLite "
                          "under the state folder (never passed on a command line: a URL may hold a password).",
                          form=False)
SERVING_ROOT = _deployment("serving_root", str, None, "Serving root", "Base folder of served models.", form=False)
RUN_PARAMS = _deployment("run_params", str, "{}", "Run parameters", "The run's parameters as a JSON object.",
                         form=False)
LINEAGE = _deployment("lineage", str, "{}", "Lineage", "Lineage tags as a JSON object of strings.", form=False)
