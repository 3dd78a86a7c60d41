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
