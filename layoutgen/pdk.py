"""Process design kits as data: layers, masks and the rule deck, loaded from TOML folders.

A PDK is a folder holding `pdk.toml` (process constants, connectivity stack), `layers.toml`,
`masks.toml` and `rules.toml`, and any other `<name>.toml` of process data a family reads
(fan-out: `fanout.toml`, wiring and dielectrics) as `Pdk.data[name]`, the file's tables as read
(a folder's file replaces its base's; the family validates them). A folder may name a base with `extends = "other"`: missing
files come from the base, its layers add to the base's, its masks.toml replaces the base's
mask list, and its rules are added to the base's (a rule of the same name replaces the
base's; `drop = [...]` in rules.toml removes base rules). Shipped PDKs live in the package (`layoutgen.pdks`); a user's own are found by path,
through `--pdk-path` or the `LAYOUTGEN_PDK_PATH` environment variable (folders separated by
the OS path separator, each a PDK folder or a folder of PDK folders). All lengths in µm.
"""

from __future__ import annotations

import os
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import PdkError
from .files import read_toml
from .pdk_check import KEYS, check_file, check_pdk  # noqa: F401  (KEYS: a first mask's aligns_to)
from .rulekinds import RULE_KINDS
from .units import snap, snap_up


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Layer(_Model):
    """One GDS layer: name, layer/datatype, colour and stipple for KLayout."""

    name: str
    gds: tuple[int, int]
    color: str = "#808080"
    stipple: int = 1
    purpose: Literal["drawn", "reference", "marker"] = "drawn"   # marker: no mask; outlines the mark areas DRC exempts
    description: str = ""


class Mask(_Model):
    """One photomask: the drawn layers it is made of, its tone, mirror and alignment."""

    name: str
    layers: list[str]
    field: Literal["dark", "clear"] = "dark"
    invert: bool = False
    mirror: bool = False
    aligns_to: str | None = None
    # The process route the mask belongs to, where a family offers alternatives (a relief CSP's
    # relief moulded or printed): written only for a design whose package.route is this one.
    route: str | None = None
    # What the mask registers with, where it is not the generated box-in-box and verniers on the
    # mask it aligns to (a sheet's masks: the through-sheet fiducial holes); for the mask order table.
    mark: str | None = None
    # Where the mask registers to another mask on some route (route -> mask): the level before it
    # differs (on the printed relief route the tracks register to the first stencil's print).
    aligns_to_route: dict[str, str] = {}


class Rule(_Model):
    """One design rule: kind, layers, value (µm, µm², or a fraction for density)."""

    name: str
    kind: str                            # a kind of layoutgen.rulekinds.RULE_KINDS
    description: str
    layer: str | None = None
    other: str | None = None
    layers: list[str] | None = None
    value: float | None = None
    tolerance: float | None = None       # size: allowed deviation (µm)
    tolerance_um: float | None = None    # angle: edges shorter than this are ignored
    window: float | None = None          # density window side (µm)
    step: float | None = None            # density window step (µm)
    min: float | None = None             # density lower bound (fraction)
    max: float | None = None             # density upper bound (fraction)
    check: Literal["opens", "shorts", "plating", "isolation"] | None = None

    @model_validator(mode="after")
    def _has_fields_of_kind(self) -> "Rule":
        if self.kind not in RULE_KINDS:
            raise ValueError(f"rule {self.name!r}: unknown kind {self.kind!r} (known: {', '.join(RULE_KINDS)})")
        needs = RULE_KINDS[self.kind].needs
        missing = [f for f in needs if getattr(self, f) is None]
        if missing:
            raise ValueError(f"rule {self.name!r} of kind {self.kind!r} needs {', '.join(missing)}")
        return self


class Via(_Model):
    """A cut layer joining two conductors: where it overlaps both ("via"), or only where all three overlap ("sidewall")."""

    via: str
    lower: str
    upper: str
    # "via": a lower and an upper shape that both overlap one via shape are joined. "sidewall":
    # the via layer is a cut through the lower conductor whose wall the upper one lines: they
    # join only where cut, lower and upper overlap (a long cut through many pads joins each
    # pad to the metal over its own stretch of the cut, not to the metal over another's).
    contact: Literal["via", "sidewall"] = "via"


