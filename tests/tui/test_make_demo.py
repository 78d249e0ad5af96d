"""Issue 12, item 11: `make demo` says what it is doing while it installs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _recipe(target: str) -> str:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert f"\n{target}:" in text or text.startswith(f"{target}:")
    return text


def test_the_install_steps_are_not_quiet_and_each_announces_itself() -> None:
    text = _recipe("demo")
    assert "--quiet" not in text
    assert "pip install" in text
    # two entry points stay
    assert "\ndemo:" in text and "\ntest:" in text


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_a_dry_run_of_make_demo_on_a_fresh_machine_prints_a_line_per_step(tmp_path) -> None:
    (tmp_path / "Makefile").write_text((ROOT / "Makefile").read_text(encoding="utf-8"))
    (tmp_path / "pyproject.toml").write_text("[project]\nname='x'\n")
    out = subprocess.run(["make", "-n", "demo"], cwd=tmp_path, capture_output=True,
                         text=True, check=True).stdout
    echoes = [line for line in out.splitlines() if line.startswith("echo ")]
    assert len(echoes) >= 3
    assert any("installing" in line for line in echoes)
    assert out.index("installing segscope") < out.index("-e '.[test]'")
