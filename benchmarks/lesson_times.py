"""How long each lesson takes: every lesson alone, in its own process, with CPU and wall time.

    python -m benchmarks.lesson_times                       # every lesson, default tier
    python -m benchmarks.lesson_times 03 06 --quick         # some lessons, quick tier
    python -m benchmarks.lesson_times --full 03 --out /tmp/times.json

Each lesson runs as ``python -m neurophys run NN [--quick|--full] --out <fresh temporary folder>``,
one after the other (never two at once), and the record holds, per lesson: the exit status,
the wall seconds, the CPU seconds of the lesson's process and everything it waited for
(user + system, from ``resource.getrusage(RUSAGE_CHILDREN)`` before and after; pool workers
a lesson starts and joins are included), and the 1-minute load average before and after (a
load above ~0.5 on an idle machine means something else ran: the wall time is then noise,
the CPU time much less so). The summary adds the totals. Default output:
``benchmarks/results/lesson_times[_quick|_full].json`` (maintainers publish it; use --out
elsewhere).

This is a measurement, not a test: nothing here asserts a budget.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.run import cpu_name
from neurophys import files

RESULTS = Path(__file__).resolve().parent / "results"
LESSONS = tuple(f"{n:02d}" for n in range(1, 14))


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _load() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def time_lesson(number: str, tier: str = "default", extra=(), timeout: float | None = None,
                keep: Path | None = None) -> dict:
    """Run one lesson alone in a subprocess; its status, wall/CPU seconds and load before/after.
    ``keep``: a folder for the lesson's outputs (``keep/NN_tier``) instead of a temporary one."""
    flag = {"quick": ["--quick"], "full": ["--full"]}.get(tier, [])
    with tempfile.TemporaryDirectory(prefix=f"neurophys-{number}-") as tmp:
        out_dir = Path(keep) / f"{number}_{tier}" if keep is not None else Path(tmp) / "out"
        cmd = [sys.executable, "-m", "neurophys", "run", number, *flag, "--out", str(out_dir), *extra]
        load0, cpu0, t0 = _load(), _children_cpu(), time.perf_counter()
        try:
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
            status, tail = proc.returncode, proc.stdout[-2000:]
        except subprocess.TimeoutExpired as err:
            status, tail = "timeout", (err.stdout or "")[-2000:] if isinstance(err.stdout, str) else ""
        wall, cpu, load1 = time.perf_counter() - t0, _children_cpu() - cpu0, _load()
        headline = None
        results = out_dir / "results.json"
        if results.exists():
            try:
                headline = json.loads(results.read_text()).get("seconds")
            except ValueError:
                pass
    return {"lesson": number, "tier": tier, "status": status, "wall_seconds": round(wall, 2),
            "cpu_seconds": round(cpu, 2), "lesson_reported_seconds": headline,
            "load_before": load0, "load_after": load1, "command": " ".join(cmd[1:3] + cmd[3:5] + flag),
            "output_tail": tail if status != 0 else ""}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], allow_abbrev=False)
    ap.add_argument("lessons", nargs="*", default=list(LESSONS), help="lesson numbers (default: all)")
    tier = ap.add_mutually_exclusive_group()
    tier.add_argument("--quick", dest="tier", action="store_const", const="quick")
    tier.add_argument("--full", dest="tier", action="store_const", const="full")
    ap.set_defaults(tier="default")
    ap.add_argument("--timeout", type=float, default=None, help="seconds before a lesson is stopped")
    ap.add_argument("--keep", type=Path, default=None,
                    help="keep each lesson's outputs in KEEP/NN_TIER (default: a temporary folder)")
    ap.add_argument("--out", type=Path, default=None,
                    help="JSON file to write (default benchmarks/results/lesson_times[_TIER].json)")
    args = ap.parse_args(argv)
    numbers = [f"{int(n):02d}" for n in args.lessons]
    bad = [n for n in numbers if n not in LESSONS]
    if bad:
        ap.error(f"unknown lesson(s) {', '.join(bad)}; valid: 01..13")
    out = args.out or RESULTS / f"lesson_times{'' if args.tier == 'default' else '_' + args.tier}.json"
    rows = []
    for n in numbers:
        row = time_lesson(n, args.tier, timeout=args.timeout, keep=args.keep)
        rows.append(row)
        print(f"{n} {args.tier:7s} status {row['status']}  wall {row['wall_seconds']:8.1f} s  "
              f"CPU {row['cpu_seconds']:8.1f} s  load {row['load_before']} -> {row['load_after']}", flush=True)
    summary = {"lessons": len(rows), "wall_seconds": round(sum(r["wall_seconds"] for r in rows), 1),
               "cpu_seconds": round(sum(r["cpu_seconds"] for r in rows), 1),
               "failed": [r["lesson"] for r in rows if r["status"] != 0]}
    meta = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "tier": args.tier,
            "cpu": cpu_name(), "cpus": os.cpu_count(), "python": platform.python_version(),
            "blas_threads_env": os.environ.get("NEUROPHYS_BLAS_THREADS"),
            "note": "each lesson alone in its own process, one after the other; CPU = user + system of the "
                    "lesson's process tree (getrusage RUSAGE_CHILDREN); load = 1-minute load average"}
    out.parent.mkdir(parents=True, exist_ok=True)
    files.write_json(out, {"meta": meta, "summary": summary, "rows": rows})
    print(f"total: wall {summary['wall_seconds']:.0f} s, CPU {summary['cpu_seconds']:.0f} s; wrote {out}")
    return rows


if __name__ == "__main__":
    main()
