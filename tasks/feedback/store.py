"""The feedback store: every served prediction and every label a user sends back, in a real database.

SQLite (a file under the state folder) by default; PostgreSQL in the cluster and in compose, by
``PIPELINE_FEEDBACK_DB_URL`` (``postgresql+psycopg2://user:password@host/db``). SQLAlchemy Core,
so both speak the same four tables:

- ``predictions``: who sent which image (its pixels), which model and version answered, what it said;
- ``feedback``: a label for a prediction (its id), by whom and when; the newest row per prediction counts;
- ``monitoring_checks``: each monitoring run's figures per served version (what the pages show);
- ``feedback_exports``: each dataset file the monitor wrote from feedback (so no row is exported twice).

Append-only: this module has no update or delete path, and the database refuses both (a trigger on
every table, SQLite and PostgreSQL alike), so a correction is a new ``feedback`` row, never an edit.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Engine, make_url

URL_ENV = "PIPELINE_FEEDBACK_DB_URL"
META = MetaData()
PREDICTIONS = Table(
    "predictions", META,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("username", String(256), nullable=False),
    Column("model_name", String(100), nullable=False, index=True),
    Column("model_version", String(32), nullable=False),
    Column("predicted", Integer, nullable=False),  # class code (index into the model's categories)
    Column("probabilities", Text, nullable=False),  # JSON list, one per class
    Column("source", String(8), nullable=False),  # png or csv
    Column("height", Integer, nullable=False),
    Column("width", Integer, nullable=False),
    Column("pixels", LargeBinary, nullable=False))  # height*width uint8, row by row
FEEDBACK = Table(
    "feedback", META,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("prediction_id", Integer, ForeignKey("predictions.id"), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("username", String(256), nullable=False),
    Column("label", Integer, nullable=False))  # class code the user says is right
CHECKS = Table(
    "monitoring_checks", META,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("model_name", String(100), nullable=False, index=True),
    Column("model_version", String(32), nullable=False),
    Column("report", Text, nullable=False))
EXPORTS = Table(
    "feedback_exports", META,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sha256", String(64), nullable=False, index=True),
    Column("path", Text, nullable=False),
    Column("base_sha256", String(64), nullable=False),
    Column("last_feedback_id", Integer, nullable=False),
    Column("rows", Integer, nullable=False))
TABLES = (PREDICTIONS, FEEDBACK, CHECKS, EXPORTS)


def default_url(environ: dict[str, str] | None = None) -> str:
    """``$PIPELINE_FEEDBACK_DB_URL``, else SQLite in ``<PIPELINE_STATE_DIR or <repo>/.state>/feedback/``."""
    env = os.environ if environ is None else environ
    if env.get(URL_ENV, "").strip():
        return env[URL_ENV].strip()
    state = Path(env.get("PIPELINE_STATE_DIR") or Path(__file__).resolve().parents[2] / ".state")
    return f"sqlite:///{state / 'feedback' / 'feedback.db'}"


def shown(url: str) -> str:
    """The URL for messages: a password never appears."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a malformed URL is described, not quoted
        return "(malformed database URL)"


def _append_only(engine: Engine) -> None:
    """Database triggers that refuse UPDATE and DELETE on every table (idempotent)."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            for table in TABLES:
                for verb in ("UPDATE", "DELETE"):
                    connection.execute(text(
                        f"CREATE TRIGGER IF NOT EXISTS {table.name}_no_{verb.lower()} BEFORE {verb} ON {table.name} "
                        f"BEGIN SELECT RAISE(ABORT, '{table.name} is append-only'); END"))
        elif engine.dialect.name == "postgresql":
            connection.execute(text(
                "CREATE OR REPLACE FUNCTION pipeline_append_only() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$ LANGUAGE plpgsql"))
            for table in TABLES:
                connection.execute(text(f"CREATE OR REPLACE TRIGGER {table.name}_append_only BEFORE UPDATE OR DELETE "
                                        f"ON {table.name} FOR EACH ROW EXECUTE FUNCTION pipeline_append_only()"))


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """One engine per URL per process, its tables and triggers created on first use."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA foreign_keys=ON"))
    META.create_all(engine)
    _append_only(engine)
    return engine


def _now() -> datetime:
    return datetime.now(UTC)


