"""The build: config to out/<design>/ (combined GDS, one GDS per mask, .lyp, summary, DRC).

Everything is written into a temporary folder beside the destination and renamed into place
at the end, so a failed build leaves the previous result (or nothing), never half a result.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from shapely.geometry import box

from .config import _field_line, load_config
from .drc import DrcResult, run_drc, write_reports
from .design import Design
from .errors import ConfigError, OutputError, PdkError, RoutingError
from .families import MODULES, builder, builds_wafer, extra_writer, mask_scaler, wafer_level
from .families.result import DieResult
from .gdsio import write_layout
from .layout import Layout
from .lyp import write_lyp
from .lyt import write_lyt
from .masks import derive_mask, manifest, mask_layer, mask_layer_map, write_manifest
from .pdk import Pdk, _shipped_root, find_pdk_dir, load_pdk
from .pinout import ball_order, write_board_files
from .view.progress import steps
from .view.render import render_previews
from .view.report import write_report

@dataclass
class BuildResult:
    """What a build wrote and found: the output folder, its files, the summary and the DRC result.

    In Jupyter a result shows its die preview (`_repr_png_`).
    """

    out_dir: Path
    summary: dict
    drc: DrcResult | None = None

    @property
    def exit_code(self) -> int:
        """0 clean (or DRC skipped), 1 when the DRC found violations."""
        return 1 if self.drc is not None and not self.drc.ok else 0

    @property
    def paths(self) -> dict[str, Path]:
        """Every file the build wrote, by its path relative to the output folder."""
        return {str(p.relative_to(self.out_dir)): p for p in sorted(self.out_dir.rglob("*")) if p.is_file()}

    @property
    def gds(self) -> Path:
        """The combined layout."""
        return self.out_dir / f"{self.summary['design']}.gds"

    @property
    def report(self) -> Path:
        """The report page."""
        return self.out_dir / "report.html"

    def _repr_png_(self) -> bytes | None:
        preview = self.out_dir / "preview" / "die.png"
        return preview.read_bytes() if preview.is_file() else None

    def __repr__(self) -> str:
        verdict = "DRC skipped" if self.drc is None else ("DRC clean" if self.drc.ok else "DRC violations")
        return f"<BuildResult {self.summary['design']} in {self.out_dir}: {verdict}>"


def resolve_pdk(design: Design, pdk_path: list[str | Path] | None = None) -> Pdk:
    """The design's PDK (a name, or a folder relative to the config, or on `pdk_path`); errors point at `pdk=`."""
    extra = [design.config_path.parent] if design.config_path else []
    extra += list(pdk_path or [])
    where = design.where()
    if design._src:
        where = f"{design._src[0]}:{_field_line(Path(design._src[0]), design._src[1], 'pdk')}"
    try:
        find_pdk_dir(design.pdk, extra)
    except PdkError as e:   # no such PDK: the config names it
        raise ConfigError(f"{where}: Design.pdk = {design.pdk!r}: {e}") from None
    try:
        return load_pdk(design.pdk, extra=extra)
    except PdkError as e:   # a PDK with a bad value: its file is the culprit, the config line says which PDK
        raise PdkError(f"{e} (the PDK of Design.pdk = {design.pdk!r}, {where})") from None


def located(e: ConfigError | RoutingError, design: Design) -> ConfigError | RoutingError:
    """`e` with the config file:line in front when its message has none (the die's line, else
    the design's): every error a config causes points at the config."""
    msg = str(e)
    src = design.config_path and str(design.config_path)
    if (src and msg.startswith(src)) or msg.startswith("<unknown>"):
        return e   # located already, or a design made in Python, which has no config line to name
    where = design.die.where() if design.die is not None and design.die._src else design.where()
    return type(e)(f"{where}: {msg}")


