"""What the flat-DRC benchmarks share: each engine in its own process (its own peak memory),
our engine untiled or tiled on a local Dask cluster, KLayout's flat width and space checks,
and the table they print. Not a benchmark itself; bench_drc_random.py and
bench_drc_flatwafer.py (and bench_drc_array.py) import it."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time


def rss_mb() -> float:
    """Peak resident memory of this process so far, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def workers_cpu_s(client) -> float:
    """CPU seconds (user + system) the Dask worker processes have used so far, summed."""
    return sum(client.run(time.process_time).values())


def run_ours(path: str, rules: list[str] | None, workers: int) -> dict:
    """Our engine on a flat file in this process: untiled (workers = 0) or tiled on a local Dask
    cluster of `workers` processes (the busiest worker's peak memory reported). The cluster is
    started, and the engine imported on its workers, before the clock starts (a cluster is
    reused from check to check); that start is reported apart as `start_s`. `cpu_s`: CPU
    seconds of the check, this process plus (tiled) its workers. The modules the engine uses
    (KLayout's reader too) are imported before the clock starts, as for KLayout's run."""
    import klayout.db  # noqa: F401
    from layoutgen.drc.engine import run_drc
    from layoutgen.pdk import load_pdk

    pdk = load_pdk("sky400")
    start_s = 0.0
    if workers == 0:
        t0, c0 = time.perf_counter(), time.process_time()
        res, worker_mb, tiles = run_drc(path, pdk, rules=rules, hierarchical=False), 0.0, 0
        check_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    else:
        from layoutgen.drc.tiles import dask_client, run_drc_tiled

        t0 = time.perf_counter()
        client, cluster = dask_client(None, workers)
        client.run(exec, "import layoutgen.drc.tiles, klayout.db")
        start_s = time.perf_counter() - t0
        t0, c0, w0 = time.perf_counter(), time.process_time(), workers_cpu_s(client)
        res, info = run_drc_tiled(path, pdk, rules=rules, client=client, report_memory=True)
        check_s = time.perf_counter() - t0
        cpu_s = time.process_time() - c0 + workers_cpu_s(client) - w0
        client.close()
        cluster.close()
        worker_mb, tiles = info["worker_peak_mb"], info["tiles"]
    return {"check_s": check_s, "cpu_s": cpu_s, "start_s": start_s, "counts": res.counts(), "client_mb": rss_mb(),
            "worker_mb": worker_mb, "tiles": tiles}


def run_klayout(path: str, rules: list[str] | None) -> dict:
    """KLayout flat in this process: read, then each width and space rule of the sky400 deck (or of
    `rules`) as Region.width_check / space_check (Euclidean); the edge pairs counted per rule."""
    import klayout.db as kdb

    from layoutgen.pdk import load_pdk

    pdk = load_pdk("sky400")
    t0, c0 = time.perf_counter(), time.process_time()
    ly = kdb.Layout()
    ly.read(path)
    top = ly.top_cell()
    counts = {}
    for r in pdk.rules:
        if r.kind not in ("width", "space") or (rules is not None and r.name not in rules):
            continue
        region = kdb.Region(top.begin_shapes_rec(ly.layer(*pdk.layer(r.layer).gds)))
        d = round(r.value / ly.dbu)
        ep = region.width_check(d, False, kdb.Metrics.Euclidian) if r.kind == "width" else \
            region.space_check(d, False, kdb.Metrics.Euclidian)
        counts[r.name] = ep.count()
    return {"check_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0, "counts": counts,
            "client_mb": rss_mb(), "worker_mb": 0.0, "tiles": 0}


def child_main(argv: list[str]) -> bool:
    """In a child process (`--child ours|klayout --gds PATH --workers N [--rules A,B]`): run and
    print the result as JSON; False when this is not a child."""
    if "--child" not in argv:
        return False
    opt = dict(zip(argv[1::2], argv[2::2]))
    rules = opt["--rules"].split(",") if opt.get("--rules") else None
    out = run_ours(opt["--gds"], rules, int(opt.get("--workers", 0))) if opt["--child"] == "ours" else \
        run_klayout(opt["--gds"], rules)
    print(json.dumps(out))
    return True


def in_child(script: str, engine: str, path, workers: int = 0, rules: list[str] | None = None) -> dict:
    """Run `script` as a child process for one engine; its result, or {"error": last stderr line}."""
    cmd = [sys.executable, script, "--child", engine, "--gds", str(path), "--workers", str(workers)]
    if rules:
        cmd += ["--rules", ",".join(rules)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode:
        return {"error": (out.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


RUNS = [("klayout", "KLayout flat", 0), ("untiled", "ours untiled", 0), ("tiled1", "ours tiled 1 wk", 1),
        ("tiled2", "ours tiled 2 wk", 2)]


def compare(script: str, path, case: str, rules: list[str] | None, skip: set[str], show) -> None:
    """KLayout flat, ours untiled, tiled on 1 and 2 workers on one file, one table row each:
    wall time and CPU time, each with its ratio to KLayout's, client and worker peak memory,
    tiles, and `show(counts)`. On a shared machine the CPU ratio is the one to trust."""
    kl = None
    for key, name, workers in RUNS:
        if key in skip:
            continue
        r = in_child(script, "klayout" if key == "klayout" else "ours", path, workers, rules)
        if "error" in r:
            print(f"{case:>10} {name:>16} failed: {r['error']}", flush=True)
            continue
        kl = r if key == "klayout" else kl
        ratio = f"{r['check_s'] / kl['check_s']:9.2f}" if kl else f"{'–':>9}"
        cpu_ratio = f"{r['cpu_s'] / kl['cpu_s']:9.2f}" if kl else f"{'–':>9}"
        print(f"{case:>10} {name:>16} {r['check_s']:8.2f} {ratio} {r['cpu_s']:8.2f} {cpu_ratio} "
              f"{r.get('start_s', 0.0):7.1f} {r['client_mb']:9.0f} "
              f"{r['worker_mb']:9.0f} {r['tiles']:5d}  {show(r['counts'])}", flush=True)


# time s: wall; cpu s: CPU of the check (tiled: client and workers); start s: starting the
# local Dask cluster (tiled runs), before and outside both
HEADER = (f"{'case':>10} {'engine':>16} {'time s':>8} {'× KLayout':>9} {'cpu s':>8} {'× KLayout':>9} {'start s':>7} "
          f"{'client MB':>9} {'worker MB':>9} {'tiles':>5}")
