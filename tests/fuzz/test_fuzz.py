"""Property-based fuzzing of the command line: generated configs, PDK folders and GDS files.

Whatever the input, `layoutgen` exits 0, 1 or 2 (never 3, an internal error, and never a
traceback), leaves no stray file beside its results, and every config error names the
config's file:line. Bounded for CI: fixed example counts, derandomized (the same examples on
every run), no deadline (a build takes seconds). Issue #18.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
import shutil
import tempfile
import time
from pathlib import Path

import gdstk
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layoutgen.cli import main
from layoutgen.pdk import load_pdk

def fuzz(examples: int) -> settings:
    """Bounded, reproducible settings: `examples` examples, derandomized, no deadline, no database."""
    return settings(max_examples=examples, derandomize=True, deadline=None, database=None, print_blob=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])
DURATIONS: dict[str, list[float]] = {}


@pytest.fixture(scope="module", autouse=True)
def _report_durations():
    yield
    for name, ds in DURATIONS.items():
        print(f"\nfuzz {name}: {len(ds)} examples, longest {max(ds):.2f} s, total {sum(ds):.1f} s")


def run(name: str, argv: list[str]) -> tuple[int, str, str]:
    """`layoutgen argv` in this process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as e:              # argparse errors
            code = e.code if isinstance(e.code, int) else 2
    DURATIONS.setdefault(name, []).append(time.perf_counter() - t0)
    return code, out.getvalue(), err.getvalue()


def sane(code: int, err: str) -> None:
    assert code in (0, 1, 2), (code, err)
    assert "Traceback" not in err and "internal error" not in err, err


# ------------------------------------------------------------------ configs

def _num(v: float) -> str:
    if isinstance(v, float) and not math.isfinite(v):
        return f"float({str(v)!r})"
    return repr(v)


LENGTH = st.one_of(st.sampled_from([float("nan"), float("inf"), -float("inf"), 0.0, -1.0, 1e12, 1e-9]),
                   st.integers(-100, 8000), st.floats(-1e4, 1e4, allow_nan=False))
DIE = st.sampled_from([1600, 2000, 3000]) | LENGTH
NAME = st.sampled_from(["small", "x[red]y[/red]", "", "a" * 240, "PADSTACK_RECT_60x60", "d-1", "é"]) | st.text(max_size=12)
TAIL = st.sampled_from(["", "import sys\nsys.exit(0)", "import sys\nsys.exit(7)", "raise RuntimeError('no [bold]x[/bold]')",
                        "design = 5", "1/0", "del design", "design.die.pads.append(design.die.pads[0])",
                        "design = design.model_copy(update={'wafer': Wafer(diameter=100, scribe=float('nan'))})",
                        "x = (", "import os\nos.environ['LAYOUTGEN_PDK_PATH'] = '/nonexistent'"])


@st.composite
def configs(draw) -> str:
    """A config near a valid one: each field is bad with probability 1/8 (so about one in five
    configs builds, and the rest fail on one or two fields at a time)."""

    def pick(good, bad):
        return draw(bad) if draw(st.integers(0, 7)) == 0 else good

    dw, dh = pick(1600, DIE), pick(1600, DIE)
    pads = (f"pads = peripheral_pads({_num(dw)}, {_num(dh)}, per_side={pick(2, st.integers(-1, 4))}, "
            f"pitch={_num(pick(400, LENGTH))}, inset={_num(pick(70, LENGTH))}, size={_num(pick(60, LENGTH))}"
            + pick("", st.sampled_from([', nets={"VDD": [1, 2]}', ', nets={"VDD": [999]}'])) + ")")
    if pick(False, st.booleans()):
        pads += (f"\npads.append(Pad(name={draw(NAME)!r}, net={draw(NAME)!r}, x={_num(draw(LENGTH))}, "
                 f"y={_num(draw(LENGTH))}, shape={draw(st.sampled_from(['rect', 'round', 'octagon', 'hex']))!r}))")
    balls = (f"BallGrid(rows={pick(3, st.integers(-1, 4))}, cols={pick(3, st.integers(0, 4))}, pitch={_num(pick(400, LENGTH))}"
             + pick("", st.sampled_from([', depopulate=["A1"]', ', depopulate=["I1"]', ', assign="explicit", nets={"A1": "P1"}',
                                         ', assign="explicit", nets={"A1": "NOPE"}', ', nets={"A1": "P1"}',
                                         ', offset=(float("nan"), 0)']))
             + ")")
    return "\n".join([
        "from layoutgen import BallGrid, Design, Die, FanInWlcsp, Pad, Plating, Posts, Wafer, peripheral_pads",
        pads,
        "design = Design(",
        f"    name={pick('small', NAME)!r}, pdk={pick('sky400', st.sampled_from(['sky500', 'nosuch', '']))!r},",
        f"    die=Die(name={pick('SMALL', NAME)!r}, width={_num(dw)}, height={_num(dh)}, pads=pads),",
        f"    package=FanInWlcsp(balls={balls}, bump={pick('round', st.sampled_from(['octagon', 'square']))!r}),",
        ")",
        pick("", TAIL),
    ]) + "\n"


@fuzz(40)
@given(text=configs())
def test_fuzz_configs(text: str):
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "cfg.py"
        cfg.write_text(text, encoding="utf-8")
        out = Path(tmp) / "out"
        code, _, err = run("configs", ["build", str(cfg), "-o", str(out), "--no-drc", "-q"])
        sane(code, err)
        left = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
        if code == 2:
            assert left == [], left                                   # nothing half-written
            assert re.match(rf"error: {re.escape(str(cfg.resolve()))}:\d+: ", err), err
        else:
            assert len(left) == 1 and not left[0].startswith("."), left


# ------------------------------------------------------------------ PDK folders

