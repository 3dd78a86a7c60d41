"""Loading a Python config file into a validated Design, with errors that point at file:line."""

from __future__ import annotations

import re
import traceback
from pathlib import Path

from pydantic import ValidationError

from .design import CONFIG_FILE, Design, FieldValueError, Model, field_line as _field_line
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


def _field_path(model: type | None, loc: tuple) -> tuple[str, str | None]:
    """(`field.sub[0]['key']`, the field name written in the config) of an error location: list
    indices and dict keys in brackets (a ball map's keys are balls, not fields)."""
    dotted, written, keyed = "", None, False
    for part in loc:
        if isinstance(part, int) or keyed:
            dotted += f"[{part!r}]" if isinstance(part, str) else f"[{part}]"
            keyed = False
            continue
        dotted += f".{part}" if dotted else str(part)
        written = part
        info = getattr(model, "model_fields", {}).get(part)
        ann = getattr(info, "annotation", None)
        keyed = getattr(ann, "__origin__", None) is dict or ann is dict
        sub = next((a for a in getattr(ann, "__args__", (ann,)) if isinstance(a, type) and hasattr(a, "model_fields")), None)
        model = sub if sub is not None else model
    return dotted, written


def _model_class(name: str) -> type | None:
    """The design model class called `name` (a ValidationError gives its title only)."""
    todo = [Model]
    while todo:
        cls = todo.pop()
        if cls.__name__ == name:
            return cls
        todo += cls.__subclasses__()
    return None


def format_validation_error(e: ValidationError, path: Path, line: int | None) -> str:
    """'file:line: Model.field = value: reason' for the first error of a pydantic ValidationError.

    A model check that names its field (`FieldValueError`) is reported at that field; the line is
    the one where the field is written (at or after the call's line)."""
    err = e.errors()[0]
    loc, value, msg = tuple(err["loc"]), err.get("input"), err["msg"]
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, FieldValueError):
        loc, value, msg = loc + tuple(cause.field), cause.value, cause.reason
    elif err["type"] == "value_error" and msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    dotted, written = _field_path(_model_class(e.title), loc)
    where_line = _field_line(path, line, written) if line else None
    value_txt = repr(value)
    if len(value_txt) > 80:
        value_txt = value_txt[:77] + "..."
    more = f" (and {e.error_count() - 1} more)" if e.error_count() > 1 else ""
    field_txt = f"{e.title}.{dotted}" if dotted else e.title
    return f"{path}:{where_line or '?'}: {field_txt} = {value_txt}: {msg}{more}"


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