class FeedbackStore:
    """Append and read; nothing here changes or removes a row."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_url()
        self.engine = engine_for(self.url)

    def _insert(self, table: Table, **values: Any) -> int:
        with self.engine.begin() as connection:
            return int(connection.execute(insert(table).values(created_at=_now(), **values)).inserted_primary_key[0])

    def record_prediction(self, *, user: str, model_name: str, model_version: str, probabilities: Iterable[float],
                          pixels: np.ndarray, source: str) -> int:
        """Store one answered image; returns the prediction id feedback refers to."""
        scores = [float(p) for p in probabilities]
        image = np.asarray(pixels, dtype=np.uint8)
        return self._insert(PREDICTIONS, username=user, model_name=model_name, model_version=str(model_version),
                            predicted=int(np.argmax(scores)), probabilities=json.dumps(scores), source=source,
                            height=int(image.shape[0]), width=int(image.shape[1]), pixels=image.tobytes())

    def record_feedback(self, *, prediction_id: int, label: int, user: str) -> int:
        return self._insert(FEEDBACK, prediction_id=prediction_id, label=int(label), username=user)

    def record_check(self, model_name: str, model_version: str, report: dict[str, Any]) -> int:
        return self._insert(CHECKS, model_name=model_name, model_version=str(model_version),
                            report=json.dumps(report, sort_keys=True))

    def record_export(self, *, sha256: str, path: str, base_sha256: str, last_feedback_id: int, rows: int) -> int:
        return self._insert(EXPORTS, sha256=sha256, path=path, base_sha256=base_sha256,
                            last_feedback_id=last_feedback_id, rows=rows)

    def prediction(self, prediction_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(PREDICTIONS).where(PREDICTIONS.c.id == prediction_id)).mappings().first()
        return dict(row) if row else None

    def model_names(self) -> list[str]:
        with self.engine.connect() as connection:
            return sorted(connection.scalars(select(PREDICTIONS.c.model_name).distinct()).all())

    def predictions(self, model_name: str) -> list[dict[str, Any]]:
        """Every prediction of the model, oldest first, with its current label (the newest feedback) if any."""
        latest = (select(FEEDBACK.c.prediction_id, func.max(FEEDBACK.c.id).label("feedback_id"))
                  .group_by(FEEDBACK.c.prediction_id).subquery())
        query = (select(PREDICTIONS, FEEDBACK.c.label, latest.c.feedback_id)
                 .join(latest, latest.c.prediction_id == PREDICTIONS.c.id, isouter=True)
                 .join(FEEDBACK, FEEDBACK.c.id == latest.c.feedback_id, isouter=True)
                 .where(PREDICTIONS.c.model_name == model_name).order_by(PREDICTIONS.c.id))
        with self.engine.connect() as connection:
            return [dict(row) for row in connection.execute(query).mappings()]

    def latest_checks(self, model_name: str) -> dict[str, dict[str, Any]]:
        """The newest monitoring figures of each version of the model."""
        query = select(CHECKS).where(CHECKS.c.model_name == model_name).order_by(CHECKS.c.id)
        with self.engine.connect() as connection:
            return {row["model_version"]: {**json.loads(row["report"]), "checked_at": row["created_at"]}
                    for row in connection.execute(query).mappings()}

    def export_of(self, sha256: str, column: str = "sha256") -> dict[str, Any] | None:
        """The newest export that wrote these bytes (or, with ``column="base_sha256"``, extended them)."""
        with self.engine.connect() as connection:
            row = connection.execute(select(EXPORTS).where(EXPORTS.c[column] == sha256)
                                     .order_by(EXPORTS.c.id.desc())).mappings().first()
        return dict(row) if row else None


def live_accuracy(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per version: predictions, labelled rows, correct ones and the Wilson 95% interval of the accuracy."""
    from tasks.feedback.stats import wilson_interval

    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        figures = found.setdefault(str(row["model_version"]), {"predictions": 0, "labelled": 0, "correct": 0})
        figures["predictions"] += 1
        if row.get("label") is not None:
            figures["labelled"] += 1
            figures["correct"] += int(row["label"] == row["predicted"])
    for figures in found.values():
        n = figures["labelled"]
        figures["accuracy"] = figures["correct"] / n if n else None
        figures["interval"] = list(wilson_interval(figures["correct"], n)) if n else None
    return found
