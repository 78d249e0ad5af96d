"""The top-level dispatcher: --help, --version, typos, command groups."""

from __future__ import annotations

import pytest

from tui.cli import main


def test_help_lists_every_command(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ["init", "import", "metrics", "bridge", "models", "segment", "export",
                    "run", "clv", "potential", "targets", "lookalikes", "snapshot",
                    "playbook", "persona", "plan", "undo", "redo"]:  # fmt: skip
        assert command in out


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("segscope ")


def test_a_mistyped_command_is_not_taken_for_a_new_workspace(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["segmnet"]) == 2
    err = capsys.readouterr().err
    assert "Did you mean 'segscope segment'?" in err
    assert not (tmp_path / "segmnet").exists()


def test_a_command_group_without_its_action_is_a_usage_error(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["run"])
    assert exit_info.value.code == 2
    assert "usage: segscope run" in capsys.readouterr().err
