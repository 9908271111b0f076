"""Cases, images, runs, notes and decisions in the database, and the audit log beside them.

Every change that matters to an investigation (a case made, a photo added, a run started,
decided, finished or interrupted, a note, an export) writes an audit line in the same
transaction as the change itself.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import db

RUN_STATUSES = ("queued", "running", "awaiting_review", "done", "failed", "interrupted")
FINISHED = frozenset({"done", "failed", "interrupted"})


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_id() -> str:
    return uuid.uuid4().hex


def _row(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


class Store:
    def __init__(self, path: Path) -> None:
        self.engine = db.connect(path)
        db.upgrade(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ audit
    @staticmethod
    def _audit(
        conn: Connection, action: str, case_id: str | None = None, run_id: str | None = None, **detail: Any
    ) -> None:
        conn.execute(
            db.audit.insert().values(at=now(), action=action, case_id=case_id, run_id=run_id, detail=detail or None)
        )

    def audit(self, action: str, case_id: str | None = None, run_id: str | None = None, **detail: Any) -> None:
        with self.engine.begin() as conn:
            self._audit(conn, action, case_id, run_id, **detail)

    def audit_log(self, case_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(db.audit).where(db.audit.c.case_id == case_id).order_by(db.audit.c.id))
            return [_row(r) for r in rows]

    # ------------------------------------------------------------------ cases
    def create_case(
        self,
        name: str,
        *,
        online: bool = False,
        allow_image_upload: bool = False,
        model: str | None = None,
        review: bool = True,
    ) -> dict[str, Any]:
        case = {
            "id": new_id(),
            "name": name,
            "created": now(),
            "online": online,
            "allow_image_upload": allow_image_upload,
            "model": model,
            "review": review,
        }
        with self.engine.begin() as conn:
            conn.execute(db.cases.insert().values(**case))
            self._audit(conn, "case_created", case["id"], name=name, online=online, model=model)
        return case

    def update_case(self, case_id: str, **changes: Any) -> dict[str, Any] | None:
        with self.engine.begin() as conn:
            done = conn.execute(db.cases.update().where(db.cases.c.id == case_id).values(**changes))
            if not done.rowcount:
                return None
            self._audit(conn, "case_settings", case_id, **changes)
        return self.case(case_id)

    def case(self, case_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(db.cases).where(db.cases.c.id == case_id)).first()
            return _row(row) if row else None

    def cases(self) -> list[dict[str, Any]]:
        counts = sa.select(db.images.c.case_id, sa.func.count().label("n")).group_by(db.images.c.case_id).subquery()
        query = (
            sa.select(db.cases, sa.func.coalesce(counts.c.n, 0).label("images"))
            .select_from(db.cases.outerjoin(counts, counts.c.case_id == db.cases.c.id))
            .order_by(db.cases.c.created.desc())
        )
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(query)]

    def case_detail(self, case_id: str) -> dict[str, Any] | None:
        """The case with its images, runs and notes, in one read transaction."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(db.cases).where(db.cases.c.id == case_id)).first()
            if row is None:
                return None
            case = _row(row)
            case["images"] = [
                _row(r)
                for r in conn.execute(
                    sa.select(db.images).where(db.images.c.case_id == case_id).order_by(db.images.c.created)
                )
            ]
            case["runs"] = [
                _row(r)
                for r in conn.execute(
                    sa.select(db.runs).where(db.runs.c.case_id == case_id).order_by(db.runs.c.created)
                )
            ]
            case["notes"] = [
                _row(r)
                for r in conn.execute(
                    sa.select(db.notes).where(db.notes.c.case_id == case_id).order_by(db.notes.c.created)
                )
            ]
            return case

    # ------------------------------------------------------------------ images and runs
    def add_image_and_run(self, case_id: str, image: dict[str, Any], run: dict[str, Any]) -> tuple[str, str]:
        """Record an uploaded photo (the same bytes in a case are one image) and its run."""
        with self.engine.begin() as conn:
            existing = conn.execute(
                sa.select(db.images.c.id).where(db.images.c.case_id == case_id, db.images.c.sha256 == image["sha256"])
            ).scalar()
            if existing is None:
                image_id = new_id()
                conn.execute(db.images.insert().values(id=image_id, case_id=case_id, created=now(), **image))
                self._audit(conn, "image_added", case_id, sha256=image["sha256"], filename=image["filename"])
            else:
                image_id = existing
            run_id = self._insert_run(conn, case_id, image_id, run)
        return image_id, run_id

    def _insert_run(self, conn: Connection, case_id: str, image_id: str, run: dict[str, Any]) -> str:
        run_id = new_id()
        conn.execute(
            db.runs.insert().values(
                id=run_id,
                case_id=case_id,
                image_id=image_id,
                status="queued",
                trace_file=f"{run_id}.jsonl",
                created=now(),
                **run,
            )
        )
        settings = {k: run.get(k) for k in ("online", "allow_image_upload", "model", "review", "rerun_of")}
        self._audit(conn, "run_queued", case_id, run_id, image_id=image_id, **settings)
        return run_id

    def rerun(self, run: dict[str, Any]) -> str:
        keep = ("question", "hint", "online", "allow_image_upload", "model", "review")
        with self.engine.begin() as conn:
            return self._insert_run(
                conn, run["case_id"], run["image_id"], {**{k: run[k] for k in keep}, "rerun_of": run["id"]}
            )

    def image(self, image_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(db.images).where(db.images.c.id == image_id)).first()
            return _row(row) if row else None

    def run(self, run_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(db.runs).where(db.runs.c.id == run_id)).first()
            return _row(row) if row else None

    def run_status(self, run_id: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(db.runs.c.status).where(db.runs.c.id == run_id)).scalar()

    def runs_with_status(self, *statuses: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(db.runs).where(db.runs.c.status.in_(statuses)).order_by(db.runs.c.created))
            return [_row(r) for r in rows]

    def set_run(self, run_id: str, action: str | None = None, *, expect: str | None = None, **values: Any) -> bool:
        """Change a run (only if its status is ``expect``, when given); audited as ``action``."""
        with self.engine.begin() as conn:
            query = db.runs.update().where(db.runs.c.id == run_id)
            if expect is not None:
                query = query.where(db.runs.c.status == expect)
            changed = conn.execute(query.values(**values)).rowcount
            if changed and action:
                case_id = conn.execute(sa.select(db.runs.c.case_id).where(db.runs.c.id == run_id)).scalar()
                detail = {k: v for k, v in values.items() if k in ("status", "error")}
                self._audit(conn, action, case_id, run_id, **detail)
            return bool(changed)

    def finish_run(self, run_id: str, result: dict[str, Any], evidence: list[dict], candidates: list[dict]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                db.runs.update()
                .where(db.runs.c.id == run_id)
                .values(status="done", result=result, finished=now(), error=None, review_request=None)
            )
            conn.execute(db.evidence.delete().where(db.evidence.c.run_id == run_id))
            conn.execute(db.candidates.delete().where(db.candidates.c.run_id == run_id))
            for item in evidence:
                conn.execute(
                    db.evidence.insert().values(
                        run_id=run_id,
                        evidence_id=str(item.get("id") or ""),
                        kind=str(item.get("kind") or ""),
                        value=str(item.get("value") or ""),
                        confidence=float(item.get("confidence") or 0.0),
                        record=item,
                    )
                )
            for rank, item in enumerate(candidates):
                conn.execute(
                    db.candidates.insert().values(
                        run_id=run_id,
                        rank=rank,
                        lat=float(item["lat"]),
                        lon=float(item["lon"]),
                        label=str(item.get("label") or ""),
                        score=float(item.get("score") or 0.0),
                        record=item,
                    )
                )
            case_id = conn.execute(sa.select(db.runs.c.case_id).where(db.runs.c.id == run_id)).scalar()
            self._audit(
                conn,
                "run_done",
                case_id,
                run_id,
                lat=result.get("lat"),
                lon=result.get("lon"),
                confidence=result.get("confidence"),
            )

    def run_evidence(self, run_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(db.evidence.c.record).where(db.evidence.c.run_id == run_id))
            return [r.record for r in rows]

    def run_candidates(self, run_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(db.candidates.c.record).where(db.candidates.c.run_id == run_id).order_by(db.candidates.c.rank)
            )
            return [r.record for r in rows]

    # ------------------------------------------------------------------ notes and decisions
    def add_note(self, case_id: str, text: str, image_id: str | None, run_id: str | None) -> dict[str, Any]:
        note = {
            "id": new_id(),
            "case_id": case_id,
            "image_id": image_id,
            "run_id": run_id,
            "text": text,
            "created": now(),
        }
        with self.engine.begin() as conn:
            conn.execute(db.notes.insert().values(**note))
            self._audit(conn, "note_added", case_id, run_id, note_id=note["id"], image_id=image_id)
        return note

    def start_review(self, run_id: str, decision: dict[str, Any]) -> bool:
        """Record a decision and move the run from awaiting_review to running, atomically:
        two decisions sent at once cannot both resume it."""
        with self.engine.begin() as conn:
            changed = conn.execute(
                db.runs.update()
                .where(db.runs.c.id == run_id, db.runs.c.status == "awaiting_review")
                .values(status="running")
            ).rowcount
            if not changed:
                return False
            conn.execute(db.decisions.insert().values(run_id=run_id, decision=decision, created=now()))
            case_id = conn.execute(sa.select(db.runs.c.case_id).where(db.runs.c.id == run_id)).scalar()
            self._audit(conn, "review_decided", case_id, run_id, decision=decision)
            return True

    def decisions(self, case_id: str) -> list[dict[str, Any]]:
        query = (
            sa.select(db.decisions)
            .select_from(db.decisions.join(db.runs, db.runs.c.id == db.decisions.c.run_id))
            .where(db.runs.c.case_id == case_id)
            .order_by(db.decisions.c.id)
        )
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(query)]
