"""`view`: a running KLayout gets one klive JSON line (GDS, .lyp, markers); otherwise KLayout is started
detached or its command printed; it never hangs."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import stat
import threading
import time
from pathlib import Path

import pytest
from test_view_fixtures import design_dir  # noqa: F401

from layoutgen.view.command import add_view_arguments, main_view
from layoutgen.view.files import ViewError
from layoutgen.view.klive import open_layout


class Listener:
    """A klive stand-in on 127.0.0.1 (ephemeral port): takes one connection, reads one line, answers or not."""

    def __init__(self, reply: bool | bytes = True) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(5)
        self.port = self.sock.getsockname()[1]
        self.reply = reply
        self.received: list[dict] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(5)
            data = b""
            while not data.endswith(b"\n"):
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
            msg = json.loads(data)
            self.received.append(msg)
            if isinstance(self.reply, bytes):
                conn.sendall(self.reply)
            elif self.reply:  # as klive: a JSON object, no newline, the line left open
                conn.sendall(json.dumps({"version": "0.3.0", "type": "open", "file": msg["gds"]}).encode())
            try:  # until the sender hangs up
                while conn.recv(4096):
                    pass
            except OSError:
                pass

    def close(self) -> None:
        self.thread.join(timeout=5)
        self.sock.close()


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_view_sends_klive_one_json_line_with_the_gds_lyp_and_markers(design_dir: Path) -> None:
    listener = Listener()
    try:
        said = open_layout(design_dir, port=listener.port)
    finally:
        listener.close()
    assert listener.received == [{
        "gds": str((design_dir / "demo.gds").resolve()),
        "keep_position": True,
        "lyp": str((design_dir / "demo.lyp").resolve()),
        "lyrdb": str((design_dir / "drc.lyrdb").resolve()),
    }]
    assert said.startswith(f"opened {(design_dir / 'demo.gds').resolve()} in the running KLayout")


def test_view_does_not_wait_long_for_a_listener_that_never_answers(design_dir: Path) -> None:
    listener = Listener(reply=False)
    try:
        said = open_layout(design_dir / "demo.gds", port=listener.port)   # returns: its wait is bounded
    finally:
        listener.close()
    assert said.startswith("sent ") and listener.received[0]["gds"].endswith("demo.gds")


def test_a_listener_that_is_not_klive_is_passed_over(design_dir: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    listener = Listener(reply=b"HTTP/1.1 400 Bad Request\r\n\r\n")
    try:
        said = open_layout(design_dir, port=listener.port)
    finally:
        listener.close()
    assert said.startswith("KLayout not started (klayout is not on PATH)")


def test_view_without_klive_nor_klayout_prints_the_command_promptly(design_dir: Path, tmp_path: Path, monkeypatch) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    said = open_layout(design_dir, port=free_port())
    d = design_dir.resolve()
    assert said.splitlines() == [
        "KLayout not started (klayout is not on PATH); to look at the layout run:",
        f"  klayout -l {d / 'demo.lyp'} -lx {d / 'demo.gds'} -m {d / 'drc.lyrdb'}",
    ]


def test_view_starts_klayout_detached_and_returns_at_once(design_dir: Path, tmp_path: Path, monkeypatch) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    record = tmp_path / "klayout.args"
    fake = bindir / "klayout"  # records its pid and arguments, then stays open as KLayout would
    # PATH will hold only the fake, so it names sleep by its full path.
    sleep = shutil.which("sleep") or "/bin/sleep"
    fake.write_text(f'#!/bin/sh\necho $$ > "{record}.pid"\nprintf "%s\\n" "$@" > "{record}"\nexec {sleep} 30\n')
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(bindir))
    monkeypatch.setenv("DISPLAY", ":99")
    said = open_layout(design_dir, port=free_port())   # returns while the fake KLayout sleeps on: detached
    assert said.startswith(f"started KLayout: {fake} -l ")
    try:
        for _ in range(100):
            if record.exists() and record.read_text().count("\n") >= 6:
                break
            time.sleep(0.05)
        d = design_dir.resolve()
        assert record.read_text().splitlines() == ["-l", str(d / "demo.lyp"), "-lx", str(d / "demo.gds"),
                                                    "-m", str(d / "drc.lyrdb")]
    finally:
        pid = int(Path(f"{record}.pid").read_text())
        os.kill(pid, signal.SIGTERM)


def test_view_without_a_display_prints_the_command_instead_of_starting(design_dir: Path, tmp_path: Path, monkeypatch) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "klayout"
    fake.write_text(f'#!/bin/sh\ntouch "{tmp_path / "started"}"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(bindir))
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    said = open_layout(design_dir / "demo.gds", port=free_port())
    assert said.startswith("KLayout not started (no display)") and f"{fake} -l " in said
    time.sleep(0.2)
    assert not (tmp_path / "started").exists()


def test_view_command_prints_and_exits_0_and_a_missing_file_is_a_view_error(design_dir: Path, tmp_path: Path, capsys) -> None:
    p = argparse.ArgumentParser()
    add_view_arguments(p)
    assert main_view(p.parse_args([str(design_dir / "masks" / "RDL.gds"), "--port", str(free_port()), "--print"])) == 0
    out = capsys.readouterr().out
    # A mask file takes the design's colours from the folder above, and no DRC markers (they are the die's).
    assert "KLayout not started (asked for the command only)" in out
    assert f"-l {(design_dir / 'demo.lyp').resolve()} -lx {(design_dir / 'masks' / 'RDL.gds').resolve()}" in out
    assert "-m" not in out.split("run:")[1]
    with pytest.raises(ViewError, match="no such file or folder"):
        main_view(p.parse_args([str(tmp_path / "nothing.gds")]))
