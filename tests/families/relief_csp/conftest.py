"""The builds of these tests are measured on their GDS, mask files, summaries and DRC: none looks at the PNG
previews (half a small build's time; tests/view and the backside wafer test check them), so they are left out."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="module")
def no_previews():
    """build() writes no preview PNGs in this module (module scope: nothing leaks into other folders' tests)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("layoutgen.pipeline.render_previews", lambda *a, **k: [])
        yield
