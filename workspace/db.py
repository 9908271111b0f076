"""The workspace database: SQLite in WAL mode, its schema brought up to date by Alembic.

The tables are declared here for queries (SQLAlchemy Core); the schema itself is made and
changed only by the migrations in ``workspace/migrations`` (``upgrade`` runs them at start),
so a data folder written by an older version is upgraded in place, never by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).parent / "migrations"

metadata = sa.MetaData()

cases = sa.Table(
    "cases",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created", sa.String(40), nullable=False),
    sa.Column("online", sa.Boolean, nullable=False),
    sa.Column("allow_image_upload", sa.Boolean, nullable=False),
    sa.Column("model", sa.String(500)),
    sa.Column("review", sa.Boolean, nullable=False),
)
images = sa.Table(
    "images",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("case_id", sa.String(32), sa.ForeignKey("cases.id"), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("format", sa.String(16), nullable=False),
    sa.Column("media_type", sa.String(64), nullable=False),
    sa.Column("bytes", sa.Integer, nullable=False),
    sa.Column("width", sa.Integer, nullable=False),
    sa.Column("height", sa.Integer, nullable=False),
    sa.Column("created", sa.String(40), nullable=False),
)
runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("case_id", sa.String(32), sa.ForeignKey("cases.id"), nullable=False),
    sa.Column("image_id", sa.String(32), sa.ForeignKey("images.id"), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("question", sa.Text),
    sa.Column("hint", sa.Text),
    sa.Column("online", sa.Boolean, nullable=False),
    sa.Column("allow_image_upload", sa.Boolean, nullable=False),
    sa.Column("model", sa.String(500)),
    sa.Column("review", sa.Boolean, nullable=False),
    sa.Column("trace_file", sa.String(255), nullable=False),
    sa.Column("agent_run_id", sa.String(64)),
    sa.Column("review_request", sa.JSON),
    sa.Column("result", sa.JSON),
    sa.Column("error", sa.Text),
    sa.Column("rerun_of", sa.String(32)),
    sa.Column("created", sa.String(40), nullable=False),
    sa.Column("started", sa.String(40)),
    sa.Column("finished", sa.String(40)),
)
evidence = sa.Table(
    "evidence",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("evidence_id", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("confidence", sa.Float, nullable=False),
    sa.Column("record", sa.JSON, nullable=False),
)
candidates = sa.Table(
    "candidates",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("rank", sa.Integer, nullable=False),
    sa.Column("lat", sa.Float, nullable=False),
    sa.Column("lon", sa.Float, nullable=False),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("record", sa.JSON, nullable=False),
)
notes = sa.Table(
    "notes",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("case_id", sa.String(32), sa.ForeignKey("cases.id"), nullable=False),
    sa.Column("image_id", sa.String(32), sa.ForeignKey("images.id")),
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id")),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created", sa.String(40), nullable=False),
)
decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("decision", sa.JSON, nullable=False),
    sa.Column("created", sa.String(40), nullable=False),
)
audit = sa.Table(
    "audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("case_id", sa.String(32)),
    sa.Column("run_id", sa.String(32)),
    sa.Column("detail", sa.JSON),
)


def _pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def connect(path: Path) -> Engine:
    """An engine on the database file, every connection in WAL mode with foreign keys on."""
    engine = sa.create_engine(
        f"sqlite:///{path}",
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=8,
        max_overflow=16,
    )
    sa.event.listen(engine, "connect", _pragmas)
    return engine


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision (creates it in a new data folder)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        try:
            return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        except sa.exc.OperationalError:
            return None
