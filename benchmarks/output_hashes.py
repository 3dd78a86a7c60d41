"""SHA-256 of every file each template writes: run before and after a refactor, compare.

    python benchmarks/output_hashes.py [--out hashes.json] [--compare before.json]

Builds every config in templates/ (DRC included, previews included) into a temporary folder
and prints one line per file: its SHA-256 and its path under the design folder. With
`--compare`, exits 1 and lists the files whose bytes differ from an earlier run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def template_hashes(out_root: Path) -> dict[str, str]:
    """{'<design>/<relative path>': sha256} for every file every template writes."""
    from layoutgen.pipeline import build

    hashes: dict[str, str] = {}
    for config in sorted((ROOT / "templates").glob("*.py")):
        result = build(config, out_root, quiet=True)
        folder = result.out_dir
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            rel = f"{folder.name}/{path.relative_to(folder).as_posix()}"
            hashes[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="write the hashes as JSON here")
    ap.add_argument("--compare", type=Path, help="an earlier --out file to compare with")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        hashes = template_hashes(Path(tmp))
    for rel, digest in hashes.items():
        print(f"{digest}  {rel}")
    total = hashlib.sha256("".join(f"{d}  {r}\n" for r, d in hashes.items()).encode()).hexdigest()
    print(f"{len(hashes)} files, combined {total}")
    if args.out:
        args.out.write_text(json.dumps(hashes, indent=1, sort_keys=True) + "\n")
    if args.compare:
        before = json.loads(args.compare.read_text())
        differ = sorted(k for k in before.keys() | hashes.keys() if before.get(k) != hashes.get(k))
        for k in differ:
            print(f"differs: {k}  before {before.get(k, '-')[:12]}  after {hashes.get(k, '-')[:12]}")
        print(f"{len(differ)} of {len(before.keys() | hashes.keys())} files differ")
        return 1 if differ else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
