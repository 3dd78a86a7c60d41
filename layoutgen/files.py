"""Files: output written atomically (through a temporary file in the same folder and a rename, so a
reader never sees half a file and a failed write leaves the old file (or none) in place), and the
user's TOML files read with an error that names the file and the reason."""

from __future__ import annotations

import os
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside `path` to write to: renamed to `path` when the block ends, removed if it raises."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: str | Path, data: bytes | str) -> Path:
    """Write `data` (text as UTF-8) to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)


def read_toml(path: Path, error: type[Exception], what: str) -> dict:
    """The table of a user's TOML file; `error` ("<what> <path>: <reason>") when it is missing, unreadable, not UTF-8 or not TOML."""
    where = f"{what} {path}".lstrip()
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise error(f"{where} does not exist") from None
    except tomllib.TOMLDecodeError as e:
        raise error(f"{where}: not valid TOML: {e}") from None
    except UnicodeDecodeError as e:
        raise error(f"{where}: not UTF-8 text (byte at offset {e.start}); save it as UTF-8") from None
    except OSError as e:
        raise error(f"{where}: cannot be read: {e.strerror}") from None