class Connectivity(_Model):
    """The conductor and via stack the connectivity checks follow."""

    conductors: list[str] = Field(default_factory=list)
    vias: list[Via] = Field(default_factory=list)
    touching: list[tuple[str, str]] = Field(default_factory=list)
    label_layers: list[str] = Field(default_factory=list)
    # Label layers every net must reach (None: all that carry labels; a fan-out's die-to-die
    # nets reach no ball, so that flow asks only that a net's terminals meet).
    required_label_layers: list[str] | None = None


class DieLimits(_Model):
    """Die sizes the process accepts, and the seal ring band width."""

    min_width_um: float
    min_height_um: float
    max_width_um: float
    max_height_um: float
    seal_width_um: float


class RdlParams(_Model):
    """RDL drawing parameters that are not rules (teardrop shape)."""

    teardrop_max_fraction: float = 0.9
    teardrop_max_widths: float = 3.0


class Labels(_Model):
    """Where net labels go in the GDS, and how tall the text a mask carries is drawn."""

    text_datatype: int = 0
    mask_label_height_um: float = Field(default=40.0, gt=0)   # the design/mask/revision text below the field


class Pdk(_Model):
    """A loaded PDK: process constants, layers by name, masks in order, the rule deck."""

    name: str
    description: str = ""
    path: str = ""
    dbu_um: float = 0.001
    grid_um: float = 0.005
    circle_vertices: int = 64
    die: DieLimits
    rdl: RdlParams = RdlParams()
    labels: Labels = Labels()
    connectivity: Connectivity = Connectivity()
    # Process numbers that are not rules (a backside groove's etch depth and wall angle):
    # name -> value, the unit in the name (`groove_depth_um`, `wall_angle_deg`).
    process: dict[str, float] = Field(default_factory=dict)
    layers: dict[str, Layer]
    masks: list[Mask]
    rules: list[Rule]
    data: dict[str, dict] = Field(default_factory=dict)        # a family's process data, by file stem
    data_files: dict[str, str] = Field(default_factory=dict)   # the file each came from

    def process_data(self, name: str, what: str) -> tuple[dict, str]:
        """The tables of `<name>.toml` (this folder's or a base's) and its path; a PdkError naming `what` it holds if none."""
        if name not in self.data:
            raise PdkError(f"PDK at {self.path} has no {name}.toml ({what}) in its extends chain")
        return self.data[name], self.data_files[name]

    @model_validator(mode="after")
    def _references_known_layers(self) -> "Pdk":
        known = set(self.layers)
        for m in self.masks:
            for name in m.layers:
                if name not in known:
                    raise ValueError(f"mask {m.name!r} names unknown layer {name!r}")
        for r in self.rules:
            for name in [r.layer, r.other, *(r.layers or [])]:
                if name is not None and name not in known:
                    raise ValueError(f"rule {r.name!r} names unknown layer {name!r}")
        if self.circle_vertices % 8:
            raise ValueError(f"circle_vertices must be a multiple of 8, got {self.circle_vertices}")
        return self

    def for_route(self, route: str | None) -> "Pdk":
        """The PDK as a design of process route `route` exposes it: the masks of that route and of every route,
        each registered to the mask it follows on that route."""
        masks = [m.model_copy(update={"aligns_to": m.aligns_to_route.get(route, m.aligns_to) if route else m.aligns_to})
                 for m in self.masks if m.route is None or m.route == route]
        return self.model_copy(update={"masks": masks})

    def mark_area_layer(self) -> str | None:
        """The layer whose shapes outline the mark areas the DRC exempts from the rules: the PDK's `marker` layer
        (where MARK is drawn on the masks), else MARK when the PDK has it and no rule names it, else None; PdkError when
        several layers have purpose "marker"."""
        markers = [n for n, layer in self.layers.items() if layer.purpose == "marker"]
        if len(markers) > 1:   # the DRC exempts one layer's areas: taking the first would check the rest as product
            raise PdkError(f"PDK {self.name!r} ({self.path}/layers.toml): layers {', '.join(markers)} all have purpose "
                           f"\"marker\": the mark areas the DRC exempts are one layer's, give that purpose to one of them")
        if markers:
            return markers[0]
        if "MARK" not in self.layers or any("MARK" in (r.layer, r.other) or "MARK" in (r.layers or []) for r in self.rules):
            return None
        return "MARK"

    def layer(self, name: str) -> Layer:
        """The layer called `name`, or a PdkError naming the PDK."""
        try:
            return self.layers[name]
        except KeyError:
            raise PdkError(f"PDK {self.name!r} has no layer {name!r}") from None

    def find_rule(self, kind: str, layer: str | None = None, other: str | None = None) -> Rule | None:
        """The first rule of `kind` on `layer` (and `other`), or None."""
        for r in self.rules:
            if r.kind == kind and (layer is None or r.layer == layer) and (other is None or r.other == other):
                return r
        return None

    def rule(self, kind: str, layer: str | None = None, other: str | None = None) -> Rule:
        """The rule of `kind` on `layer` (and `other`); a PdkError if the deck lacks it."""
        r = self.find_rule(kind, layer, other)
        if r is None:
            what = f"{kind} rule on {layer}" + (f" / {other}" if other else "")
            raise PdkError(f"PDK {self.name!r} ({self.path}) has no {what}, which the generator needs")
        return r

    def value(self, kind: str, layer: str | None = None, other: str | None = None) -> float:
        """The value of the rule of `kind` on `layer` (and `other`)."""
        v = self.rule(kind, layer, other).value
        assert v is not None
        return v

    def process_value(self, key: str, needed_by: str) -> float:
        """A number of the PDK's [process] table; a PdkError naming the PDK and who needs it if absent."""
        if key not in self.process:
            raise PdkError(f"PDK {self.name!r} ({self.path}): pdk.toml has no [process] {key}, which {needed_by} needs")
        return self.process[key]

    def snap(self, x: float) -> float:
        """`x` rounded to the manufacturing grid."""
        return snap(x, self.grid_um)

    def snap_up(self, x: float) -> float:
        """`x` rounded up to the manufacturing grid (for sizes that must not shrink)."""
        return snap_up(x, self.grid_um)


