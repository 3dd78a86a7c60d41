"""Benchmark die: 6.8 × 6.8 mm (the PDK's largest), full 16 × 16 grid at 400 µm, 256 peripheral pads."""

from layoutgen import BallGrid, Design, Die, FanInWlcsp, peripheral_pads

DIE = 6800.0
design = Design(
    name="bench_16x16",
    pdk="sky400",
    die=Die(name="BENCH_16X16", width=DIE, height=DIE,
            pads=peripheral_pads(DIE, DIE, per_side=64, pitch=95, inset=70, size=60)),
    package=FanInWlcsp(balls=BallGrid(rows=16, cols=16, pitch=400)),
)
