"""Keep the README's example outputs true: run each example command and put what it prints
under it.

A README example is a fenced block with no language whose first line is ``$ geosleuth ...``;
everything after that line is the command's output. ``python scripts/readme_examples.py``
runs every such command from the repository root (offline, quiet, metadata as the command
says) and rewrites the blocks; ``--check`` changes nothing and exits 1 with a diff when the
README and the commands disagree (the test suite runs it). Timings are normalised (``1.23 s``
-> ``N s``) so a slower machine does not count as a difference.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BLOCK = re.compile(r"^```\n\$ (geosleuth [^\n]+)\n(.*?)^```$", re.S | re.M)
_TIMING = re.compile(r"\b\d+(?:\.\d+)?\s?(s|ms)\b")


def normalise(text: str) -> str:
    """What may differ between two honest runs: timings, trailing spaces."""
    lines = [_TIMING.sub(r"N \1", line).rstrip() for line in text.strip("\n").splitlines()]
    return "\n".join(lines)


def run(command: str, timeout_s: float = 600.0) -> str:
    """The command's standard output, run as the installed console script would run it."""
    args = shlex.split(command)
    if args[0] != "geosleuth":
        raise ValueError(f"not a geosleuth command: {command!r}")
    env = {**os.environ, "GEOSLEUTH_QUIET": "1", "PYTHONPATH": str(ROOT), "COLUMNS": "120"}
    done = subprocess.run(
        [sys.executable, "-m", "agent.cli", *args[1:]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{command!r} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return done.stdout


def examples(text: str) -> list[tuple[str, str]]:
    """(command, output as written) for every example block."""
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(text)]


def regenerate(text: str) -> str:
    """The README with every example's output replaced by what the command prints now."""

    def replace(match: re.Match[str]) -> str:
        command = match.group(1)
        return f"```\n$ {command}\n{normalise(run(command))}\n```"

    return BLOCK.sub(replace, text)


def differences(text: str) -> list[str]:
    """Unified diffs, one per example whose written output is not what its command prints."""
    out = []
    for command, written in examples(text):
        actual = normalise(run(command))
        if normalise(written) != actual:
            diff = difflib.unified_diff(
                normalise(written).splitlines(), actual.splitlines(), "README", f"$ {command}", lineterm=""
            )
            out.append("\n".join(diff))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when the README is stale")
    parser.add_argument("--readme", type=Path, default=README)
    args = parser.parse_args(argv)
    text = args.readme.read_text(encoding="utf-8")
    if args.check:
        found = differences(text)
        for diff in found:
            print(diff)
        print(f"{len(examples(text))} example(s), {len(found)} stale")
        return 1 if found else 0
    new = regenerate(text)
    if new != text:
        args.readme.write_text(new, encoding="utf-8")
        print(f"updated {args.readme}")
    else:
        print(f"{args.readme} is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