def _shipped_root() -> Path:
    """The shipped PDKs: ./pdk beside the package in a checkout, else the installed data."""
    checkout = Path(__file__).resolve().parent.parent / "pdk"
    if (checkout / "sky400" / "pdk.toml").is_file():
        return checkout
    return Path(str(resources.files("layoutgen.pdks")))


def search_path(extra: list[str | Path] | None = None) -> list[Path]:
    """Folders searched for PDKs, in order: `extra`, LAYOUTGEN_PDK_PATH, the shipped PDKs."""
    paths: list[Path] = [Path(p) for p in (extra or [])]
    env = os.environ.get("LAYOUTGEN_PDK_PATH", "")
    paths += [Path(p) for p in env.split(os.pathsep) if p]
    paths.append(_shipped_root())
    return paths


def _is_pdk_dir(p: Path) -> bool:
    return (p / "pdk.toml").is_file()


def find_pdk_dir(name: str, extra: list[str | Path] | None = None) -> Path:
    """The folder of the PDK called (or located at) `name`."""
    direct = Path(name)
    if _is_pdk_dir(direct):
        return direct
    for root in search_path(extra):
        if _is_pdk_dir(root) and root.name == name:
            return root
        if _is_pdk_dir(root / name):
            return root / name
    raise PdkError(
        f"no PDK {name!r}: looked in {', '.join(str(p) for p in search_path(extra))} "
        f"(known: {', '.join(list_pdks(extra)) or 'none'}); set LAYOUTGEN_PDK_PATH or pass --pdk-path"
    )


def list_pdks(extra: list[str | Path] | None = None) -> list[str]:
    """Names of every PDK on the search path (first one of a name wins)."""
    seen: dict[str, None] = {}
    for root in search_path(extra):
        if _is_pdk_dir(root):
            seen.setdefault(root.name, None)
        elif root.is_dir():
            for sub in sorted(root.iterdir()):
                if _is_pdk_dir(sub):
                    seen.setdefault(sub.name, None)
    return list(seen)


_PDK_FILES = ("pdk.toml", "layers.toml", "masks.toml", "rules.toml")


