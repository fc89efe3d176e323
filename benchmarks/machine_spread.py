"""How much a result moves between machines: one lesson unit under each OpenBLAS kernel family.

    python -m benchmarks.machine_spread                      # lesson 04's EWC unit, seed 0
    python -m benchmarks.machine_spread --out /tmp/spread.json

A run repeats bit for bit on one machine with one BLAS thread, but OpenBLAS picks its matrix
kernels for the CPU it finds (AVX-512, AVX2, AVX, ...), and each family sums a product in its
own order. Training amplifies those last bits. This script re-runs one committed default-tier
unit of lesson 04 (EWC, seed 0, with exactly the settings stored in its unit file) in a fresh
process per kernel family (``OPENBLAS_CORETYPE``; a family the CPU cannot run is skipped by
OpenBLAS itself, so only families at or below this CPU's are listed), one BLAS thread each,
and records the final average accuracy A10 of each. The native run must equal the committed
unit exactly (it is the same machine); the others show the spread a student's machine can see.

Default output: ``benchmarks/results/machine_spread.json``. A measurement, not a test.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.run import cpu_name
from neurophys import files

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "figures" / "04_continual_baselines" / "units" / "method=ewc,seed=0.json"
FAMILIES = ("native", "SkylakeX", "Haswell", "Sandybridge")   # AVX-512, AVX2, AVX

_CHILD = """
import json, sys
from neurophys.learning.continual import summarise
from neurophys.learning.protocols import continual_unit
import numpy
unit, kwargs = json.loads(sys.argv[1])
R = numpy.array(continual_unit(**unit, **kwargs)["R"])
print(json.dumps({"acc10": float(summarise(R)["acc"]), "R": R.tolist()}))
"""


def stored_unit(path: Path = UNIT):
    """(unit, keyword settings, R) of a committed unit file: the settings are read back from the
    description of its function (``module.function{"args": [], "kwargs": {...}}``)."""
    record = files.read_json(path)
    name, _, arguments = record["fn"].partition("{")
    if name != "neurophys.learning.protocols.continual_unit":
        raise SystemExit(f"{path} was not written by continual_unit but by {name}")
    return record["unit"], json.loads("{" + arguments)["kwargs"], record["measurements"]["R"]


def run_family(family: str, unit: dict, kwargs: dict) -> dict:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    env.pop("OPENBLAS_CORETYPE", None)
    if family != "native":
        env["OPENBLAS_CORETYPE"] = family
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _CHILD, json.dumps([unit, kwargs])], env=env, cwd=ROOT,
                          capture_output=True, text=True, check=True)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["wall_seconds"] = round(time.perf_counter() - t0, 1)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.machine_spread", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS / "machine_spread.json")
    args = parser.parse_args(argv)
    unit, kwargs, R_committed = stored_unit()
    from neurophys.learning.continual import summarise
    import numpy
    committed = float(summarise(numpy.array(R_committed))["acc"])
    rows = {}
    for family in FAMILIES:
        r = run_family(family, unit, kwargs)
        rows[family] = {"acc10": round(r["acc10"], 4), "same_as_committed_unit": r["R"] == R_committed,
                        "wall_seconds": r["wall_seconds"]}
        print(f"{family:12s} A10 = {r['acc10']:.4f}   identical to the committed unit: {r['R'] == R_committed}",
              flush=True)
    accs = [r["acc10"] for r in rows.values()]
    record = {"what": "lesson 04, default tier, EWC seed 0: A10 under each OpenBLAS kernel family, one BLAS thread",
              "unit_file": str(UNIT.relative_to(ROOT)), "committed_acc10": round(committed, 4),
              "cpu": cpu_name(), "load_average": [round(x, 2) for x in os.getloadavg()],
              "families": rows, "spread": round(max(accs) - min(accs), 4)}
    files.write_json(args.out, record)
    print(f"A10 from {min(accs):.4f} to {max(accs):.4f} (committed {committed:.4f}); wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
