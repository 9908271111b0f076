"""Splitting an expert's ``image_solution`` into its key steps."""

from __future__ import annotations

import re
import unicodedata

#: A step number: at the start of the text or a line, or right after sentence punctuation
#: (real solutions write "...northern regions; 2. Excluding ..." and "...。2. ..."), with
#: optional markdown or "Step", then "1." "1)" "(1)" "1、" "1:" and no digit after it
#: (so "3.5 km" is not step 3).
_STRICT_MARKER = re.compile(
    r"(?:^|(?<=[.;:!?。；：！？)\]]))"
    r"[ \t\u3000]*(?:[*#>]+[ \t]*)?(?:step[ \t]*)?\(?"
    r"(?P<n>\d{1,2})"
    r"[ \t]*(?:[.)、:．]|\*\*)(?![\d])",
    re.IGNORECASE | re.MULTILINE,
)
#: The same after any whitespace: used only when the strict form finds no sequence.
_LENIENT_MARKER = re.compile(
    r"(?:^|(?<=\s))(?:step[ \t]*)?\(?(?P<n>\d{1,2})[ \t]*(?:[.)、:．])(?=\s)",
    re.IGNORECASE | re.MULTILINE,
)
#: A trailing note that is about the text, not the place ("Note: I've kept the context ...").
_TRAILING_NOTE = re.compile(
    r"\n[ \t]*\n[ \t]*[*(]*[ \t]*(?:translator'?s?\s+|editor'?s?\s+)?(?:note|n\.b\.|p\.s\.)[ \t]*[:：].*\Z",
    re.IGNORECASE | re.DOTALL,
)
#: Words announcing that the numbering restarts with a revised copy of the same steps.
_REVISION = re.compile(r"version|translat|correct|revis|rewrit|fluent|in english", re.IGNORECASE)
#: A last line ending in a colon: the heading of what follows, not part of the step.
_HEADING_TAIL = re.compile(r"\n[ \t]*[^\n]{1,80}:[ \t]*\s*\Z")
_CIRCLED = re.compile("[\u2460-\u2473]")  # ① .. ⑳
_BULLET_LINE = re.compile(r"^[ \t]*(?:[-•*·▪]|\u2022)[ \t]+", re.MULTILINE)


def _clean_step(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"^[*_#>\s]+", "", text)
    text = re.sub(r"[\s*_]+$", "", text)
    return text.rstrip(";；,，、 ").strip()


def _sequences(text: str, pattern: re.Pattern[str]) -> list[list[re.Match[str]]]:
    """Runs of markers numbered 1, 2, 3, ... (a marker out of sequence is ordinary text)."""
    runs: list[list[re.Match[str]]] = []
    current: list[re.Match[str]] = []
    for match in pattern.finditer(text):
        n = int(match.group("n"))
        if n == 1:
            if current:
                runs.append(current)
            current = [match]
        elif current and n == int(current[-1].group("n")) + 1:
            current.append(match)
    if current:
        runs.append(current)
    return runs


def split_steps(solution: str | None) -> list[str]:
    """The numbered key steps of an expert solution, in order, whitespace collapsed.

    Why it works this way: numbering is the only structure solutions share, so a step is
    the text between consecutive step numbers 1, 2, 3, ... (a number out of sequence,
    like "the 7 provincial capitals" or "criteria 1 through 4.", stays text). Markers
    count at a line start or right after sentence punctuation, so numbers in prose do not
    split a step; unnumbered paragraphs and sub-bullets stay inside the step they follow.
    When the numbering starts again at 1 after a line announcing a revision ("Corrected
    and fluent version:"), or with the same number of steps, the later copy replaces the
    earlier one (translated solutions carry both); any other restart is a further group
    of steps. Trailing notes about the text ("Note: ...") are dropped. A solution with no
    numbering gives one step per bullet or paragraph. The text is NFKC-normalised, so
    full-width digits and punctuation read as ASCII.
    """
    if not solution or not solution.strip():
        return []
    text = unicodedata.normalize("NFKC", _CIRCLED.sub(lambda m: f"{ord(m.group()) - 0x2460 + 1}. ", solution))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _TRAILING_NOTE.sub("", text).strip()

    runs = _sequences(text, _STRICT_MARKER)
    if not any(len(run) >= 2 for run in runs):
        lenient = _sequences(text, _LENIENT_MARKER)
        if any(len(run) >= 2 for run in lenient):
            runs = lenient
    if not runs:
        bullets = [b for b in _BULLET_LINE.split(text) if b.strip()]
        parts = bullets if len(bullets) > 1 else re.split(r"\n[ \t]*\n", text)
        return [s for s in (_clean_step(p) for p in parts) if s]

    # Cut the text at every marker of every run; a step runs to the next marker (of its
    # own run or the next one) or to the end.
    starts = [m.start() for run in runs for m in run] + [len(text)]
    groups: list[list[str]] = []
    for number, run in enumerate(runs):
        steps = []
        for m in run:
            end = starts[starts.index(m.start()) + 1]
            body = text[m.end() : end]
            if m is run[-1] and number + 1 < len(runs):
                body = _HEADING_TAIL.sub("", body)  # "Image 2:" introduces the next group
            steps.append(_clean_step(body))
        heading = text[: run[0].start()].rstrip(" \t").rsplit("\n", 1)[-1]
        if groups and (_REVISION.search(heading) or len(steps) == len(groups[-1])):
            groups[-1] = steps
        else:
            groups.append(steps)
    preamble = _clean_step(text[: runs[0][0].start()])
    out = [s for group in groups for s in group if s]
    if preamble and not preamble.endswith(":") and len(preamble.split()) > 5:
        out.insert(0, preamble)
    return out
