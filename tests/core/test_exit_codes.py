"""Exit codes, signals, staging and output permissions of `layoutgen build` (issue #18 causes 7, 8, 10, 11, 12, 17).

Every user error exits 2 with one message naming the file and why; an internal failure exits
3 saying so; a signal removes the stage and keeps the previous result; outputs follow the
umask. The build is a small die (3 × 3 balls) so each case costs a second or two.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from layoutgen.cli import main

SMALL = """
from layoutgen import BallGrid, Design, Die, FanInWlcsp, peripheral_pads

pads = peripheral_pads(1600, 1600, per_side=2, pitch=400, inset=70, size=60)
design = Design(
    name="small", pdk="sky400",
    die=Die(name="SMALL", width=1600, height=1600, pads=pads),
    package=FanInWlcsp(balls=BallGrid(rows=3, cols=3, pitch=400)),
)
"""


@pytest.fixture
def small(write_config) -> Path:
    return write_config(SMALL, "small.py")


def _run(*args: str, cwd: Path, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "layoutgen", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, **kw)


def _no_traceback(text: str) -> None:
    assert "Traceback" not in text, text


def test_sys_exit_in_a_config_is_a_config_error(write_config, capsys):
    for code in ("0", "7"):
        cfg = write_config(f"import sys\nx = 1\nsys.exit({code})\n", f"exit{code}.py")
        assert main(["build", str(cfg), "-o", str(cfg.parent / "out")]) == 2
        err = capsys.readouterr().err
        assert f"{cfg}:3: the config called sys.exit({code})" in err
        assert not (cfg.parent / "out").exists() or not any((cfg.parent / "out").iterdir())


def test_a_non_utf8_config_names_the_file_and_line(tmp_path, capsys):
    cfg = tmp_path / "latin1.py"
    cfg.write_bytes(b"# first line\nname = 'caf\xe9'\n")
    assert main(["build", str(cfg), "-o", str(tmp_path / "out")]) == 2
    assert f"{cfg}:2: the config file is not UTF-8 text (byte 0xe9" in capsys.readouterr().err


def test_a_non_utf8_waivers_file_is_exit_2(small, tmp_path, capsys):
    (small.parent / "waivers.toml").write_bytes(b"[[waiver]]\nrule = 'RDL.S.1'\nreason = 'caf\xe9'\n")
    assert main(["build", str(small), "-o", str(tmp_path / "out"), "-q"]) == 2
    assert "waivers.toml: not UTF-8" in capsys.readouterr().err


def test_an_internal_failure_exits_3_and_says_so(small, tmp_path, monkeypatch, capsys):
    import layoutgen.pipeline as pipeline

    def broken(*a, **k):
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr(pipeline, "write_report", broken)
    (tmp_path / "out" / "small").mkdir(parents=True)
    (tmp_path / "out" / "small" / "keep.txt").write_text("previous")
    assert main(["build", str(small), "-o", str(tmp_path / "out"), "-q", "--no-drc"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("internal error: ZeroDivisionError: float division by zero") and "report it" in err
    assert (tmp_path / "out" / "small" / "keep.txt").read_text() == "previous"
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["small"]


@pytest.mark.parametrize("code,reason", [(errno.ENOSPC, "the disk is full"), (errno.EROFS, "read-only"),
                                         (errno.EACCES, "permission denied")])
def test_unwritable_output_is_exit_2_with_the_reason(small, tmp_path, monkeypatch, capsys, code, reason):
    import layoutgen.pipeline as pipeline

    def full(stage: Path) -> None:
        raise OSError(code, os.strerror(code), str(stage / "report.html"))

    monkeypatch.setattr(pipeline, "write_report", full)
    assert main(["build", str(small), "-o", str(tmp_path / "out"), "-q", "--no-drc"]) == 2
    err = capsys.readouterr().err
    assert "cannot write the results to" in err and "report.html" in err and reason in err
    assert list((tmp_path / "out").iterdir()) == []


def test_o_naming_a_file_and_a_long_design_name_are_exit_2(small, tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    assert main(["build", str(small), "-o", str(tmp_path / "afile"), "-q", "--no-drc"]) == 2
    assert f"-o {tmp_path / 'afile'}: is a file, not a folder" in capsys.readouterr().err
    long = small.with_name("long.py")
    long.write_text(small.read_text().replace('name="small"', f'name="{"d" * 240}"'))
    assert main(["build", str(long), "-o", str(tmp_path / "out"), "-q", "--no-drc"]) == 2
    assert f"{long}:5: Design.name = 'ddd" in capsys.readouterr().err


def test_a_file_size_limit_is_reported_as_such(small, tmp_path):
    import resource

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4000, 4000))

    r = _run("build", str(small), "-o", str(tmp_path / "out"), "-q", "--no-drc", cwd=tmp_path, preexec_fn=limit)
    assert r.returncode == 2, r.stderr
    _no_traceback(r.stderr)
    assert "cannot write the results to" in r.stderr and "file size limit" in r.stderr
    assert list((tmp_path / "out").iterdir()) == []


def test_outputs_follow_the_umask(small, tmp_path):
    for umask, fmode, dmode in ((0o022, 0o644, 0o755), (0o027, 0o640, 0o750)):
        out = tmp_path / f"out{umask:o}"
        old = os.umask(umask)
        try:
            assert main(["build", str(small), "-o", str(out), "-q", "--no-drc"]) == 0
        finally:
            os.umask(old)
        files = [p for p in (out / "small").rglob("*")]
        assert {p.stat().st_mode & 0o777 for p in files if p.is_file()} == {fmode}
        assert {p.stat().st_mode & 0o777 for p in [out / "small", *files] if p.is_dir()} == {dmode}
        assert {"small.gds", "report.html", "summary.json"} <= {p.name for p in files}


SLOW = """
import sys, time
import layoutgen.pipeline as p
real = p.render_previews
def slow(stage, name, **kw):
    print("STAGED", flush=True)
    time.sleep(60)
