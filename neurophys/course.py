"""The course: the lesson list, the run context a lesson works in, and the runner.

A lesson is a plain script in ``lessons/NN_slug.py`` that reads like a lab
notebook (cells marked ``# %%``). It starts with ::

    ctx = course.start(__file__)

which gives it its tier, seed, backend and output folder (from the command line
when run as a script, from the runner under ``python -m neurophys run NN``), and
ends with ::

    ctx.finish(metrics={...}, settings={...})

which writes ``results.json`` beside the figures (see COURSE.md's contract).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import runpy
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from . import backend as B

TIERS = ("quick", "default", "full")
REPO_ROOT = Path(__file__).resolve().parents[1]
FIGURES_DIR = REPO_ROOT / "figures"

# The lesson plan is fixed (COURSE.md); files are found by number in lessons/.
COURSE = {
    "01": "Energy relaxation: a tiny network learns XOR",
    "02": "The Gross-Pitaevskii field: Euler vs split-step, norm, energy, ground states",
    "03": "PhysNet: a GPE field as hidden layer, MNIST -> permuted MNIST, forgetting",
    "04": "Continual-learning baselines: fine-tuning, EWC, SI, replay",
    "05": "The Dissipative Learning Machine: forgetting and the noise spectrum",
    "06": "Equilibrium Propagation on MNIST",
    "07": "Dreaming: EqProp run backwards, and replay from dreams",
    "08": "Surprise-gated (dopamine) learning",
    "09": "An EqProp world model for CartPole, and active-inference planning",
    "10": "Trajectories: projectile, spring, orbit, and their invariants",
    "11": "A GRU encoder with an energy-conservation loss",
    "12": "Discovering conservation laws; the dashboard",
    "13": "The physics on a GPU: kernels and speed",
}


# The few metrics per lesson that the README's table quotes (all metrics are in results.json).
HEADLINES = {
    "01": ["converged_2-2-1", "converged_2-3-1", "converged_2-2-2-1", "original_converged_2-2-1",
           "original_converged_2-3-1", "original_converged_2-2-2-1"],
    "02": ["euler_norm_drift", "splitstep_norm_drift_float32", "splitstep_norm_drift_float64",
           "splitstep_energy_drift"],
    "03": ["task1_accuracy", "task2_accuracy", "forgetting", "control_forgetting", "splitstep_forgetting",
           "moresteps_forgetting", "fieldonly_forgetting"],
    "04": ["acc10_finetune", "acc10_ewc", "acc10_si", "acc10_replay", "acc10_joint"],
    "05": ["dlm_forgetting_seed0", "std_forgetting_seed0", "dlm_forgetting_mean", "std_forgetting_mean",
           "dlm_better_fraction", "paired_p_value", "dlm_psd_slope", "std_psd_slope", "dlm_acc10"],
    "06": ["test_accuracy", "train_accuracy", "epochs", "seconds_per_epoch", "document_config_test_accuracy"],
    "07": ["dream_recognised", "forgetting_no_replay", "forgetting_dream_replay"],
    "08": ["gated_test_accuracy", "ungated_test_accuracy", "updates_skipped", "time_saved"],
    "09": ["cartpole_mean_return", "cartpole_learning_steps", "random_mean_return", "heuristic_mean_return",
           "prediction_mse_model", "prediction_mse_linear", "prediction_mse_static", "pendulum_mean_return"],
    "10": ["rk45_energy_drift_spring", "verlet_energy_drift_spring", "rk45_energy_drift_orbit",
           "verlet_energy_drift_orbit"],
    "11": ["drift_standard_spring", "drift_physics_spring", "drift_standard_orbit", "drift_physics_orbit",
           "latent_energy_r2_spring"],
    "12": ["equations_meeting_bar", "equations_total", "unlabelled_found", "pysr_available"],
    "13": ["cpu_speedup_gpe_layer_euler", "cpu_speedup_gpe_layer_splitstep", "cpu_speedup_eqprop_relax",
           "cpu_speedup_lesson03_epoch", "cpu_speedup_lesson06_epoch", "gpu"],
}


class CourseError(RuntimeError):
    """A lesson cannot be found or run as asked; the message says what to change."""


def lessons_dir() -> Path:
    return Path(os.environ.get("NEUROPHYS_LESSONS", REPO_ROOT / "lessons"))


def lesson_files() -> dict:
    """{'01': Path('lessons/01_xor_energy_relaxation.py'), ...} for the lessons that exist."""
    found = {}
    directory = lessons_dir()
    if directory.is_dir():
        for path in sorted(directory.glob("[0-9][0-9]_*.py")):
            found[path.name[:2]] = path
    return found


def lesson_file(number: str) -> Path:
    number = normalise_number(number)
    files = lesson_files()
    if number not in files:
        if not lessons_dir().is_dir():
            raise CourseError(f"the lessons folder {lessons_dir()} is missing; run from a clone of the "
                              "repository (pip install -e .) or set NEUROPHYS_LESSONS")
        raise CourseError(f"lesson {number} ({COURSE[number]}) is not written yet")
    return files[number]


def normalise_number(number) -> str:
    s = str(number).strip()
    if not re.fullmatch(r"\d{1,2}", s) or s.zfill(2) not in COURSE:
        raise CourseError(f"unknown lesson {number!r}; valid lessons are {', '.join(COURSE)} (or 'all')")
    return s.zfill(2)


def slug_of(path: Path) -> str:
    return path.stem


def default_out_dir(path: Path, tier: str) -> Path:
    """figures/NN_slug/ (default), figures/NN_slug/full/ (full), a temp folder (quick)."""
    if tier == "quick":
        return Path(tempfile.mkdtemp(prefix=f"neurophys_{slug_of(path)}_"))
    base = FIGURES_DIR / slug_of(path)
    return base / "full" if tier == "full" else base


# ------------------------------------------------------------------ the context
@dataclass
class LessonContext:
    """What a running lesson needs: tier, seed, backend, where to write, and helpers."""

    number: str
    slug: str
    tier: str = "default"
    seed: int = 0
    backend: str = "numpy"
    out: Path = field(default_factory=lambda: Path("."))
    started: float = field(default_factory=time.time)
    finished: bool = False
    results: dict | None = None

    def pick(self, quick=None, default=None, full=None):
        """The setting for this tier: ``ctx.pick(quick=200, default=5000, full=60000)``.

        A tier left as None falls back to ``default``.
        """
        value = {"quick": quick, "default": default, "full": full}[self.tier]
        return default if value is None else value

    @property
    def quick(self) -> bool:
        return self.tier == "quick"

    @property
    def full(self) -> bool:
        return self.tier == "full"

    def rng(self, offset: int = 0):
        """A generator on the active backend, seeded by the run's seed (+ offset)."""
        return B.rng(self.seed + offset)

    def host_rng(self, offset: int = 0):
        return B.host_rng(self.seed + offset)

    def path(self, name: str) -> Path:
        """A file in the output folder."""
        return self.out / name

    def log(self, *args):
        print(f"[{self.number}]", *args, flush=True)

    def progress(self, iterable=None, desc: str = "", total=None, **kw):
        """A progress bar (tqdm) on stderr for long loops; silent when not a terminal."""
        from tqdm.auto import tqdm
        return tqdm(iterable, desc=f"[{self.number}] {desc}", total=total, leave=False,
                    disable=None if not self.quick else True, **kw)

    def savefig(self, fig, name: str, dpi: int = 110) -> Path:
        """Save a matplotlib figure into the output folder and close it."""
        import matplotlib.pyplot as plt
        path = self.path(name)
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
        plt.close(fig)
        self.log(f"wrote {path}")
        return path

    def finish(self, metrics: dict, settings: dict | None = None) -> dict:
        """Write results.json (COURSE.md's contract) and return its content."""
        results = {
            "lesson": self.number,
            "tier": self.tier,
            "seed": self.seed,
            "backend": self.backend,
            "seconds": round(time.time() - self.started, 2),
            "settings": _jsonable(settings or {}),
            "metrics": _jsonable(metrics),
        }
        for k, v in results["metrics"].items():
            if not isinstance(v, (int, float, str, bool, type(None))):
                raise TypeError(f"metric {k!r} must be a number (flat mapping), got {type(v).__name__}")
        with open(self.path("results.json"), "w") as fh:
            json.dump(results, fh, indent=2, allow_nan=True)
            fh.write("\n")
        self.finished, self.results = True, results
        self.log(f"wrote {self.path('results.json')} ({results['seconds']:.1f} s)")
        return results


