"""The sun as a witness: when the user measured shadows and the capture time is known,
check where they fit.

The play runs last, once the other plays have gathered their evidence, and asks
``shadow_locate`` to draw the band and to test the candidates the lanes would propose
now, so its evidence says in plain words which of them the sun allows (and, for a
time without zone, which zones). Verification later applies the same constraint to
every proposed candidate, the model's included (see ``graphs.verify``).

The capture time, in order of trust: the user's own (hint), the GPS clock (UTC, set
by satellites), the camera clock with its EXIF offset, the camera clock alone (zone
unknown: each candidate reads it in its own zone).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tools.evidence import Candidate

from ..policy import RunView
from .playbook import Lane, Play

#: Candidates tested and named in the evidence (verification checks all of them anyway).
MAX_CHECKED = 8
#: A candidate this wide is a country; the sun is checked over at most this radius of it.
MAX_CHECK_RADIUS_KM = 1500.0


def capture_time(view: RunView) -> tuple[str, str] | None:
    """(time text, where it came from) for the run, or None when nobody knows."""
    if view.hint is not None and view.hint.time:
        return view.hint.time, "the user's hint"
    gps_time = None
    camera: tuple[str, str] | None = None
    for item in view.evidence:
        if item.kind != "exif":
            continue
        field = item.details.get("field")
        if field == "gps" and item.details.get("utc_time") and gps_time is None:
            gps_time = (str(item.details["utc_time"]), f"the GPS clock in the EXIF of {item.image}")
        elif field == "time" and item.details.get("taken") and camera is None:
            offset = item.details.get("utc_offset")
            where = f"EXIF DateTimeOriginal of {item.image}"
            if offset:
                camera = (f"{item.details['taken']}{offset}", f"{where} with its offset {offset}")
            else:
                camera = (str(item.details["taken"]), f"{where} (no zone recorded)")
    return gps_time or camera


def _checks(candidates: Sequence[Candidate]) -> list[dict[str, Any]]:
    seen: set[tuple[float, float]] = set()
    out = []
    for candidate in sorted(candidates, key=lambda c: -c.score):
        key = (round(candidate.lat, 2), round(candidate.lon, 2))
        if key in seen:
            continue
        seen.add(key)
        out.append(
            {
                "lat": candidate.lat,
                "lon": candidate.lon,
                "label": candidate.label or f"{candidate.lat:.3f}, {candidate.lon:.3f}",
                "radius_km": min(candidate.radius_km, MAX_CHECK_RADIUS_KM),
            }
        )
        if len(out) >= MAX_CHECKED:
            break
    return out


class SunPlay(Play):
    """Test the user's shadow measurements against the capture time and the candidates so far."""

    name = "sun"

    def __init__(self, lanes: Sequence[Lane] = ()) -> None:
        self.lanes = lanes

    def calls(self, view: RunView) -> list[tuple[str, dict[str, Any]]]:
        hint = view.hint
        if hint is None or not hint.shadows or "shadow_locate" not in view.tools:
            return []
        if view.has_called("shadow_locate"):
            return []
        arguments: dict[str, Any] = {
            "measurements": [m.model_dump(mode="json", exclude_none=True) for m in hint.shadows],
            "origin": "the user's hint",
        }
        when = capture_time(view)
        if when is not None:
            arguments["time"] = when[0]
            arguments["origin"] = f"the user's hint; time from {when[1]}"
        # without any time the call fails with an observation that says so: the user asked for it
        candidates = [c for lane in self.lanes for c in lane.candidates(view)]
        if candidates:
            arguments["check"] = _checks(candidates)
        return [("shadow_locate", arguments)]
