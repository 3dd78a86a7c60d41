"""Metal posts through a thick polymer (seed 001, claims 1, 6, 8, 27, 31–36): the post stack and its stress per ball.

A post of diameter D and length L in the polymer, fixed to its stud (the RDL capture pad) at
the root, bends when what holds its top moves by d relative to the die: the board after
mounting (load "board"), or the polymer body around it against the wafer (claim 1, load
"polymer"). At distance r from the die centre d = Δα·ΔT·r; the post pushes back with
F = 3·Y·I·d / L³ (cantilever, I = π·D⁴/64, claim 6) and its root carries the bending stress
σ = F·L·(D/2) / I = 3·Y·d·D / (2·L²). Posts are plated in vias of their own diameter (the
POST layer, on the thick-polymer mask) on the RDL capture pads, or (claim 30, Posts.flow="resist")
through a thick resist before the polymer (POST its own mask); the PDK bounds them. All lengths in µm.
"""

from __future__ import annotations

import math
import warnings

from layoutgen.cells.bump import bump_opening
from layoutgen.cells.shapes import circle, width_across_flats
from layoutgen.layout import name_number
from layoutgen.cells.rdl import capture_pad, capture_pad_diameter
from layoutgen.cells.ubm import ubm
from layoutgen.errors import ConfigError
from layoutgen.layout import Cell
from layoutgen.pdk import Pdk

from .model import Posts
from layoutgen.units import LENGTH_EPS_UM, RATIO_EPS

POST_WIDTH_RANGE_UM = (10.0, 200.0)   # claim 34
FLOW_MASKS = {
    "vias": "PV2 (layer POST: the post vias in the thick polymer, claim 8 f); UBM caps over PV2",
    "resist": "POST (the post holes in a thick resist on a blanket seed, claim 30 c); the polymer is spread round "
              "the freestanding posts without a mask (claim 30 g); UBM caps over POST",
}
LOAD_CASES = {
    "board": "board vs die after mounting (d = Δα·ΔT·r at the post top)",
    "polymer": "polymer body vs wafer (claim 1: d = Δα·ΔT·r at the post top)",
}


def post_force_n(diameter_um: float, height_um: float, displacement_um: float, modulus_gpa: float) -> float:
    """F = 3·Y·I·d / L³ in newtons for a round post (I = π·D⁴/64)."""
    i_m4 = math.pi * (diameter_um * 1e-6) ** 4 / 64
    return 3 * modulus_gpa * 1e9 * i_m4 * displacement_um * 1e-6 / (height_um * 1e-6) ** 3


def root_stress_mpa(diameter_um: float, height_um: float, displacement_um: float, modulus_gpa: float) -> float:
    """The bending stress at the post's root, σ = 3·Y·d·D / (2·L²), in MPa."""
    return 3 * modulus_gpa * 1e3 * displacement_um * diameter_um / (2 * height_um ** 2)


def _sig(x: float, digits: int = 6) -> float:
    """`x` rounded to `digits` significant digits (stable in JSON, exact enough to compare)."""
    return float(f"{x:.{digits}g}")


def per_ball(balls: list[tuple[str, float, float]], ball_nets: dict[str, str], posts: Posts) -> list[dict]:
    """One row per ball: distance to the die centre, displacement, post force, root stress, margin to yield."""
    rows = []
    unit = post_force_n(posts.diameter, posts.height, 1.0, posts.modulus_gpa)
    for name, x, y in balls:
        r = math.hypot(x, y)
        d = posts.cte_mismatch_ppm * 1e-6 * posts.delta_t * r
        force = post_force_n(posts.diameter, posts.height, d, posts.modulus_gpa)
        stress = root_stress_mpa(posts.diameter, posts.height, d, posts.modulus_gpa)
        rows.append({"ball": name, "net": ball_nets.get(name, ""), "distance_um": round(r, 3),
                     "displacement_um": round(d, 4), "post_width_um": round(posts.diameter, 3),
                     "post_height_um": posts.height, "projection_um": posts.projection,
                     "force_mN": _sig(force * 1e3), "compliance_um_per_mN": _sig(1e-3 / unit),
                     "stress_mpa": _sig(stress), "yield_mpa": posts.yield_mpa,
                     "margin_to_yield": _sig(posts.yield_mpa / stress, 4) if stress > 0 else None,
                     "yields": stress > posts.yield_mpa})
    return rows


def check_posts(posts: Posts, shape: str, pdk: Pdk) -> None:
    """The post against the PDK's post via rules: width, aspect ratio, capture-pad and bump enclosures; ConfigError naming the field."""
    d, where = posts.diameter, posts.where()
    w = pdk.find_rule("width", "POST")
    if w is None:
        raise ConfigError(f"{where}: FanInWlcsp.posts: PDK {pdk.name} ({pdk.path}) has no POST width rule: it has no post flow")
    if d < w.value - LENGTH_EPS_UM:
        raise ConfigError(f"{where}: Posts.diameter = {d:g}: below {w.name} ({w.value:g} µm, PDK {pdk.name})")
    aspect = pdk.process.get("post_aspect_max")
    if aspect is not None and posts.height / d > aspect + RATIO_EPS:
        hole = "hole in the thick resist" if posts.flow == "resist" else "via in the polymer"
        raise ConfigError(f"{where}: Posts.height / diameter = {posts.height:g} / {d:g} = {posts.height / d:.2f}: "
                          f"the post {hole} allows ≤ {aspect:g} (PDK {pdk.name}, process.post_aspect_max)")
    rooms = (("RDL", capture_pad_diameter(pdk, shape)), ("UBM", width_across_flats(ubm(pdk, shape))),
             ("BUMP", pdk.value("size", "BUMP")))
    for other, room in rooms:
        en = pdk.find_rule("enclosure", other, "POST")
        if en is not None and d > room - 2 * en.value + LENGTH_EPS_UM:
            raise ConfigError(f"{where}: Posts.diameter = {d:g}: the {room:.3f} µm {other} shape encloses it by "
                              f"{(room - d) / 2:.3f} µm < {en.name} ({en.value:g} µm, PDK {pdk.name})")


