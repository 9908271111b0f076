"""The optional teacher step: a strong model writes the reasoning a row lacks.

GeoLocSFT had a capable VLM, shown the photo *and* told the true coordinates, write the
geo-caption its student learns from. Here the teacher is any LangChain chat model (a
``BaseChatModel`` from the project's model backends, or any other integration). Its
text is cleaned before use: code fences, ``<think>`` blocks and answer tags are
removed, and every spelling of the true coordinates (decimal, degrees-minutes-seconds,
hemisphere letters) is cut out, so the student never sees the answer written in the
reasoning it is meant to derive. A failed or empty reply leaves the row without
reasoning and is counted.
"""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from .prompts import TEACHER_QUESTION, TEACHER_SYSTEM_PROMPT

__all__ = ["clean_reasoning", "teach", "teacher_messages"]

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```[a-zA-Z]*")
_TAGS = re.compile(r"</?(?:answer|reasoning|tool_call)>", re.IGNORECASE)
_DECIMAL = re.compile(r"[-+−]?\d{1,3}\.\d+\s*°?\s*(?:[NSEW]\b)?", re.IGNORECASE)
_DEGREES = re.compile(
    r"\d{1,3}(?:\.\d+)?\s*(?:°|º|˚|\s?deg\b)\s*"
    r"(?:\d{1,2}(?:\.\d+)?\s*(?:'|′|’)\s*)?(?:\d{1,2}(?:\.\d+)?\s*(?:\"|″|”|'')\s*)?(?:[NSEW]\b)?",
    re.IGNORECASE,
)
_LABEL = re.compile(r"\b(?:lat(?:itude)?|lon(?:g(?:itude)?)?|lng)\s*[:=]?\s*(?=[,;.)\s]|$)", re.I)
_EMPTY_BRACKETS = re.compile(r"[(\[]\s*[,;/\s]*\s*[)\]]")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?])")
_REPEATED_PUNCT = re.compile(r"([,;:])(\s*[,;])+")
_WHITESPACE = re.compile(r"[ \t]+")
_MAX_CHARS = 2000


def _degrees_value(text: str) -> float | None:
    numbers = [float(n) for n in re.findall(r"\d+(?:\.\d+)?", text)]
    if not numbers:
        return None
    value = numbers[0] + (numbers[1] / 60 if len(numbers) > 1 else 0) + (numbers[2] / 3600 if len(numbers) > 2 else 0)
    return value


def clean_reasoning(text: str, lat: float, lon: float, *, tolerance: float = 0.1) -> str:
    """Teacher text made fit for training: markup stripped, the true coordinates cut out.

    Any decimal number within ``tolerance`` degrees of the true latitude or longitude
    (by absolute value), and any degrees expression (``48°``, ``48°51'N``) within one
    degree of them, is removed, with a dangling "latitude:" label and emptied brackets.
    Returns "" when nothing useful is left.
    """
    text = _THINK.sub(" ", text or "")
    text = _FENCE.sub(" ", text)
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict):
            text = str(data.get("thinking") or data.get("reasoning") or data.get("reasons") or "")
    text = _TAGS.sub(" ", text)
    targets = (abs(lat), abs(lon))

    def near(value: float | None, within: float = tolerance) -> bool:
        return value is not None and any(abs(value - t) <= within for t in targets)

    text = _DEGREES.sub(lambda m: " " if near(_degrees_value(m.group(0)), max(tolerance, 1.0)) else m.group(0), text)

    def decimal(match: re.Match[str]) -> str:
        number = re.search(r"\d{1,3}\.\d+", match.group(0))
        value = float(number.group(0)) if number else None
        return " " if near(value) else match.group(0)

    text = _DECIMAL.sub(decimal, text)
    text = _LABEL.sub(" ", text)
    text = _EMPTY_BRACKETS.sub(" ", text)
    text = _WHITESPACE.sub(" ", text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    text = _REPEATED_PUNCT.sub(r"\1", text)
    lines = [line.strip(" ,;").lstrip(".:!? ") for line in text.splitlines()]
    text = "\n".join(line for line in lines if line).strip()
    if len(text) > _MAX_CHARS:
        cut = text[:_MAX_CHARS]
        text = cut[: cut.rfind(". ") + 1] if ". " in cut else cut
    return text if re.search(r"[A-Za-z\u00c0-\uffff]{3}", text) else ""


def _data_url(image: Image.Image | str | Path) -> str:
    if not isinstance(image, Image.Image):
        with Image.open(image) as im:
            image = im.convert("RGB")
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=90)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def teacher_messages(
    image: Image.Image | str | Path,
    lat: float,
    lon: float,
    place: str = "",
    *,
    system_prompt: str = TEACHER_SYSTEM_PROMPT,
    question: str = TEACHER_QUESTION,
) -> list[Any]:
    """The messages the teacher gets: instructions, then the image and the true location.

    The image travels as an OpenAI-style ``image_url`` data URL, which LangChain's chat
    integrations (and this project's backends) accept.
    """
    from langchain_core.messages import HumanMessage, SystemMessage

    text = question.format(lat=lat, lon=lon, place=f" ({place})" if place else "")
    return [
        SystemMessage(content=system_prompt),
        HumanMessage(
            content=[
                {"type": "image_url", "image_url": {"url": _data_url(image)}},
                {"type": "text", "text": text},
            ]
        ),
    ]


def _reply_text(message: Any) -> str:
    content = getattr(message, "content", message)
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            block if isinstance(block, str) else str(block.get("text", "")) if isinstance(block, dict) else ""
            for block in content
        )
    return str(content)


def teach(
    model: Any,
    items: Sequence[tuple[str, Image.Image | str | Path, float, float, str]],
    *,
    max_concurrency: int = 4,
) -> tuple[dict[str, str], dict[str, Any]]:
    """Ask the teacher for each ``(id, image, lat, lon, place)``.

    Returns ``({id: reasoning}, report)`` where the report counts what was asked,
    written and failed, with the reason for each failure. Never raises for a failed
    call; a model that cannot be called at all fails every item.
    """
    report: dict[str, Any] = {"asked": len(items), "written": 0, "failed": 0, "failures": []}
    if not items:
        return {}, report
    inputs = [teacher_messages(image, lat, lon, place) for _, image, lat, lon, place in items]
    try:
        replies = model.batch(inputs, config={"max_concurrency": max_concurrency}, return_exceptions=True)
    except Exception as exc:  # noqa: BLE001 - a broken teacher must not lose the dataset being built
        replies = [exc] * len(items)
    written: dict[str, str] = {}
    for (item_id, _, lat, lon, _), reply in zip(items, replies, strict=True):
        if isinstance(reply, BaseException):
            report["failures"].append({"id": item_id, "reason": f"{type(reply).__name__}: {reply}"[:300]})
            continue
        text = clean_reasoning(_reply_text(reply), lat, lon)
        if not text:
            report["failures"].append({"id": item_id, "reason": "empty reply after cleaning"})
            continue
        written[item_id] = text
    report["written"] = len(written)
    report["failed"] = len(report["failures"])
    return written, report
