"""The exceptions layoutgen raises: each carries a message a user can act on."""

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
