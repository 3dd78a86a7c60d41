"""Open a layout in KLayout: through a running KLayout's klive listener, else a new KLayout, else say how.

klive (the KLayout package gdsfactory and kfactory use for `show`) listens on 127.0.0.1:8082
for one JSON object per line: "gds" (absolute path) and "keep_position", optionally "lyrdb"
(a marker database) and "technology"; it answers with a JSON object naming the file it
opened ("type": "open" or "reload", "file"). We also send "lyp", the design's colours: the
klive server as published (0.2.x) ignores keys it does not know, so there the layers keep
KLayout's colours until one reads it. Every step has a short timeout: never hangs.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from .files import DesignFiles, find_design_files

KLIVE_HOST = "127.0.0.1"
KLIVE_PORT = 8082


def klive_message(files: DesignFiles, keep_position: bool = True) -> dict:
    """The JSON object klive is sent for `files`."""
    msg: dict = {"gds": str(files.gds), "keep_position": keep_position}
    if files.lyp is not None:
        msg["lyp"] = str(files.lyp)
    if files.lyrdb is not None:
        msg["lyrdb"] = str(files.lyrdb)
    if files.technology is not None:
        msg["technology"] = files.technology     # shown when the .lyt was imported into KLayout
    return msg


def klayout_command(files: DesignFiles, program: str = "klayout") -> list[str]:
    """The KLayout command line showing `files`: layers from the .lyp (and the others), markers."""
    cmd = [program]
    if files.lyt is not None:
        cmd += ["-nn", str(files.lyt)]
    if files.lyp is not None:
        cmd += ["-l", str(files.lyp), "-lx"]
    cmd.append(str(files.gds))
    if files.lyrdb is not None:
        cmd += ["-m", str(files.lyrdb)]
    return cmd


def _json_object(data: bytes) -> dict | None:
    """`data` as a JSON object, or None when it is not (yet) one."""
    try:
        value = json.loads(data.decode("utf-8", "replace"))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _read_reply(conn: socket.socket, deadline: float) -> bytes:
    """What the listener answers until it forms a JSON object, it hangs up, or `deadline` passes."""
    data = b""
    while (left := deadline - time.monotonic()) > 0:
        conn.settimeout(left)
        try:
            chunk = conn.recv(4096)
        except OSError:  # timed out or reset
            break
        data += chunk
        if not chunk or _json_object(data) is not None:
            break
    return data


def send_klive(files: DesignFiles, port: int = KLIVE_PORT, timeout: float = 0.5,
               reply_timeout: float = 1.5) -> dict | None:
    """Send `files` to klive on 127.0.0.1:`port`: its answer ({} when silent), None when no klive listens."""
    try:
        conn = socket.create_connection((KLIVE_HOST, port), timeout=timeout)
    except OSError:
        return None
    with conn:
        try:
            conn.sendall((json.dumps(klive_message(files)) + "\n").encode("utf-8"))
        except OSError:
            return None
        data = _read_reply(conn, time.monotonic() + reply_timeout)
    return _json_object(data) if data.strip() else {}


def _has_display() -> bool:
    """True where a started KLayout can open a window (always on macOS and Windows)."""
    if sys.platform.startswith(("darwin", "win")):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def start_klayout(cmd: list[str]) -> bool:
    """Start KLayout detached (own session, no pipes); False when it could not start."""
    kw: dict = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL,
                "stderr": subprocess.DEVNULL, "close_fds": True}
    if sys.platform.startswith("win"):
        kw["creationflags"] = subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP
    else:
        kw["start_new_session"] = True
    try:
        subprocess.Popen(cmd, **kw)
    except OSError:
        return False
    return True


def open_layout(path: Path, port: int = KLIVE_PORT, timeout: float = 0.5, start: bool = True) -> str:
    """Show the layout (a .gds or an output folder) in KLayout; returns what was done or the command to run."""
    files = find_design_files(Path(path))
    reply = send_klive(files, port=port, timeout=timeout)
    if reply is not None:
        how = {"open": "opened", "reload": "reloaded"}.get(reply.get("type"), "sent")
        return f"{how} {files.gds} in the running KLayout (klive on {KLIVE_HOST}:{port})"
    program = shutil.which("klayout") or shutil.which("klayout_app")  # klayout_app: the Windows name
    cmd = klayout_command(files, program or "klayout")
    if not start:
        why = "asked for the command only"
    elif program is None:
        why = "klayout is not on PATH"
    elif not _has_display():
        why = "no display"
    elif start_klayout(cmd):
        return f"started KLayout: {shlex.join(cmd)}"
    else:
        why = f"{program} did not start"
    return f"KLayout not started ({why}); to look at the layout run:\n  {shlex.join(cmd)}"