def check_cell_names(design: Design, pdk: Pdk) -> None:
    """A ConfigError at the die's line when its name is that of a mask's top cell (`<design>_<MASK>`),
    which the mask file would hold twice."""
    dies = [design.die, *(getattr(d, "die", None) for d in getattr(design.package, "dies", []))]
    for die in (d for d in dies if d is not None):
        for mask in pdk.masks:
            if die.name == f"{design.name}_{mask.name}":
                where = die.where()
                if die._src:
                    where = f"{die._src[0]}:{_field_line(Path(die._src[0]), die._src[1], 'name')}"
                raise ConfigError(f"{where}: Die.name = {die.name!r}: the top cell of mask {mask.name} has this "
                                  f"name; choose another die name")


def _versions() -> dict[str, str]:
    out = {}
    for pkg in ("layoutgen", "gdstk", "shapely", "numpy", "klayout"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "unknown"
    return out


def config_hash(design: Design, pdk: Pdk) -> str:
    """SHA-256 of the design and its PDK as canonical JSON: what the build is made from, no clock, no paths."""
    # Not hashed (yet): the folder and files (paths), and a family's process data (Pdk.data, read
    # from e.g. fanout.toml); a mask label height counts when a PDK sets one. Build ids issued
    # before these fields existed stay what they were.
    own = pdk.model_dump(mode="json", exclude={"path", "data", "data_files"})
    if pdk.labels.mask_label_height_um == type(pdk.labels)().mask_label_height_um:
        del own["labels"]["mask_label_height_um"]
    for mask in own["masks"]:
        if mask.get("mark") is None:      # a mask's registration note counts where a PDK writes one
            mask.pop("mark", None)
        if not mask["aligns_to_route"]:
            del mask["aligns_to_route"]
    dumped = design.model_dump(mode="json", serialize_as_any=True)
    if dumped.get("wafer") and not dumped["wafer"].get("test_sites"):   # a wafer without test sites keeps its build id
        dumped["wafer"].pop("test_sites", None)
    if dumped.get("wafer") and dumped["wafer"].get("kerf_structures", False) is None:   # nor one that leaves the kerf
        dumped["wafer"].pop("kerf_structures")                                      # structures to the lanes' width
    data = {"design": dumped, "pdk": own}
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _shape_counts(layout: Layout) -> dict[str, int]:
    return {name: len(layout.flat(name)) for name in layout.layers()}


def die_outline(layout: Layout):
    """The die (or unit) outline: the bounding box of the top cell's DIE shapes, else of everything."""
    import shapely

    shapes = layout.flat("DIE") or [g for name in layout.layers() for g in layout.flat(name)]
    return box(*shapely.union_all(shapes).bounds)


def _die_entry(layout: Layout) -> dict:
    x0, y0, x1, y1 = die_outline(layout).bounds
    return {"name": layout.top, "width_um": round(x1 - x0, 6), "height_um": round(y1 - y0, 6)}


def summarize(design: Design, pdk: Pdk, die: DieResult, masks: list[dict]) -> dict:
    """The summary.json content: counts, masks, routing, rule deck, versions (no clock)."""
    lengths = list(die.route_lengths.values())
    return {
        "design": design.name,
        "revision": design.revision,
        "family": design.package.family,
        "pdk": {"name": pdk.name, "rules": len(pdk.rules), "grid_um": pdk.grid_um},
        "die": _die_entry(die.layout),
        "counts": {"dies": 1, **die.counts},
        "shapes": _shape_counts(die.layout),
        "masks": masks,
        **({"routing": {
            "total_length_um": round(sum(lengths), 3),
            "max_length_um": round(max(lengths, default=0.0), 3),
            "assignment": dict(sorted(die.assignment.items())),
        }} if die.assignment else {}),
        **({"ball_nets": dict(sorted(die.ball_nets.items(), key=lambda kv: ball_order(kv[0])))} if die.ball_nets else {}),
        **die.extra,
        "versions": _versions(),
    }


def place_on_wafer(design: Design, pdk: Pdk, die: DieResult):
    """The wafer around the die when the config has one, else None; ConfigError for a family without a wafer level."""
    if design.wafer is None:
        return None
    if not builds_wafer(design.package.family):
        known = ", ".join(f for f in MODULES if builds_wafer(f))
        panel = " (its substrate is Fanout.panel: a CarrierPanel or a ReconstitutedWafer)" \
            if design.package.family == "fanout" else ""
        raise ConfigError(f"{design.wafer.where()}: Design.wafer: a wafer (die map, scribe lanes, marks, masks) is "
                          f"built for the families {known}; family {design.package.family!r} takes no Design.wafer{panel}")
    if (level := wafer_level(design.package.family)) != "plated":
        from .wafer import SUBSTRATES     # its own substrate level (no plating network: no floating pads to refuse)

        return SUBSTRATES[level]()(design, pdk, die)
    spare = [name for name, _, _ in die.balls if name not in die.ball_nets] if die.ball_nets else []
    if spare:
        # A ball with no net is metal no tail can reach: it would not plate (PLATE.NET on every die).
        balls = getattr(design.package, "balls", None)
        where = design.wafer.where()
        if balls is not None and balls._src:
            where = f"{balls._src[0]}:{_field_line(Path(balls._src[0]), balls._src[1], 'depopulate')}"
        more = f" and {len(spare) - 8} more" if len(spare) > 8 else ""
        raise ConfigError(f"{where}: BallGrid.depopulate: balls {', '.join(spare[:8])}{more} have no net; on a plated "
                          f"wafer their pads would float and not plate (PLATE.NET): depopulate them, or build without "
                          f"the wafer")
    from .wafer import build_wafer

    return build_wafer(design, pdk, die, run_checks=True)


def write_outputs(design: Design, pdk: Pdk, die: DieResult, stage: Path, oasis: bool = False) -> dict:
    """Write the combined GDS, the mask files, the .lyp and summary.json into `stage`."""
    wafer = place_on_wafer(design, pdk, die)
    layout = wafer.layout if wafer else die.layout
    for name, text in (wafer.files.items() if wafer else ()):   # the wafer's test-structure list
        (stage / name).write_text(text, encoding="utf-8")
    panel = field = None
    from .wafer import PANELS     # the units' carrier panel or reconstituted wafer, for a family that has one

    if getattr(design.package, "panel", None) is not None and design.package.family in PANELS:
        layout, panel, field, beside = PANELS[design.package.family]()(design, pdk, die)
        for name, text in beside.items():
            (stage / name).write_text(text, encoding="utf-8")
    write_layout(layout, pdk, stage / f"{design.name}.gds")
    if oasis:
        write_layout(layout, pdk, stage / f"{design.name}.oas", oasis=True)
    used = set(layout.layers())
    field = field or (wafer.field if wafer else die_outline(layout))
    digest = config_hash(design, pdk)
    masks = []
    scale = scaler(design) if (scaler := mask_scaler(design.package.family)) else 1.0
    pdk = pdk.for_route(getattr(design.package, "route", None))   # the masks of the process route the design picked
    for mask in pdk.masks:
        if not (used & set(mask.layers)) - {"MARK"}:
            continue  # nothing of this mask's own (marks alone make no mask)
        m = derive_mask(layout, mask, pdk, design.name, design.revision, field, build_id=digest[:12], scale=scale)
        rel = Path("masks") / f"{mask.name}.gds"
        write_layout(m, pdk, stage / rel, layer_map=mask_layer_map(mask, pdk))
        files = [str(rel)]
        if oasis:
            write_layout(m, pdk, stage / rel.with_suffix(".oas"), oasis=True, layer_map=mask_layer_map(mask, pdk))
            files.append(str(rel.with_suffix(".oas")))
        masks.append({"name": mask.name, "file": str(rel), "files": files, "top_cell": m.top, "layers": mask.layers,
                      "gds_layer": list(mask_layer(mask, pdk)), "field": mask.field,
                      "invert": mask.invert, "mirror": mask.mirror, "aligns_to": mask.aligns_to,
                      **({"scale": round(scale, 9)} if scale != 1.0 else {}),
                      **({"smallest_feature_um": wafer.summary["mask_features"].get(mask.name)} if wafer else {})})
    write_manifest(stage, manifest(stage, design.name, design.revision, digest[:12], masks, field))
    if masks:  # die-level builds too: the mask shop needs the order, tones and alignment of every plate
        from .wafer import mask_order_rows, write_mask_order

        write_mask_order(mask_order_rows(pdk, masks, design.wafer or getattr(design.package, "panel", None)), stage / "masks")
    reticles = None
    if wafer and design.wafer.stepper is not None:
        from .masks.reticle import write_reticles
        from .wafer.assemble import die_outline as die_box

        reticles = write_reticles(wafer, design, pdk, die_box(die, design), masks, stage)
    texts = {lb.layer for c in layout.cells.values() for lb in c.labels}
    write_lyp(pdk, stage / f"{design.name}.lyp", used=used | texts)
    write_lyt(pdk, stage / f"{design.name}.lyt", f"{design.name}.lyp")
    board = None
    if die.ball_nets:
        grid = getattr(design.package, "balls", None)
        names = set(die.ball_nets) | ({n for n, _, _ in grid.positions()} if hasattr(grid, "positions") else set())
        board = write_board_files(stage / f"{design.name}.gds", pdk, die.layout.top, design, stage, names)
    extra = extra_writer(design.package.family)
    extra_files = [str(p.relative_to(stage)) for p in extra(die, stage)] if extra else []
    summary = summarize(design, pdk, die, masks)
    summary["config_hash"] = digest
    summary["build_id"] = digest[:12]
    if extra_files:
        summary["extra_files"] = sorted(extra_files)
    if board:
        summary["board"] = board
    if wafer:
        summary["counts"]["dies"] = wafer.summary["dies"]
        summary["wafer"] = wafer.summary
    if reticles:
        summary["reticles"] = reticles
    if panel:
        summary["panel"] = panel
    shipped = _shipped_root().resolve()
    if shipped not in Path(pdk.path).resolve().parents:
        # A PDK of the user's own: where it is from the output folder, so `layoutgen drc OUT_DIR` finds it.
        summary["pdk"]["folder"] = os.path.relpath(Path(pdk.path).resolve(), (stage.parent / design.name).resolve())
    (stage / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def check_written(design: Design, pdk: Pdk, stage: Path, summary: dict) -> DrcResult:
    """DRC of the combined GDS just written (never the generator's intent); reports beside it.

    A `waivers.toml` next to the config applies. The result also goes into summary.json.
    """
    waivers = design.config_path.parent / "waivers.toml" if design.config_path else None
    result = run_drc(stage / f"{design.name}.gds", pdk, waivers=waivers if waivers and waivers.is_file() else None)
    write_reports(result, stage, reproducible=True)
    counts, waived = result.counts(), result.waived_counts()
    summary["drc"] = {"ok": result.ok, "rules": len(result.rules), "rules_checked": len(result.checked_rules()),
                      "not_applicable": result.not_applicable, "violations": sum(counts.values()),
                      **({"waivers": os.path.relpath(waivers.resolve(), (stage.parent / design.name).resolve())}
                         if waivers and waivers.is_file() else {}),
                      "violations_all_placements": sum(result.flat_counts().values()), "waived": sum(waived.values()),
                      "failed_rules": {name: n for name, n in counts.items() if n}}
    (stage / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return result


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def follow_umask(root: Path) -> None:
    """Give `root` and everything in it the modes any tool would (0666 / 0777 less the umask):
    temp files and folders are created 0600 / 0700, which a CI artefact store or the mask
    shop's account could not read."""
    mask = _umask()
    os.chmod(root, 0o777 & ~mask)
    for here, dirs, files in os.walk(root):
        for d in dirs:
            os.chmod(os.path.join(here, d), 0o777 & ~mask)
        for f in files:
            os.chmod(os.path.join(here, f), 0o666 & ~mask)


_STAGE_OWNER = ".owner"
_STALE_S = 60.0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_stages(out_root: Path, name: str) -> None:
    """Remove `.<name>.*.tmp` stages that killed builds left (their owner process is gone), and put
    back a previous result a kill left only as `.<name>.old`."""
    for stage in out_root.glob(f".{name}.*.tmp"):
        if not stage.is_dir():
            continue
        try:
            pid = int((stage / _STAGE_OWNER).read_text())
            stale = not _alive(pid)
        except (OSError, ValueError):  # no owner: a build killed before it wrote one, or an older layoutgen
            stale = time.time() - stage.stat().st_mtime > _STALE_S
        if stale:
            shutil.rmtree(stage, ignore_errors=True)
    final, old = out_root / name, out_root / f".{name}.old"
    if old.is_dir() and not final.exists():
        old.rename(final)


_DEFERRED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _swap_into_place(stage: Path, final: Path) -> None:
    """Replace `final` by `stage` (both in one folder), removing the old result. Signals wait until
    both renames are done, and a failed second rename puts the old result back: never only `.old`."""
    old = None
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED)
    try:
        if final.exists():
            old = final.with_name(f".{final.name}.old")
            if old.exists():
                shutil.rmtree(old)
            final.rename(old)
        try:
            stage.rename(final)
        except BaseException:
            if old is not None:
                old.rename(final)
            raise
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _make_stage(out_root: Path, name: str) -> Path:
    """A fresh stage folder beside the destination, marked with this process's id; OutputError when
    the output root cannot be written."""
    try:
        if out_root.exists() and not out_root.is_dir():
            raise OutputError(f"-o {out_root}: is a file, not a folder")
        out_root.mkdir(parents=True, exist_ok=True)
        remove_stale_stages(out_root, name)
        stage = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=out_root))
        (stage / _STAGE_OWNER).write_text(str(os.getpid()))
    except OSError as e:
        raise output_error(e, out_root) from None
    return stage


