"""The ``segscope`` command line.

``segscope [PATH]`` opens the TUI; ``segscope COMMAND ...`` runs the same
operations headless. Each command lives in its own module under
``tui/commands/`` and exposes ``register(subparsers)``; this module finds them,
so adding a command never means editing a shared list.

Exit codes: 0 success, 1 a problem with the input or workspace (message on
stderr), 2 usage error, 3 workspace busy, 130 interrupted.

While a command runs, its standard output passes through
``tui.commands._safety.printable``, and so do error messages: control
characters in data (an account named ``"\x1b]0;pwned\x07"``) are shown as
visible escapes, never sent to the terminal.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from core.errors import SegscopeError
from tui.commands._safety import SafeStream, printable

try:
    from importlib.metadata import version as _dist_version

    __version__ = _dist_version("segscope")
except Exception:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"


def _command_modules() -> list[str]:
    from tui import commands

    modules = pkgutil.iter_modules(commands.__path__)
    return sorted(m.name for m in modules if not m.name.startswith("_"))


def build_parser() -> tuple[argparse.ArgumentParser, set[str]]:
    """The parser and the names of its commands."""
    parser = argparse.ArgumentParser(
        prog="segscope",
        description=(
            "A keyboard-driven terminal workbench for B2B customer segmentation and targeting.\n"
            "Run without a command to open the workbench on the demo workspace, or give a\n"
            "workspace PATH to open (or create) it."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run 'segscope COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"segscope {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _command_modules():
        module = importlib.import_module(f"tui.commands.{name}")
        module.register(subparsers)
    return parser, set(subparsers.choices)


def _open_tui(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="segscope", add_help=False)
    parser.add_argument("path", nargs="?")
    args, _ = parser.parse_known_args(argv)
    from tui.launch import run_app

    return run_app(args.path)


def _looks_like_mistyped_command(word: str) -> bool:
    """A bare word that is no file is more likely a typo than a new workspace."""
    from pathlib import Path

    path = Path(word).expanduser()
    return not path.exists() and not path.suffix and "/" not in word and "\\" not in word


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # the console script, not a test calling main([...])
        from tui.launch import skip_optional_pandas

        skip_optional_pandas()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser, commands = build_parser()
    except KeyboardInterrupt:
        print("segscope: interrupted; nothing was written", file=sys.stderr)
        return 130
    if not argv or (argv[0] not in commands and not argv[0].startswith("-")):
        if argv and _looks_like_mistyped_command(argv[0]):
            import difflib

            near = difflib.get_close_matches(argv[0], sorted(commands), n=1)
            hint = f" Did you mean 'segscope {near[0]}'?" if near else ""
            print(
                printable(
                    f"segscope: '{argv[0]}' is neither a command nor an existing workspace."
                    f"{hint}\nTo create a workspace, give a file name with an extension "
                    f"(e.g. {argv[0]}.segscope); 'segscope --help' lists the commands."
                ),
                file=sys.stderr,
            )
            return 2
        try:
            return _open_tui(argv)
        except SegscopeError as exc:
            print(f"segscope: {printable(str(exc))}", file=sys.stderr)
            return exc.exit_code
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:  # a command group such as 'run' given without its subcommand
        parser.parse_args([*argv, "--help"])
        return 2
    stdout = sys.stdout
    sys.stdout = SafeStream(stdout)
    try:
        return int(handler(args) or 0)
    except SegscopeError as exc:
        print(f"segscope {args.command}: {printable(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("segscope: interrupted; nothing was written", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except UnicodeEncodeError:
        # only text from argv can hold lone surrogates (bytes that are not UTF-8)
        bad = [printable(a) for a in argv if any("\ud800" <= c <= "\udfff" for c in a)]
        if not bad:
            raise
        print(
            f"segscope {args.command}: {bad[0]} holds bytes that are not UTF-8; retype it",
            file=sys.stderr,
        )
        return 2
    finally:
        if isinstance(sys.stdout, SafeStream):  # a test's capture may have replaced it
            sys.stdout = stdout


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
