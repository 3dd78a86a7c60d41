"""Loading a Python config file into a validated Design, with errors that point at file:line."""

from __future__ import annotations

import re
import traceback
from pathlib import Path

from pydantic import ValidationError

from .design import CONFIG_FILE, Design, field_line as _field_line
from .errors import ConfigError, LayoutgenError


def read_text(path: Path, what: str) -> str:
    """The UTF-8 text of a user's file (config, PDK, waivers); a ConfigError names the file when it is not UTF-8."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: the {what} file is not UTF-8 text (byte 0x{data[e.start]:02x} at offset "
                          f"{e.start}); save it as UTF-8") from None


def _assign_line(source: str, name: str) -> int | None:
    """The last line of `source` that assigns `name` (`name = ...`), or None."""
    found = None
    for i, text in enumerate(source.splitlines(), 1):
        if re.match(rf"\s*{re.escape(name)}\s*=[^=]", text):
            found = i
    return found


def _config_frame_line(tb, path: str) -> int | None:
    """The last line of the config file in a traceback."""
    line = None
    for fs in traceback.extract_tb(tb):
        if fs.filename == path:
            line = fs.lineno
    return line


def format_validation_error(e: ValidationError, path: Path, line: int | None) -> str:
    """'file:line: field = value: reason' for the first error of a pydantic ValidationError."""
    err = e.errors()[0]
    loc = err["loc"]
    dotted = ""
    for part in loc:
        dotted += f"[{part}]" if isinstance(part, int) else (f".{part}" if dotted else str(part))
    last_name = next((p for p in reversed(loc) if isinstance(p, str)), None)
    where_line = _field_line(path, line, last_name) if line else None
    model = e.title
    value = err.get("input")
    value_txt = repr(value)
    if len(value_txt) > 80:
        value_txt = value_txt[:77] + "..."
    more = f" (and {e.error_count() - 1} more)" if e.error_count() > 1 else ""
    field_txt = f"{model}.{dotted}" if dotted else model
    return f"{path}:{where_line or '?'}: {field_txt} = {value_txt}: {err['msg']}{more}"


def load_config(path: str | Path) -> Design:
    """Run the config file and return its `design`; a ConfigError names field, value and file:line."""
    p = Path(path).resolve()
    if not p.is_file():
        raise ConfigError(f"{path}: no such config file")
    source = read_text(p, "config")
    token = CONFIG_FILE.set(str(p))
    namespace: dict[str, object] = {"__file__": str(p), "__name__": "layoutgen_config"}
    try:
        code = compile(source, str(p), "exec")
        exec(code, namespace)
    except ValidationError as e:
        raise ConfigError(format_validation_error(e, p, _config_frame_line(e.__traceback__, str(p)))) from None
    except LayoutgenError as e:
        line = _config_frame_line(e.__traceback__, str(p))
        msg = str(e)
        raise ConfigError(msg if msg.startswith(str(p)) or line is None else f"{p}:{line}: {msg}") from None
    except SyntaxError as e:
        raise ConfigError(f"{p}:{e.lineno}: syntax error: {e.msg}") from None
    except SystemExit as e:  # sys.exit() in a config would end the build silently, with its own code
        line = _config_frame_line(e.__traceback__, str(p))
        raise ConfigError(f"{p}:{line or '?'}: the config called sys.exit({e.code!r}); a config must set "
                          f"`design = Design(...)` and return") from None
    except Exception as e:  # the config is user code: report where it failed
        line = _config_frame_line(e.__traceback__, str(p))
        raise ConfigError(f"{p}:{line or '?'}: {type(e).__name__}: {e}") from None
    finally:
        CONFIG_FILE.reset(token)
    design = namespace.get("design")
    if not isinstance(design, Design):
        line = _assign_line(source, "design") or len(source.splitlines()) or 1
        raise ConfigError(f"{p}:{line}: the config must set `design = Design(...)` (found {type(design).__name__})")
    design.config_path = p
    return design


# The public name (`layoutgen.load`): a config file to its Design, to change and build.
load = load_config