@pytest.fixture(scope="module")
def sky400() -> Path:
    return Path(load_pdk("sky400").path)


BAD_VALUES = st.sampled_from(["nan", "inf", "-inf", "0", "-8", "1e400", '"text"', "[]", "{}", "true", "99999999999",
                              "0.0001", "-0.0", '"RDL"', "[1, 2, 3]"])


@fuzz(60)
@given(data=st.data())
def test_fuzz_pdk_folders(sky400: Path, data):
    with tempfile.TemporaryDirectory() as tmp:
        pdk = Path(tmp) / "fz"
        shutil.copytree(sky400, pdk)
        fname = data.draw(st.sampled_from(["pdk.toml", "layers.toml", "masks.toml", "rules.toml"]))
        lines = (pdk / fname).read_text(encoding="utf-8").splitlines()
        assigns = [i for i, line in enumerate(lines) if re.match(r"^\s*[\w.]+\s*=\s*\S", line) and "name =" not in line[:8]]
        for _ in range(data.draw(st.integers(1, 3))):
            i = data.draw(st.sampled_from(assigns))
            key = lines[i].split("=", 1)[0]
            lines[i] = f"{key}= {data.draw(BAD_VALUES)}"
        if data.draw(st.booleans()):
            lines.insert(data.draw(st.integers(0, len(lines))), data.draw(st.sampled_from(
                ["[rule]", "[[rule]]", "[[mask]]", "junk", "\x00", "name = 'dup'", 'extends = "fz"'])))
        (pdk / fname).write_text("\n".join(lines) + "\n", encoding="utf-8")
        code, out, err = run("pdk folders", ["pdk", "show", str(pdk), "--json"])
        sane(code, err)
        if code == 0:
            import json
            json.loads(out, parse_constant=lambda c: pytest.fail(f"{c} in pdk show --json"))
        else:
            assert str(pdk) in err or "fz" in err, err
        code, out, err = run("pdk folders", ["pdk", "--pdk-path", tmp, "list"])
        assert code in (0, 2) and "sky400" in out, (code, err)


# ------------------------------------------------------------------ GDS files

LAYERS = st.sampled_from([(20, 0), (20, 1), (10, 0), (21, 0), (30, 0), (40, 0), (50, 0), (2, 0), (99, 0), (201, 0)])
COORD = st.integers(-3000, 3000)


@st.composite
def gds_files(draw) -> tuple[bytes, str]:
    lib = gdstk.Library(unit=1e-6, precision=draw(st.sampled_from([1e-9, 1e-9, 5e-9, 1e-10])))
    child = lib.new_cell("CHILD")
    top = lib.new_cell("TOP")
    for cell in (child, top):
        x, y, layer = 0, 0, 20
        for _ in range(draw(st.integers(0, 6))):
            layer, dt = draw(LAYERS)
            kind = draw(st.sampled_from(["rect", "poly", "zero", "path"]))
            x, y = draw(COORD), draw(COORD)
            if kind == "rect":
                cell.add(gdstk.rectangle((x, y), (x + draw(st.integers(1, 300)), y + draw(st.integers(1, 300))), layer=layer, datatype=dt))
            elif kind == "poly":
                pts = draw(st.lists(st.tuples(COORD, COORD), min_size=3, max_size=7))
                cell.add(gdstk.Polygon(pts, layer=layer, datatype=dt))
            elif kind == "zero":
                cell.add(gdstk.Polygon([(x, y), (x + 10, y), (x + 20, y)], layer=layer, datatype=dt))
            else:
                cell.add(gdstk.FlexPath([(x, y), (x + 100, y + draw(st.integers(-100, 100)))], draw(st.integers(1, 30)), layer=layer, datatype=dt))
        if draw(st.booleans()):
            cell.add(gdstk.Label(draw(st.sampled_from(["VDD", "A1", "JOIN:A,B", "[x]"])), (x, y), layer=layer))
    for _ in range(draw(st.integers(0, 3))):
        cols, rows = draw(st.integers(1, 4)), draw(st.integers(1, 4))
        top.add(gdstk.Reference(child, (draw(COORD), draw(COORD)), rotation=math.radians(draw(st.sampled_from([0, 90, 180, 270, 30]))),
                                x_reflection=draw(st.booleans()), columns=cols, rows=rows,
                                spacing=(draw(st.integers(0, 500)), draw(st.integers(0, 500))) if cols * rows > 1 else None))
    with tempfile.TemporaryDirectory() as tmp:
        lib.write_gds(str(Path(tmp) / "f.gds"))
        data = (Path(tmp) / "f.gds").read_bytes()
    damage = draw(st.sampled_from(["none", "none", "none", "truncate", "flip"]))
    if damage == "truncate":
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif damage == "flip":
        k = draw(st.integers(0, len(data) - 1))
        data = data[:k] + bytes([data[k] ^ 0xFF]) + data[k + 1:]
    return data, draw(st.sampled_from(["", "--flat", "--hierarchical", "--strict"]))


@fuzz(60)
@given(case=gds_files())
def test_fuzz_gds_files(case):
    data, flag = case
    with tempfile.TemporaryDirectory() as tmp:
        gds = Path(tmp) / "f.gds"
        gds.write_bytes(data)
        code, _, err = run("GDS files", ["drc", str(gds), "--pdk", "sky400", "-o", str(Path(tmp) / "r"), *([flag] if flag else [])])
        sane(code, err)
        left = sorted(p.name for p in Path(tmp).iterdir())
        assert left in (["f.gds"], ["f.gds", "r"]), left
        if (Path(tmp) / "r").exists():
            assert sorted(p.name for p in (Path(tmp) / "r").iterdir()) == ["drc.json", "drc.lyrdb"]
