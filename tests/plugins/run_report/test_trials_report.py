"""The run report's tuning section: the trials table (best first) and the chart of the metric against the settings."""

from __future__ import annotations

from run_report.trials import trials_chart, trials_rows, trials_section

TABLE = {"metric": "val_accuracy", "direction": "maximize", "trials": [
    {"number": 0, "settings": {"model_type": "mlp", "learning_rate": 0.001}, "state": "complete", "best_epoch": 5,
     "value": 0.91, "pruned": False, "seconds": 4.2},
    {"number": 1, "settings": {"model_type": "cnn", "learning_rate": 0.0001}, "state": "pruned", "best_epoch": 2,
     "value": 0.42, "pruned": True, "seconds": 1.1},
    {"number": 2, "settings": {"model_type": "cnn", "learning_rate": 0.01}, "state": "complete", "best_epoch": 7,
     "value": 0.95, "pruned": False, "seconds": 5.0},
    {"number": 3, "settings": {"model_type": "<script>", "learning_rate": 0.01}, "state": "fail", "best_epoch": None,
     "value": None, "pruned": False, "seconds": None},
]}


def test_the_trials_table_lists_settings_epoch_metric_pruned_and_time_best_first():
    header, rows = trials_rows(TABLE)

    assert header == ["trial", "model_type", "learning_rate", "best epoch", "val_accuracy", "pruned", "seconds"]
    assert [r[0] for r in rows] == ["2", "0", "1", "3"]  # completed best first; pruned and failed after
    assert rows[0] == ["2", "cnn", "0.01", "7", "0.95", "no", "5"]
    assert rows[2][5] == "yes" and rows[3][5] == "failed"


def test_a_loss_metric_puts_the_lowest_first():
    header, rows = trials_rows({**TABLE, "metric": "val_loss", "direction": "minimize"})

    assert header[4] == "val_loss" and [r[0] for r in rows][:2] == ["0", "2"]


def test_the_chart_draws_one_line_per_trial_with_a_value_the_best_on_top_the_pruned_dashed():
    svg = trials_chart(TABLE)

    assert svg.count("<polyline") == 3  # the failed trial has no value to draw
    lines = svg.split("<polyline")[1:]
    assert "trial 2" in lines[-1] and 'stroke-width="3"' in lines[-1]
    assert "stroke-dasharray" in next(line for line in lines if "trial 1" in line)
    assert ">learning_rate<" in svg and ">val_accuracy<" in svg


def test_the_section_escapes_values_and_is_empty_for_a_run_that_did_not_tune():
    html = trials_section(TABLE)

    assert "<script>" not in html and "&lt;script&gt;" in html and "4 trials" in html and "1 pruned" in html
    assert trials_section(None) == "" and trials_section({"trials": []}) == ""
