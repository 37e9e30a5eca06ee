"""The README's settings table is what ``target-optiply --about --format=markdown`` prints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def settings_table(text: str) -> str:
    start = text.index("| Setting |")
    return text[start : text.index("\n\n", start)].strip()


def test_the_readme_shows_the_settings_as_about_prints_them():
    about = subprocess.run(
        [sys.executable, "-m", "target_optiply", "--about", "--format=markdown"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    readme = README.read_text(encoding="utf-8")
    block = readme[readme.index("<!-- about:start -->") : readme.index("<!-- about:end -->")]

    assert settings_table(block + "\n\n") == settings_table(about), (
        "README.md's settings table is stale: paste `target-optiply --about --format=markdown`"
    )