p.render_previews = slow
from layoutgen.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _as_from_a_terminal() -> None:
    """In the child before exec: SIGINT back to its default, as an interactive shell starts a command.

    A test run started in the background of a non-interactive shell (`pytest &`, nohup, some CI
    runners) ignores SIGINT, the child inherits that, and Python then installs no Ctrl-C handler:
    the build rightly ignores SIGINT as its parent asked, and the test would wait out its timeout.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_removes_the_stage_and_keeps_the_previous_result(small, tmp_path, sig):
    out = tmp_path / "out"
    (out / "small").mkdir(parents=True)
    (out / "small" / "keep.txt").write_text("previous")
    stale = out / ".small.dead0000.tmp"
    stale.mkdir()
    (stale / ".owner").write_text("999999999")  # a build killed long ago (no such process)
    runner = tmp_path / "slow.py"
    runner.write_text(SLOW)
    proc = subprocess.Popen([sys.executable, str(runner), "build", str(small), "-o", str(out), "-q", "--no-drc"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_as_from_a_terminal)
    try:
        assert proc.stdout.readline().strip() == "STAGED"
        assert not stale.exists()                                 # the next build removed it
        assert len(list(out.glob(".small.*.tmp"))) == 1           # its own stage
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:   # never leave the sleeping build behind a failed assert
            proc.kill()
            proc.communicate()
    assert proc.returncode == 128 + sig, err
    _no_traceback(err)
    assert "interrupted" in err
    assert sorted(p.name for p in out.iterdir()) == ["small"]
    assert (out / "small" / "keep.txt").read_text() == "previous"


def test_a_failure_between_the_final_renames_restores_the_previous_result(tmp_path, monkeypatch):
    from layoutgen.pipeline import _swap_into_place

    final, stage = tmp_path / "d", tmp_path / ".d.x.tmp"
    final.mkdir()
    (final / "keep.txt").write_text("previous")
    stage.mkdir()
    real = Path.rename

    def failing(self, target):
        if self == stage:
            raise OSError(errno.EIO, "I/O error")
        return real(self, target)

    monkeypatch.setattr(Path, "rename", failing)
    with pytest.raises(OSError):
        _swap_into_place(stage, final)
    assert (final / "keep.txt").read_text() == "previous"
    assert not (tmp_path / ".d.old").exists()


def test_a_result_left_only_as_old_is_put_back(small, tmp_path):
    from layoutgen.pipeline import remove_stale_stages

    out = tmp_path / "out"
    (out / ".small.old").mkdir(parents=True)
    (out / ".small.old" / "keep.txt").write_text("previous")
    remove_stale_stages(out, "small")
    assert (out / "small" / "keep.txt").read_text() == "previous" and not (out / ".small.old").exists()


def test_render_refuses_a_huge_picture_before_klayout(tmp_path):
    r = _run("render", str(tmp_path / "x.gds"), "--size", "100000x100000", cwd=tmp_path)
    assert r.returncode == 2 and "each side must be 1 to 16384 pixels" in r.stderr
    _no_traceback(r.stderr)


def test_drc_errors_keep_bracketed_text(tmp_path):
    gds = tmp_path / "x.gds"
    gds.write_bytes(b"not a gds")
    r = _run("drc", str(gds), "--pdk", "sky400", "--waivers", str(tmp_path / "w[1].toml"), cwd=tmp_path)
    assert r.returncode == 2 and "w[1].toml" in r.stderr.replace("\n", ""), r.stderr   # rich wraps long paths
