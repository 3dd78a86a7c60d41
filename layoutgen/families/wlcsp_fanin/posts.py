"""Copper posts through the polymer (family 1 variant): their compliance per ball.

A post of diameter D and height L, clamped in the die, bends when the board and the die
expand differently: at distance r from the die centre the board moves d = Δα·ΔT·r relative
to the die, and the post pushes back with F = 3·Y·I·d / L³ (cantilever, I = π·D⁴/64). Posts
are plated in the polymer 2 openings, so D is the PV2 opening width. All lengths in µm.
"""

from __future__ import annotations

import math

from .model import Posts

POST_WIDTH_RANGE_UM = (10.0, 200.0)   # the process window of the source patent


def post_force_n(diameter_um: float, height_um: float, displacement_um: float, modulus_gpa: float) -> float:
    """F = 3·Y·I·d / L³ in newtons for a round post (I = π·D⁴/64)."""
    i_m4 = math.pi * (diameter_um * 1e-6) ** 4 / 64
    return 3 * modulus_gpa * 1e9 * i_m4 * displacement_um * 1e-6 / (height_um * 1e-6) ** 3


def _sig(x: float, digits: int = 6) -> float:
    """`x` rounded to `digits` significant digits (stable in JSON, exact enough to compare)."""
    return float(f"{x:.{digits}g}")


def per_ball(balls: list[tuple[str, float, float]], ball_nets: dict[str, str], diameter_um: float,
             posts: Posts) -> list[dict]:
    """One row per ball: distance to the die centre, board displacement, post force and compliance."""
    rows = []
    for name, x, y in balls:
        r = math.hypot(x, y)
        d = posts.cte_mismatch_ppm * 1e-6 * posts.delta_t * r
        force = post_force_n(diameter_um, posts.height, d, posts.modulus_gpa)
        # compliance: displacement per force, µm per mN
        unit = post_force_n(diameter_um, posts.height, 1.0, posts.modulus_gpa)
        rows.append({"ball": name, "net": ball_nets.get(name, ""), "distance_um": round(r, 3),
                     "displacement_um": round(d, 4), "post_width_um": round(diameter_um, 3),
                     "post_height_um": posts.height, "force_mN": _sig(force * 1e3),
                     "compliance_um_per_mN": _sig(1e-3 / unit)})
    return rows
