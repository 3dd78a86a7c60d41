"""Shared fixtures: repository paths and a way to write small config files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"


@pytest.fixture
def write_config(tmp_path: Path):
    """Write a config file from text (dedented) and return its path."""

    def _write(text: str, name: str = "cfg.py") -> Path:
        p = tmp_path / name
        p.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return p

    return _write


def template_variant(template: Path, path: Path, change: str = "") -> Path:
    """Write a config at `path` that runs `template` and then `change` (lines that alter its `design`)."""
    path.write_text(f"exec(compile(open({str(template)!r}).read(), {str(template)!r}, 'exec'))\n{change}\n", encoding="utf-8")
    return path