def _jsonable(obj):
    """Plain JSON types: arrays become lists, NumPy scalars floats/ints, NaN stays NaN."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist"):  # numpy / cupy arrays and scalars
        return _jsonable(B.to_host(obj).tolist() if hasattr(obj, "get") else obj.tolist())
    if isinstance(obj, float) and math.isfinite(obj):
        return float(obj)
    return obj


# ------------------------------------------------------------------ starting a lesson
_active: list = []  # the context the runner prepared, if any


def add_run_options(parser: argparse.ArgumentParser) -> None:
    tier = parser.add_mutually_exclusive_group()
    tier.add_argument("--quick", action="store_const", dest="tier", const="quick",
                      help="smoke run in seconds (what the tests run)")
    tier.add_argument("--full", action="store_const", dest="tier", const="full",
                      help="the documents' own protocol (slow on a CPU)")
    parser.set_defaults(tier="default")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--backend", choices=B.BACKENDS, default=None,
                        help="array backend (default: $NEUROPHYS_BACKEND or numpy)")
    parser.add_argument("--out", type=Path, default=None, help="output folder for figures and results.json")


def make_context(path: Path, tier: str = "default", seed: int = 0, backend: str | None = None,
                 out: Path | None = None) -> LessonContext:
    if tier not in TIERS:
        raise CourseError(f"unknown tier {tier!r}; valid tiers are: {', '.join(TIERS)}")
    if backend is not None:
        B.set_backend(backend)
    path = Path(path)
    out = Path(out) if out is not None else default_out_dir(path, tier)
    out.mkdir(parents=True, exist_ok=True)
    return LessonContext(number=path.name[:2], slug=slug_of(path), tier=tier, seed=int(seed),
                         backend=B.name(), out=out)


def start(script: str) -> LessonContext:
    """Called at the top of a lesson: the runner's context, or one from ``sys.argv``."""
    if _active:
        return _active[-1]
    path = Path(script)
    parser = argparse.ArgumentParser(prog=f"python {path.name}", description=COURSE.get(path.name[:2], ""))
    add_run_options(parser)
    args, _ = parser.parse_known_args()  # tolerate a notebook kernel's own arguments
    try:
        return make_context(path, args.tier, args.seed, args.backend, args.out)
    except B.BackendError as err:
        parser.exit(2, f"error: {err}\n")