def _read_toml(path: Path) -> dict:
    data = read_toml(path, PdkError, "")
    check_file(path, data)
    return data


def _raw(pdk_dir: Path, extra: list[str | Path] | None, depth: int = 0) -> dict:
    """The merged raw data of a PDK folder and its bases."""
    if depth > 8:
        raise PdkError(f"{pdk_dir}: 'extends' chain too deep (a cycle?)")
    top = _read_toml(pdk_dir / "pdk.toml")
    base_name = top.pop("extends", None)
    if base_name:
        base_dir = (pdk_dir.parent / base_name) if _is_pdk_dir(pdk_dir.parent / base_name) else find_pdk_dir(base_name, extra)
        data = _raw(base_dir, extra, depth + 1)
    else:
        data = {"layers": {}, "masks": [], "rules": []}
    for key, val in top.items():
        data[key] = val
    if (pdk_dir / "layers.toml").is_file():
        # A folder's layers add to its base's (same name replaces, in the base's place).
        own_layers = {n: {"name": n, **v} for n, v in _read_toml(pdk_dir / "layers.toml").get("layers", {}).items()}
        data["layers"] = {**data["layers"], **own_layers}
    if (pdk_dir / "masks.toml").is_file():
        data["masks"] = _read_toml(pdk_dir / "masks.toml").get("mask", [])
    if (pdk_dir / "rules.toml").is_file():
        deck = _read_toml(pdk_dir / "rules.toml")
        own = deck.get("rule", [])
        # `drop = ["NAME", ...]` removes base rules this process does not have.
        dropped = set(deck.get("drop", []))
        unknown = dropped - {r.get("name") for r in data["rules"]}
        if unknown:
            raise PdkError(f"{pdk_dir / 'rules.toml'}: drop names rules the base does not have: {', '.join(sorted(unknown))}")
        names = {r.get("name") for r in own} | dropped
        data["rules"] = [r for r in data["rules"] if r.get("name") not in names] + own
    for f in sorted(pdk_dir.glob("*.toml")):
        if f.name not in _PDK_FILES:
            data.setdefault("data", {})[f.stem] = _read_toml(f)
            data.setdefault("data_files", {})[f.stem] = str(f)
    data["path"] = str(pdk_dir)
    return data


@lru_cache(maxsize=32)
def _load_cached(pdk_dir: str, extra: tuple[str, ...], stamp: tuple[int, ...]) -> Pdk:
    raw = _raw(Path(pdk_dir), list(extra))
    try:
        pdk = Pdk.model_validate(raw)
    except ValidationError as e:
        first = e.errors()[0]
        loc = list(first["loc"])
        if not loc:   # a check of the whole PDK: its message names what it found
            raise PdkError(f"PDK at {pdk_dir}: {first['msg'].removeprefix('Value error, ')}") from None
        file = {"layers": "layers.toml", "masks": "masks.toml", "rules": "rules.toml"}.get(str(loc[0]), "pdk.toml")
        if loc[0] in ("rules", "masks") and len(loc) > 1 and isinstance(loc[1], int):
            item = raw[str(loc[0])][loc[1]]   # name the rule or mask, as the file does
            loc[:2] = [f"{'rule' if loc[0] == 'rules' else 'mask'} {item.get('name', loc[1])}" if isinstance(item, dict) else loc[0]]
        elif loc[0] in ("layers", "masks", "rules"):
            loc = loc[1:] if loc[0] == "layers" else loc
            loc = ["layers", *loc] if file == "layers.toml" else loc
        where = ".".join(str(p) for p in loc)
        raise PdkError(f"{Path(pdk_dir) / file}: {where} = {first.get('input')!r}: {first['msg']}") from None
    check_pdk(pdk)
    return pdk


def load_pdk(name: str, extra: list[str | Path] | None = None) -> Pdk:
    """Load the PDK called (or located at) `name`, validated; raises PdkError."""
    pdk_dir = find_pdk_dir(name, extra).resolve()
    # Edited TOML files are read again: the cache key holds their modification times.
    stamp = tuple(f.stat().st_mtime_ns for f in sorted(pdk_dir.glob("*.toml")))
    return _load_cached(str(pdk_dir), tuple(str(p) for p in (extra or [])), stamp)