def output_error(e: OSError, where: Path) -> OutputError:
    """An OSError while writing results as a user error naming the path and the reason."""
    reason = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
              errno.EACCES: "permission denied", errno.EPERM: "permission denied",
              errno.EROFS: "the file system is read-only", errno.ENAMETOOLONG: "the name is too long",
              errno.ENOTDIR: "a part of the path is a file, not a folder",
              errno.EFBIG: "the file is larger than the file size limit allows"}.get(e.errno, e.strerror or str(e))
    path = e.filename or where
    return OutputError(f"cannot write the results to {path}: {reason}")


def build(design: Design | str | Path, out: str | Path = "out", drc: bool = True, oasis: bool = False,
          quiet: bool = False, pdk_path: list[str | Path] | None = None, junit: str | Path | None = None,
          **old: Any) -> BuildResult:
    """Build a Design (or the config file at a path) into `out/<design>/` and return what was written.

    Callable any number of times in one process; raises ConfigError/RoutingError on bad input.
    `pdk_path` adds folders to search for the PDK; `junit` also writes the DRC as JUnit XML
    there (one test case per rule, for CI), once the build is in place. The keywords `out_root` and `run_drc` are the
    former names of `out` and `drc`.
    """
    if unknown := set(old) - {"out_root", "run_drc"}:
        raise TypeError(f"build() got unexpected keyword arguments {sorted(unknown)}")
    out = old.get("out_root", out)
    drc = old.get("run_drc", drc)
    with steps(4, "loading", quiet) as step:
        if not isinstance(design, Design):
            design = load_config(design)
        pdk = resolve_pdk(design, pdk_path)
        check_cell_names(design, pdk)
        step(label="routing the die")
        try:
            die = builder(design.package.family)(design, pdk)
        except (ConfigError, RoutingError) as e:
            raise located(e, design) from None
        out_root = Path(out)
        stage = _make_stage(out_root, design.name)
        try:
            step(label="writing masks")
            summary = write_outputs(design, pdk, die, stage, oasis=oasis)
            result = None
            if drc:
                step(label="DRC")
                result = check_written(design, pdk, stage, summary)
            step(label="previews and report")
            render_previews(stage, design.name)
            write_report(stage)
            (stage / _STAGE_OWNER).unlink()
            follow_umask(stage)
            final = out_root / design.name
            _swap_into_place(stage, final)
            if junit is not None and result is not None:
                from .drc.report import write_junit

                write_junit(result, Path(junit))
            step()
        except OSError as e:
            shutil.rmtree(stage, ignore_errors=True)
            raise output_error(e, out_root) from None
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
    return BuildResult(out_dir=final, summary=summary, drc=result)