def check_contact_ring(posts: Posts, wafer, pdk: Pdk) -> dict | None:
    """On a wafer: the plating contact ring lies inside the thick polymer's edge-bead removal, so the posts can be plated
    after the seed etch (claim 8 g-h); ConfigError naming Plating.ring_width if not. The summary's note, or None off-wafer."""
    if wafer is None:
        return None
    clear = pdk.process.get("post_polymer_edge_clear_um")
    ring = wafer.plating.ring_width
    if clear is None:
        raise ConfigError(f"{posts.where()}: FanInWlcsp.posts on a wafer: PDK {pdk.name} ({pdk.path}) has no "
                          f"process.post_polymer_edge_clear_um: nothing says how the contact ring is reached through the polymer")
    if ring > clear + LENGTH_EPS_UM:
        raise ConfigError(f"{wafer.plating.where()}: Plating.ring_width = {ring:g}: the thick polymer's edge-bead removal "
                          f"clears only {clear:g} µm at the wafer edge (PDK {pdk.name}, process.post_polymer_edge_clear_um): "
                          f"the ring's inner {ring - clear:g} µm would be buried and the posts could not be plated")
    how = ("the contact ring lies bare inside the thick resist's edge-bead removal: the posts plate on the blanket seed "
           "(claim 30 b-d), which is etched after the resist strip" if posts.flow == "resist" else
           "the contact ring lies bare inside the thick polymer's edge-bead removal: the posts plate after the seed etch")
    return {"contact_ring_um": ring, "polymer_edge_clear_um": clear, "how": how}


def check_yield(rows: list[dict], posts: Posts) -> list[str]:
    """The balls whose post would yield: a ConfigError naming them (on_yield="fail"), else a warning; returns them."""
    bad = [r for r in rows if r["yields"]]
    if not bad:
        return []
    worst = max(bad, key=lambda r: r["stress_mpa"])
    names = ", ".join(r["ball"] for r in bad[:12]) + (f" and {len(bad) - 12} more" if len(bad) > 12 else "")
    msg = (f"{posts.where()}: the posts of {len(bad)} ball(s) would yield under the {posts.load} load case "
           f"({posts.cte_mismatch_ppm:g} ppm/K × {posts.delta_t:g} K): {names}; worst {worst['ball']} at "
           f"{worst['stress_mpa']:g} MPa > {posts.yield_mpa:g} MPa yield. Thinner or longer posts bend more easily "
           f"(σ = 3·Y·d·D / 2L²); Posts(on_yield='warn') builds anyway")
    if posts.on_yield == "fail":
        raise ConfigError(msg)
    warnings.warn(msg, stacklevel=2)
    return [r["ball"] for r in bad]


def post_ball_cell(shape: str, posts: Posts, pdk: Pdk) -> Cell:
    """A ball stack on a post: RDL capture pad (the stud), the post via (POST, diameter D), UBM cap (claim 28), bump opening."""
    post = circle(posts.diameter, pdk.circle_vertices, pdk.grid_um, "inscribed", "round" if shape == "round" else "octagon")
    cell = Cell(f"POSTSTACK_{shape.upper()}_D{name_number(posts.diameter)}_{pdk.name.upper()}")
    return (cell.add("RDL", capture_pad(pdk, shape)).add("POST", post)
            .add("UBM", ubm(pdk, shape)).add("BUMP", bump_opening(pdk, shape)))


def summary(posts: Posts, rows: list[dict], yielding: list[str], ring: dict | None = None) -> dict:
    """The posts' block of the summary: inputs, the load case named, the worst ball and those that yield."""
    worst = max(rows, key=lambda r: r["stress_mpa"]) if rows else None
    return {"diameter_um": posts.diameter, "height_um": posts.height, "projection_um": posts.projection,
            "modulus_gpa": posts.modulus_gpa, "yield_mpa": posts.yield_mpa,
            "load": posts.load, "load_case": LOAD_CASES[posts.load],
            "cte_mismatch_ppm": posts.cte_mismatch_ppm, "delta_t_k": posts.delta_t,
            "max_stress_mpa": worst["stress_mpa"] if worst else 0.0,
            "min_margin_to_yield": worst["margin_to_yield"] if worst else None,
            "worst_ball": worst["ball"] if worst else None, "yielding_balls": yielding,
            "flow": posts.flow, "mask": FLOW_MASKS[posts.flow],
            **({"plating": ring} if ring else {})}
