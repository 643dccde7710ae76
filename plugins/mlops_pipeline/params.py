"""The training DAG's trigger form: typed, bounded, documented Params grouped in sections.

Airflow validates a run's conf against these JSON-schema Params before any task
runs, so a wrong type or an out-of-range value never reaches a step.
"""

from __future__ import annotations

from airflow.sdk import Param

EMBEDDED_DATASET = "embedded://digits"
HIDDEN_ACTIVATIONS = ["relu", "tanh", "sigmoid", "elu", "selu", "gelu"]
OUTPUT_ACTIVATIONS = ["softmax", "linear"]
OPTIMIZERS = ["adam", "sgd", "rmsprop", "adamw", "nadam"]
LOSSES = ["sparse_categorical_crossentropy", "categorical_crossentropy"]
MODEL_TYPES = ["mlp", "cnn"]


def _data() -> dict[str, Param]:
    section = "Data"
    return {
        "dataset_uri": Param(EMBEDDED_DATASET, type="string", minLength=1, section=section, title="Dataset URI",
                             description="Fashion-MNIST-layout CSV (path, file://, http(s)://, s3://), IDX "
                             "'*-images-idx3-ubyte.gz' file or folder, or embedded://digits (offline default)."),
        "image_height": Param(8, type="integer", minimum=1, maximum=512, section=section, title="Image height",
                              description="Pixels per column: 8 for embedded digits, 28 for Fashion-MNIST."),
        "image_width": Param(8, type="integer", minimum=1, maximum=512, section=section, title="Image width",
                             description="Pixels per row: 8 for embedded digits, 28 for Fashion-MNIST."),
        "invalid_label_rate": Param(0.05, type="number", minimum=0, maximum=0.9, section=section,
                                    title="Injected invalid labels (embedded only)",
                                    description="Share of rows whose label becomes tshirt/hat/jacket/..."),
        "empty_cell_rate": Param(0.001, type="number", minimum=0, maximum=0.5, section=section,
                                 title="Injected empty cells (embedded only)",
                                 description="Share of pixel cells left empty."),
        "fault_seed": Param(42, type="integer", minimum=0, section=section, title="Fault seed",
                            description="Seed of the injected faults' positions."),
        "min_valid_label_share": Param(0.9, type="number", minimum=0, maximum=1, section=section,
                                       title="Least share of valid labels (raw check)",
                                       description="validate_raw fails the run if fewer rows carry a known "
                                       "category; prepare drops the rest. 0.9 lets the demo's 5% through."),
        "max_empty_cell_share": Param(0.01, type="number", minimum=0, maximum=1, section=section,
                                      title="Largest share of empty pixel cells (raw check)",
                                      description="validate_raw fails the run above this; prepare drops rows "
                                      "with empty cells."),
        "min_rows": Param(100, type="integer", minimum=1, section=section, title="Least number of rows",
                          description="validate_raw and validate_prepared fail a smaller dataset."),
        "min_class_share": Param(0.02, type="number", minimum=0, maximum=1, section=section,
                                 title="Least share of each class (prepared check)",
                                 description="validate_prepared fails the run if any category has fewer rows."),
        "test_size": Param(0.2, type="number", exclusiveMinimum=0, maximum=0.5, section=section,
                           title="Test share", description="Share of rows held out for evaluation."),
        "validation_size": Param(0.1, type="number", exclusiveMinimum=0, maximum=0.4, section=section,
                                 title="Validation share", description="Share of rows for early stopping."),
        "random_state": Param(42, type="integer", minimum=0, section=section, title="Random state",
                              description="Seed of the split, weight initialisation and shuffling."),
    }


def _model() -> dict[str, Param]:
    section = "Model"
    return {
        "use_pretrained_model": Param(False, type="boolean", section=section, title="Fine-tune a pretrained model",
                                      description="On: load base_model_uri and fine-tune it. Off: build a new model."),
        # The UI's form sends an emptied text field as null, so null must be allowed here.
        "base_model_uri": Param("", type=["string", "null"], section=section, title="Base model URI",
                                description="Model to fine-tune when the box above is on: empty for the registered "
                                "champion, models:/NAME/VERSION, or a .keras path / file:// URI."),
        "model_type": Param("mlp", type="string", enum=MODEL_TYPES, section=section, title="Model type",
                            description="mlp: Flatten-Dense(units)-Dense(classes), as in the thesis; cnn: small CNN."),
        "units": Param(128, type="integer", minimum=1, maximum=4096, section=section, title="Hidden units",
                       description="Neurons in the hidden Dense layer (mlp) or the dense head (cnn); 1..4096."),
        "hidden_activation": Param("relu", type="string", enum=HIDDEN_ACTIVATIONS, section=section,
                                   title="Hidden activation", description="Activation of the hidden layers."),
        "output_activation": Param("softmax", type="string", enum=OUTPUT_ACTIVATIONS, section=section,
                                   title="Output activation",
                                   description="softmax outputs class probabilities; linear trains on logits."),
        "optimizer": Param("adam", type="string", enum=OPTIMIZERS, section=section, title="Optimizer",
                           description="Keras optimizer; its learning rate is set under Training."),
        "loss": Param(LOSSES[0], type="string", enum=LOSSES, section=section, title="Loss",
                      description="Decides the label encoding: integer codes (sparse) or one-hot."),
    }


def _training() -> dict[str, Param]:
    section = "Training"
    return {
        "epochs": Param(100, type="integer", minimum=1, maximum=1000, section=section, title="Epochs",
                        description="Most passes over the training split (1..1000); early stopping may end sooner."),
        "batch_size": Param(32, type="integer", minimum=1, maximum=8192, section=section, title="Batch size",
                            description="Images per gradient step (1..8192)."),
        "learning_rate": Param(0.001, type="number", exclusiveMinimum=0, maximum=1, section=section,
                               title="Learning rate", description="Step size of the optimizer (0 < rate <= 1)."),
        "early_stopping_patience": Param(8, type="integer", minimum=0, maximum=100, section=section,
                                         title="Early-stopping patience",
                                         description="Epochs without validation-loss improvement before stopping."),
        "gpu_count": Param(1, type="integer", minimum=0, maximum=8, section=section, title="GPUs for training",
                           description="nvidia.com/gpu limit of the train pod (Kubernetes mode)."),
    }


def _deployment() -> dict[str, Param]:
    section = "Deployment"
    return {
        "accuracy_threshold": Param(0.9, type="number", minimum=0, maximum=1, section=section,
                                    title="Accuracy threshold",
                                    description="Deploy only if the test accuracy is at least this (0..1)."),
        "min_improvement": Param(0.0, type="number", minimum=0, maximum=1, section=section,
                                 title="Minimum improvement over the champion",
                                 description="Deploy only if the test accuracy beats the champion's, on the same "
                                 "test split, by at least this much."),
        "model_name": Param("fashion_mnist", type="string", pattern="^[A-Za-z0-9_.-]+$", section=section,
                            title="Model name",
                            description="Registered model name in MLflow, and the serving folder's name."),
    }


def training_params() -> dict[str, Param]:
    """Every Param of the training DAG, in form order."""
    return {**_data(), **_model(), **_training(), **_deployment()}