def run_lesson(number, tier: str = "default", seed: int = 0, backend: str | None = None,
               out: Path | None = None) -> dict:
    """Run one lesson in this process and return its results (what results.json holds)."""
    path = lesson_file(number)
    ctx = make_context(path, tier, seed, backend, out)
    ctx.log(f"{COURSE[ctx.number]} | tier={tier} seed={seed} backend={ctx.backend} -> {ctx.out}")
    _active.append(ctx)
    try:
        runpy.run_path(str(path), run_name="__main__")
    finally:
        _active.pop()
        import matplotlib.pyplot as plt
        plt.close("all")
    if not ctx.finished:
        raise CourseError(f"lesson {ctx.number} ended without calling ctx.finish(); no results.json written")
    return ctx.results


def run_all(tier: str = "default", seed: int = 0, backend: str | None = None, out: Path | None = None) -> int:
    """Run every written lesson in order; returns the number that failed."""
    failures = []
    files = lesson_files()
    for number in COURSE:
        if number not in files:
            print(f"[{number}] skipped: not written yet")
            continue
        sub_out = Path(out) / files[number].stem if out is not None else None
        try:
            run_lesson(number, tier, seed, backend, sub_out)
        except Exception:  # keep going; report every failure at the end
            traceback.print_exc()
            failures.append(number)
    if failures:
        print(f"lessons that failed: {', '.join(failures)}", file=sys.stderr)
    return len(failures)


def results_table(tier: str = "default") -> str:
    """A markdown table of the stored results of every lesson (for the README)."""
    header = "headline metrics (run seed 0; a mean over the lesson's seed list where it has one)"
    rows = [f"| # | lesson | tier | seconds | {header} |", "|---|---|---|---|---|"]
    for number, title in COURSE.items():
        path = lesson_files().get(number)
        res = None
        if path is not None:
            f = default_out_dir(path, tier) / "results.json" if tier != "quick" else None
            if f is not None and f.exists():
                res = json.loads(f.read_text())
        if res is None:
            rows.append(f"| {number} | {title} | - | - | not run |")
            continue
        keys = [k for k in HEADLINES.get(number, []) if k in res["metrics"]] or list(res["metrics"])[:6]
        shown = ", ".join(f"{k}={_fmt(res['metrics'][k])}" for k in keys)
        rows.append(f"| {number} | {title} | {res['tier']} | {res['seconds']:.0f} | {shown} |")
    return "\n".join(rows)


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)
