"""What the analyst reads when a worker fails: one sentence, never exception text.

Every worker failure on every screen reaches ``SegscopeApp.report_worker_failure``,
which calls ``failure_notice`` here. A ``SegscopeError`` already says what went
wrong and where, so its message is kept (without command-line advice: a flag
means nothing inside the workbench). Anything else is a programming or data
edge the analyst cannot read (``ValueError: window shape cannot be larger than
input array shape``): it becomes a plain sentence that says which computation
failed, on which screen, and what to do in the workbench, and the exception
goes to the log with its traceback.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from core.errors import SegscopeError

LOG = logging.getLogger("segscope.tui")


@dataclass(frozen=True)
class FailureNotice:
    """A failure as shown: a short title and one or two sentences."""

    title: str
    message: str


@dataclass(frozen=True)
class _Task:
    what: str  # "computing the segments"
    where: str  # "Model"
    todo: str  # what to do in the workbench


_RETRY_SMALL = "with more data (press 3 to import) or a simpler choice"

# By worker name first, then by worker group.
_TASKS: dict[str, _Task] = {
    "load_data": _Task("loading the workspace", "workbench",
                       "Reopen the workspace; if it keeps failing, restore a snapshot "
                       "from the command palette (ctrl+p, Restore snapshot…)"),
    "recompute_segments": _Task("computing the segments", "Model",
                                "Open the Model screen (4) and choose other dimensions or "
                                "another model"),
    "segment": _Task("computing the segments", "Model",
                     "Change or remove the last dimension you edited, or choose another "
                     "segmentation method"),
    "model-list": _Task("reading the saved models", "Model", "Press 4 again to reload the list"),
    "model-storage": _Task("saving the model", "Model", "Try saving again (ctrl+s)"),
    "forward_columns": _Task("computing potential and CLV", "Targeting",
                             "Targeting ranks on the other criteria meanwhile; import a "
                             "longer transaction history (3) to get potential and CLV"),
    "forward_attach": _Task("joining potential and CLV to the accounts", "Targeting",
                            "Switch to another screen and back to Targeting (7)"),
    "targeting_inputs": _Task("reading the targeting weights and scores", "Targeting",
                              "Press 7 again to reload them"),
    "targeting-save": _Task("saving the targeting weights and scores", "Targeting",
                            "Change the weight again to save it"),
    "lookalikes": _Task("finding lookalike prospects", "Targeting",
                        "Choose another segment for the lookalikes, or import accounts with "
                        "more attributes (3)"),
    "targeting-export": _Task("exporting the targeting table", "Targeting",
                              "Export again to another folder"),
    "overview": _Task("computing the overview", "Overview", "Press 1 again to recompute it"),
    "accounts-view": _Task("filtering the accounts", "Accounts",
                           "Change the filter (/) or clear it (escape)"),
    "accounts-detail": _Task("reading the account's history", "Accounts",
                             "Choose the account again"),
    "accounts-export": _Task("exporting the accounts table", "Accounts",
                             "Export again to another folder"),
    "import-preview": _Task("reading the file", "Import",
                            "Check the path (o) and that the file is CSV, XLSX or Parquet"),
    "import-prepare": _Task("validating the file", "Import",
                            "Check the kind and the mapping, then validate again (ctrl+t)"),
    "import-commit": _Task("writing the import", "Import",
                           "Nothing was written; validate and commit again (ctrl+s)"),
    "traits": _Task("describing the segment", "Segments", "Choose another segment"),
    "review-traits": _Task("describing the segment", "Segments", "Choose another segment"),
    "annotations": _Task("saving the segment's note", "Segments", "Edit the note again"),
    "runs-list": _Task("reading the saved runs", "Runs", "Press 6 again to reload them"),
    "runs-freeze": _Task("freezing the run", "Runs", "Freeze the run again"),
    "runs-delete": _Task("deleting the run", "Runs", "Delete the run again"),
    "runs-matrix": _Task("comparing the two runs", "Runs", "Choose two other runs to compare"),
    "persona-drafts": _Task("drafting the persona", "Personas",
                            "Choose another segment, or write the persona by hand"),
    "persona-write": _Task("saving the persona", "Personas", "Save the persona again"),
    "plans": _Task("computing the game plans", "Game plans",
                   "Choose another model on the Model screen (4)"),
}

_UNKNOWN = _Task("a background computation", "workbench",
                 "Try again; if it keeps failing, note what you did and the time")

# A sentence that names a command-line flag ("--map 'COLUMN=account_id'") or a command
# is advice for the shell, not for the workbench.
_FLAG = re.compile(r"(?<![\w-])--[a-z][\w-]*|\bsegscope (?:import|segment|export|snapshot)\b")
_SENTENCE = re.compile(r"(?<=[.;])\s+")


def task_for(name: str | None, group: str | None) -> _Task:
    """The task a worker performs, from its name, then its group."""
    for key in (name, group):
        if key and key in _TASKS:
            return _TASKS[key]
    return _UNKNOWN


def without_flags(message: str) -> str:
    """``message`` without its sentences (or clauses after ';' / ', or') that advise a flag."""
    if not _FLAG.search(message):
        return message
    kept: list[str] = []
    for sentence in _SENTENCE.split(message):
        if not _FLAG.search(sentence):
            kept.append(sentence)
            continue
        # keep the part of a sentence before the flag advice ("...; read it with --sheet")
        head = re.split(r";|, or |\. ", sentence)[0]
        if head and not _FLAG.search(head) and head != sentence:
            kept.append(head.rstrip(" ,;") + ".")
    text = " ".join(kept).strip()
    return text or "The command needs a change the workbench cannot make here."


def plain_reason(error: BaseException) -> str:
    """One clause for an error that is not a SegscopeError (no type names, no Python text)."""
    if isinstance(error, MemoryError):
        return "there was not enough memory"
    if isinstance(error, PermissionError):
        return "a file or folder could not be opened (permission denied)"
    if isinstance(error, FileNotFoundError):
        return "a file or folder it needs does not exist"
    if isinstance(error, OSError):
        return "a file could not be read or written"
    if isinstance(error, (ValueError, IndexError, ZeroDivisionError, ArithmeticError)):
        return "the data are too few or too uneven for it"
    return "something unexpected happened"


def failure_notice(name: str | None, group: str | None, error: BaseException | None,
                   *, screen: str | None = None) -> FailureNotice:
    """The notification for a failed worker ``name`` (``group``) that raised ``error``.

    A ``SegscopeError`` keeps its message (minus command-line advice); anything else
    is logged with its traceback and shown as a plain sentence.
    """
    task = task_for(name, group)
    where = screen or task.where
    title = f"{task.what[0].upper()}{task.what[1:]} failed"
    if isinstance(error, SegscopeError):
        from tui.display_names import analyst_text

        message = analyst_text(without_flags(str(error)))
        if without_flags(str(error)) != str(error):
            message = f"{message} {task.todo}."
        return FailureNotice(title, message)
    LOG.error("worker %s (group %s) failed", name, group, exc_info=error)
    place = "in the workbench" if where == "workbench" else f"on the {where} screen"
    message = (f"{task.what[0].upper()}{task.what[1:]} {place} stopped: "
               f"{plain_reason(error)}. {task.todo}. The details are in the log.")
    return FailureNotice(title, message)


def is_exception_text(text: str) -> bool:
    """Whether ``text`` looks like Python exception text (used by the tests and a guard)."""
    return bool(re.search(
        r"Traceback|\b[A-Z]\w*(?:Error|Exception)\b(?::|\s*\()|"
        r"\b(?:ValueError|KeyError|TypeError|IndexError|AttributeError|RuntimeError)\b",
        text,
    ))
