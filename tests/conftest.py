"""Fixtures for the whole suite.

The suite runs in parallel (``make test``: pytest-xdist, one process per core) and
must pass while another copy of it runs on the same machine. So no test may reach
the real user's settings, data or cache folders (the demo workspace lives in the
user data dir): each test process gets its own XDG folders under its pytest temp
folder, before any test runs. tests/tui/conftest.py narrows this to one set per test.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def private_user_dirs(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("xdg")
    with pytest.MonkeyPatch.context() as patch:
        for name in ("CONFIG", "DATA", "CACHE", "STATE", "RUNTIME"):
            folder = home / name.lower()
            folder.mkdir(mode=0o700)
            patch.setenv(
                f"XDG_{name}_HOME" if name != "RUNTIME" else "XDG_RUNTIME_DIR", str(folder)
            )
        patch.delenv("SEGSCOPE_CONFIG", raising=False)
        yield home
