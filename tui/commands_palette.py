"""The command palette (ctrl+p): jump to a screen, jump to an account, and the
commands of the screen it was opened from (``WorkbenchScreen.palette_commands``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

import polars as pl
from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui.screens import PaletteCommand, WorkbenchScreen

if TYPE_CHECKING:
    from tui.app import SegscopeApp

MAX_ACCOUNT_HITS = 12


class WorkbenchCommands(Provider):
    """Screen jumps, account jumps and the current screen's own commands."""

    @property
    def workbench(self) -> SegscopeApp:
        return self.app  # type: ignore[return-value]

    def _commands(self) -> list[PaletteCommand]:
        from tui.app import SCREENS

        commands: list[PaletteCommand] = []
        screen = self.screen
        if isinstance(screen, WorkbenchScreen):
            commands.extend(screen.palette_commands())
        for mode, key, title, _, _ in SCREENS:
            commands.append(
                PaletteCommand(
                    f"Go to {title}",
                    partial(self.workbench.switch_mode, mode),
                    f"Show the {title} screen (key {key})",
                )
            )
        return commands

    async def discover(self) -> Hits:
        for command in self._commands():
            yield DiscoveryHit(command.title, command.callback, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(score, matcher.highlight(command.title), command.callback,
                          help=command.help)
        for account_id, name in self._matching_accounts(query):
            title = f"Jump to account {account_id}" + (f" · {name}" if name else "")
            yield Hit(0.5, title, self._jump(account_id), help="Open it on the Accounts screen")

    def _jump(self, account_id: str) -> Callable[[], object]:
        async def jump() -> None:
            await self.workbench.show_accounts(account_id=account_id)

        return jump

    def _matching_accounts(self, query: str) -> list[tuple[str, str | None]]:
        """Accounts whose id or name contains the query (case-insensitive, literal)."""
        text = query.strip()
        state = self.workbench.state
        if not state.loaded:
            return []
        # while the tables load (after the first paint) the frame, one row per
        # account too, answers without making the palette wait for them
        accounts = state.accounts if state.tables_loaded else state.frame
        if len(text) < 2 or accounts is None or accounts.is_empty():
            return []
        needle = text.lower()
        cond = pl.col("account_id").str.to_lowercase().str.contains(needle, literal=True)
        if "name" in accounts.columns:
            cond = cond | pl.col("name").str.to_lowercase().str.contains(needle, literal=True)
        cols = ["account_id", "name"] if "name" in accounts.columns else ["account_id"]
        found = accounts.lazy().filter(cond).select(cols).head(MAX_ACCOUNT_HITS).collect()
        return [(row[0], row[1] if len(row) > 1 else None) for row in found.iter_rows()]
