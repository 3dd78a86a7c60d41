"""The exceptions layoutgen raises: each carries a message a user can act on.

Exit codes: 0 clean, 1 DRC violations (and nothing else), 2 a user error (a LayoutgenError),
3 an internal failure (a bug: the CLI says "internal error" and where to report it),
128 + signal number when interrupted (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP).
"""

from __future__ import annotations


class LayoutgenError(Exception):
    """Base of every error layoutgen reports to a user (the CLI maps it to exit code 2)."""

    exit_code = 2


class ConfigError(LayoutgenError):
    """A config value is invalid: names the field, the value, the reason and file:line."""


class PdkError(LayoutgenError):
    """A PDK folder is missing, malformed, or lacks a rule a generator needs."""


class RoutingError(LayoutgenError):
    """A net cannot be routed: names the net, the pad and what blocked it."""


class DrcError(LayoutgenError):
    """The DRC could not run (unreadable GDS, unknown layer or cell)."""


class LayoutError(LayoutgenError):
    """A layout cannot be made as asked: two different cells would share one name."""


class OutputError(LayoutgenError):
    """The results cannot be written (read-only or full disk, a path that is a file, a name too long)."""


class InternalError(Exception):
    """A step of layoutgen failed on input it accepted (a bug, not the user's error): exit 3."""


EXIT_INTERNAL = 3
BUG_REPORT = ("this is a bug in layoutgen, not in your input: please report it to the layoutgen maintainers "
              "(an issue in the layoutgen repository) with the command line, the config and this message")


class Interrupted(BaseException):
    """A termination signal (SIGTERM, SIGHUP) turned into an exception so that staging is cleaned up."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """128 + the signal number, as a shell reports a process the signal ended."""
        return 128 + self.signum
