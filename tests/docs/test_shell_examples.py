"""The shell examples of README.md and docs/ run as written from a fresh clone."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

from live import REPO

MARKDOWN = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def _commands(path: Path) -> Iterator[list[str]]:
    """The words of each command in the file's ``sh`` blocks (continuations joined)."""
    for block in re.findall(r"```(?:sh|bash|shell)\n(.*?)```", path.read_text(), re.S):
        for line in re.sub(r"\\\n\s*", " ", block).splitlines():
            words = shlex.split(line, comments=True)
            if words:
                yield words


def _globbing_off(words: list[str]) -> bool:
    short = [w for w in words if re.fullmatch(r"-[A-Za-z]+", w)]
    return "--globoff" in words or any("g" in flags for flags in short)


def test_every_curl_with_brackets_in_its_url_turns_globbing_off() -> None:
    curls = [words for path in MARKDOWN for words in _commands(path) if words[0] == "curl"]
    bracketed = [words for words in curls if any("[" in w for w in words if "://" in w)]

    assert bracketed, "the README shows a filtered list"
    for words in bracketed:
        assert _globbing_off(words), shlex.join(words)  # else curl exits 3, silently under -s
    assert _globbing_off(["curl", "-g", "-s"]) and not _globbing_off(["curl", "-s"])


def test_the_examples_run_the_scripts_of_the_checkout() -> None:
    commands = [words for path in MARKDOWN for words in _commands(path)]
    scripts = {words[0] for words in commands if words[0].startswith("scripts/")}

    assert {"scripts/serve", "scripts/optiply", "scripts/test"} <= scripts
    for script in scripts:
        assert os.access(REPO / script, os.X_OK), script
    assert not [words for words in commands if words[0] == "optiply"]  # not on PATH in a clone
