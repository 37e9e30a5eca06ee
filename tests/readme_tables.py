"""README.md's settings tables and ``meltano.yml`` examples, checked against the declarations.

Shared by ``tests/target_optiply/test_readme.py`` and ``tests/tap_optiply/test_tap_readme.py``:
each plugin's README section shows its settings table between ``<!-- NAME:start -->`` and
``<!-- NAME:end -->`` exactly as ``--about --format=markdown`` prints it, and a ``meltano.yml``
example whose settings and config are the plugin's declared settings (its
``config_jsonschema``), with kinds that fit their types and secrets marked sensitive.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

README = Path(__file__).resolve().parents[1] / "README.md"

# Meltano setting kinds and the JSON-schema types a value of that kind can be.
KIND_TYPES = {
    "string": {"string"},
    "password": {"string"},
    "email": {"string"},
    "options": {"string"},
    "date_iso8601": {"string"},
    "integer": {"integer"},
    "boolean": {"boolean"},
    "object": {"object"},
    "array": {"array"},
}


def readme() -> str:
    return README.read_text(encoding="utf-8")


def section(text: str, heading: str) -> str:
    """The text under ``heading`` (e.g. ``## tap-optiply``), up to the next heading of its
    level or higher."""
    level = len(heading.split(" ", 1)[0])
    lines = text[text.index(f"\n{heading}\n") + 1 :].splitlines(keepends=True)
    fenced = False
    for n, line in enumerate(lines[1:], start=1):
        fenced ^= line.startswith("```")
        marks = len(line) - len(line.lstrip("#"))
        if not fenced and 0 < marks <= level and line[marks : marks + 1] == " ":
            return "".join(lines[:n])
    return "".join(lines)


def marked_block(text: str, name: str) -> str:
    """What stands between ``<!-- name:start -->`` and ``<!-- name:end -->``."""
    start = text.index(f"<!-- {name}:start -->") + len(f"<!-- {name}:start -->")
    return text[start : text.index(f"<!-- {name}:end -->", start)]


def settings_table(text: str) -> str:
    """The markdown table that starts with ``| Setting |``, up to the first blank line."""
    start = text.index("| Setting |")
    end = text.find("\n\n", start)
    return text[start : end if end != -1 else len(text)].strip()


def about_table(module: str) -> str:
    """The settings table ``python -m module --about --format=markdown`` prints."""
    about = subprocess.run(
        [sys.executable, "-m", module, "--about", "--format=markdown"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return settings_table(about)


def meltano_plugin(text: str, kind: str) -> dict[str, Any]:
    """The one plugin of ``kind`` (``extractors``, ``loaders``) in the ``yaml`` block of
    ``text``."""
    start = text.index("```yaml\n") + len("```yaml\n")
    document = yaml.safe_load(text[start : text.index("```", start)])
    (plugin,) = document["plugins"][kind]
    return dict(plugin)


def meltano_problems(
    plugin: dict[str, Any], schema: dict[str, Any], *, every_setting: tuple[str, ...] = ()
) -> list[str]:
    """What in a ``meltano.yml`` plugin entry disagrees with the plugin's config schema.

    Each declared setting must exist, have a kind its type allows and, when it is a secret,
    be sensitive; each ``config`` key must be a setting; ``every_setting`` must all be
    declared. (Examples: ``tests/tap_optiply/test_tap_readme.py``.)
    """
    properties = schema["properties"]
    problems: list[str] = []
    declared = [setting["name"] for setting in plugin.get("settings", [])]
    for setting in plugin.get("settings", []):
        name, kind = setting["name"], setting.get("kind")
        if name not in properties:
            problems.append(f"{name}: not a setting")
            continue
        types = set(properties[name].get("type", [])) - {"null"}
        if kind is not None and not KIND_TYPES.get(kind, set()) & types:
            problems.append(f"{name}: kind {kind} for types {sorted(types)}")
        secret = properties[name].get("secret", False)
        if secret and not (setting.get("sensitive") or kind == "password"):
            problems.append(f"{name}: a secret, not sensitive")
    problems += [
        f"config {key}: not a setting" for key in plugin.get("config", {}) if key not in properties
    ]
    problems += [f"{name}: not declared" for name in every_setting if name not in declared]
    return problems
