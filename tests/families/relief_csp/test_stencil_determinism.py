"""The DXF stencils are the same bytes whatever Python's hash seed (issue #18 cause 16).

ezdxf adds its CLASS entries from a set of the entity types in use, in hash order: 2 builds
of the relief template in 7 gave different DXF files. Each seed runs in its own interpreter.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

SCRIPT = """
import hashlib
from shapely.geometry import box
from layoutgen.families.relief_csp.stencil_export import dxf_text
aps = [box(0, 0, 100, 100), box(300, 0, 400, 120).difference(box(330, 30, 370, 90))]
print(hashlib.sha256(dxf_text(aps, "PASTE").encode()).hexdigest())
"""


def test_dxf_bytes_do_not_depend_on_the_hash_seed():
    digests = set()
    for seed in range(5):
        env = {**os.environ, "PYTHONHASHSEED": str(seed)}
        out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True)
        digests.add(out.stdout.strip())
    assert len(digests) == 1, digests
