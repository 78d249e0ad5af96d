"""Errors a user can act on.

Every layer raises a subclass of ``SegscopeError`` with a message that says what
went wrong and where; the CLI and the TUI show that message as it is, never a
traceback.
"""


class SegscopeError(Exception):
    """A problem with the user's input or workspace, explained in ``str(self)``."""

    exit_code = 1


class UsageError(SegscopeError):
    """A flag, argument or expression the user typed is wrong."""

    exit_code = 2
