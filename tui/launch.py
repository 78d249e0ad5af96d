"""Open the workbench: ``segscope`` (demo workspace) or ``segscope PATH``.

Everything that can go wrong before the screen appears (a missing directory, a
file that is not a workspace, a workspace written by a newer segscope, a busy
workspace) is raised as a ``SegscopeError`` here, so ``tui.cli`` prints it as
one line on stderr and exits with its code, and the terminal is never left in
application mode. Problems after start-up become notifications in the app.
"""

from __future__ import annotations

import sys
from pathlib import Path

from core.errors import SegscopeError


class _NoPandas:
    """A ``sys.meta_path`` finder under which ``import pandas`` fails as if it
    were not installed (``ModuleNotFoundError``), leaving ``sys.modules`` alone."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


def skip_optional_pandas() -> None:
    """Keep pandas out of the workbench process (about 1 s of start-up, several under load).

    sqlite-utils imports pandas whenever it is installed (the test extra
    installs it), only to map ``pd.Timestamp`` to TEXT; nothing in segscope
    uses pandas. A finder makes ``import pandas`` fail as it does where pandas
    is not installed, which sqlite-utils handles. (A ``None`` entry in
    ``sys.modules`` did that too, but scikit-learn reads
    ``sys.modules["pandas"]`` and then broke every model fit.)
    """
    if "pandas" not in sys.modules and not any(isinstance(f, _NoPandas) for f in sys.meta_path):
        sys.meta_path.insert(0, _NoPandas())


def resolve_workspace_path(path: str | Path | None) -> Path:
    """The workspace to open: ``path``, or the demo workspace (created on first run)."""
    if path is not None:
        return Path(path).expanduser()
    try:
        from sample_data.demo import ensure_demo_workspace
    except ImportError as exc:
        raise SegscopeError(
            f"the demo workspace is not available in this build ({exc}); "
            "give a workspace path: segscope PATH"
        ) from None
    return Path(ensure_demo_workspace())


def open_state(path: str | Path | None, *, preload: bool = False):  # -> WorkbenchState
    """Open (or create) the workspace and wrap it in a ``WorkbenchState`` (data loads later).

    ``preload``: start loading the data the first screen needs in a thread now
    (``WorkbenchState.start_preload``), so it overlaps importing Textual.
    """
    from storage.workspace import Workspace
    from tui.state import WorkbenchState

    resolved = resolve_workspace_path(path)
    workspace = Workspace.open(resolved, create=True)
    state = WorkbenchState(workspace)
    if preload:
        state.start_preload()
    return state


def run_app(path: str | Path | None = None) -> int:
    """Run the workbench on ``path`` (None: the demo workspace); returns the exit code."""
    skip_optional_pandas()
    state = open_state(path, preload=True)
    try:
        from tui.app import SegscopeApp  # imported while the preload thread reads the data

        app = SegscopeApp(state)
        result = app.run()
    finally:
        state.workspace.close()
    return int(result or app.return_code or 0)
