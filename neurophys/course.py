"""The course: the lesson list, the run context a lesson works in, and the runner.

A lesson is a plain script in ``lessons/NN_slug.py`` that reads like a lab
notebook (cells marked ``# %%``), so it also opens as a Jupyter notebook. It starts with ::

    ctx = course.start("06")

which gives it its tier, seed, backend and output folder, and ends with ::

    ctx.finish(metrics={...}, settings={...})

which writes ``results.json`` beside the figures (the contract in docs/course.md).

Where the settings come from:

- a script (``python lessons/06_eqprop_mnist.py --quick``): its command line, strictly
  (an unknown option is a usage error, exit status 2);
- a notebook (a Jupyter kernel): environment variables ``NEUROPHYS_TIER``,
  ``NEUROPHYS_SEED``, ``NEUROPHYS_BACKEND``, ``NEUROPHYS_OUT``, ``NEUROPHYS_JOBS``,
  ``NEUROPHYS_SCHEDULER``, ``NEUROPHYS_RESUME`` (they are also the defaults of a script);
- the runner (``python -m neurophys run 06``): its own command line.

A run writes into a workspace, ``./neurophys-runs/NN_slug/`` in the current folder
(``.../quick/`` and ``.../full/`` for those tiers), or ``--out DIR``. Only
``--publish`` (maintainers, in a clone) writes the repository's committed ``figures/``.
"""
from __future__ import annotations

import argparse
import math
import os
import runpy
import re
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from threadpoolctl import threadpool_limits

from . import backend as B
from . import files
from . import sweep as sweep_module
from .plots.animation import save_gif

TIERS = ("quick", "default", "full")
PACKAGE_DIR = Path(__file__).resolve().parent
WORKSPACE = "neurophys-runs"          # the default output folder, in the current directory
LOCK_NAME = ".neurophys-run.lock"     # held in an output folder while a run writes there
ENV_PREFIX = "NEUROPHYS_"


def _course_root() -> tuple[Path, bool]:
    """Where lessons/, examples/, figures/ and benchmarks/ live, and whether that is a clone.

    In a clone (or an editable install) they sit at the top of the repository, next to
    the package; an installed wheel carries copies in ``neurophys/_course/`` (setup.py).
    """
    clone = PACKAGE_DIR.parent
    if (clone / "lessons").is_dir() and (clone / "setup.cfg").is_file():
        return clone, True
    return PACKAGE_DIR / "_course", False


COURSE_ROOT, IN_CLONE = _course_root()
REPO_ROOT = COURSE_ROOT                # the older name; lessons use it to reach benchmarks/
FIGURES_DIR = COURSE_ROOT / "figures"  # the committed (published) figures and results

# The lesson plan is fixed (docs/course.md); files are found by number in lessons/.
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
           "dlm_better_fraction", "paired_p_value", "dlm_psd_slope", "std_psd_slope", "dlm_acc10",
           "finetune_acc10_same_run"],
    "06": ["test_accuracy", "train_accuracy", "epochs", "seconds_per_epoch", "document_config_test_accuracy"],
    "07": ["dream_recognised", "forgetting_no_replay", "forgetting_dream_replay"],
    "08": ["ungated_test_accuracy", "gated_test_accuracy", "pooled_test_accuracy", "updates_skipped", "compute_saved",
           "compute_saved_calls"],
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
    return Path(os.environ.get("NEUROPHYS_LESSONS") or COURSE_ROOT / "lessons")


def lesson_files() -> dict:
    """{'01': Path('.../lessons/01_xor_energy_relaxation.py'), ...} for the lessons that exist."""
    found = {}
    directory = lessons_dir()
    if directory.is_dir():
        for path in sorted(directory.glob("[0-9][0-9]_*.py")):
            found[path.name[:2]] = path
    return found


def lesson_file(number: str) -> Path:
    number = normalise_number(number)
    files_ = lesson_files()
    if number not in files_:
        if not lessons_dir().is_dir():
            raise CourseError(f"the lessons folder {lessons_dir()} is missing; reinstall neurophys "
                              "(pip install neurophys, or pip install -e . in a clone) or set NEUROPHYS_LESSONS "
                              "to a folder that holds the lessons")
        raise CourseError(f"lesson {number} ({COURSE[number]}) is not in {lessons_dir()}")
    return files_[number]


def normalise_number(number) -> str:
    s = str(number).strip()
    if not re.fullmatch(r"\d{1,2}", s) or s.zfill(2) not in COURSE:
        raise CourseError(f"unknown lesson {number!r}; valid lessons are {', '.join(COURSE)} (or 'all')")
    return s.zfill(2)


def slug_of(path) -> str:
    """'06_eqprop_mnist' for lesson 06 (a number or a lesson's path)."""
    if isinstance(path, Path) or str(path).endswith(".py"):
        return Path(path).stem
    number = normalise_number(path)
    found = lesson_files().get(number)
    return found.stem if found is not None else f"{number}_lesson"


def published_dir(slug: str, tier: str) -> Path:
    """The committed results of a lesson: figures/NN_slug/ (default) or figures/NN_slug/full/."""
    base = FIGURES_DIR / slug
    return base / "full" if tier == "full" else base


def workspace_dir(slug: str, tier: str, root=None) -> Path:
    """./neurophys-runs/NN_slug/ (default), .../quick/ or .../full/."""
    base = Path(root) if root is not None else Path.cwd() / WORKSPACE
    base = base / slug
    return base if tier == "default" else base / tier


def default_out_dir(path, tier: str, publish: bool = False) -> Path:
    """Where a run writes when no --out is given: the workspace, or figures/ with --publish."""
    slug = slug_of(path)
    if not publish:
        return workspace_dir(slug, tier)
    if not IN_CLONE:
        raise CourseError("--publish writes the repository's committed figures/, so it works only in a clone "
                          "(git clone ...; pip install -e .); without it runs write to ./neurophys-runs/")
    if tier == "quick":
        raise CourseError("the quick tier is a smoke run and is never published; publish the default tier "
                          "or --full")
    return published_dir(slug, tier)


# ------------------------------------------------------------------ one run per output folder
_held_locks: dict = {}  # resolved folder -> open lock file, for the runs of this process


def acquire_output(folder: Path) -> Path:
    """Create ``folder`` and take its lock; a second run into the same folder is refused.

    The lock is an OS file lock (released by the OS if the process dies), so a
    crashed run never blocks the next one. Re-entrant within one process (a notebook
    re-running its first cell).
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise CourseError(f"the output folder {folder} is a file; give --out (or NEUROPHYS_OUT) a folder")
    folder.mkdir(parents=True, exist_ok=True)
    key = str(folder.resolve())
    if key in _held_locks:
        return folder
    lock = folder / LOCK_NAME
    fh = open(lock, "a+")
    try:
        _lock_file(fh)
    except OSError:
        fh.seek(0)
        who = fh.read().strip() or "another process"
        fh.close()
        raise CourseError(f"another run ({who}) is writing into {folder}; wait for it to finish or choose "
                          "another folder with --out") from None
    fh.seek(0)
    fh.truncate()
    fh.write(f"pid {os.getpid()} on {socket.gethostname()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}")
    fh.flush()
    _held_locks[key] = fh
    return folder


def release_output(folder: Path) -> None:
    fh = _held_locks.pop(str(Path(folder).resolve()), None)
    if fh is None:
        return
    try:
        os.unlink(fh.name)
    except OSError:
        pass
    fh.close()  # closing releases the OS lock


def _lock_file(fh) -> None:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt
        msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
    else:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


# ------------------------------------------------------------------ where a lesson runs
def in_notebook() -> bool:
    """True inside a Jupyter kernel (ipykernel), where sys.argv is the kernel's own."""
    if "ipykernel" not in sys.modules:
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _kernel_argv(argv) -> bool:
    """The kernel's own arguments (``ipykernel_launcher.py -f kernel-….json``), not a lesson's."""
    first = Path(argv[0]).name if argv else ""
    return "ipykernel" in first or any(a.endswith(".json") and "kernel" in a for a in argv[1:])


def _env(name: str):
    value = os.environ.get(ENV_PREFIX + name, "").strip()
    return value or None


def env_defaults() -> dict:
    """The run settings from NEUROPHYS_* environment variables (a notebook's way to set them)."""
    d = {"tier": (_env("TIER") or "default").lower(), "seed": 0, "backend": _env("BACKEND"), "out": _env("OUT"),
         "jobs": 1, "scheduler": _env("SCHEDULER"), "resume": False}
    if d["tier"] not in TIERS:
        raise CourseError(f"NEUROPHYS_TIER={d['tier']!r} is not a tier; use one of {', '.join(TIERS)}")
    for key, name in (("seed", "SEED"), ("jobs", "JOBS")):
        if _env(name) is not None:
            try:
                d[key] = int(_env(name))
            except ValueError:
                raise CourseError(f"NEUROPHYS_{name}={_env(name)!r} is not a whole number") from None
    resume = (_env("RESUME") or "0").lower()
    if resume not in ("0", "1", "true", "false", "yes", "no", "on", "off"):
        raise CourseError(f"NEUROPHYS_RESUME={resume!r}: use 1 or 0")
    d["resume"] = resume in ("1", "true", "yes", "on")
    if d["backend"] is not None and d["backend"] not in B.BACKENDS:
        raise CourseError(f"NEUROPHYS_BACKEND={d['backend']!r} is not a backend; use one of {', '.join(B.BACKENDS)}")
    if d["jobs"] < 1:
        raise CourseError(f"NEUROPHYS_JOBS={d['jobs']} must be at least 1")
    return d


def _progress_setting():
    """NEUROPHYS_PROGRESS=0 silences progress bars, =1 forces them; unset: on a terminal only."""
    v = (_env("PROGRESS") or "").lower()
    return {"0": False, "false": False, "no": False, "off": False, "1": True, "true": True, "yes": True,
            "on": True}.get(v)


# ------------------------------------------------------------------ the context
_SAME = object()  # ctx.pick: a tier that was not given


@dataclass
class LessonContext:
    """What a running lesson needs: tier, seed, backend, where to write, and helpers."""

    number: str
    slug: str
    tier: str = "default"
    seed: int = 0
    backend: str = "numpy"
    out: Path = field(default_factory=lambda: Path("."))
    resume: bool = False
    jobs: int = 1
    scheduler: str | None = None
    publish: bool = False
    notebook: bool = False
    options: argparse.Namespace | None = None   # a lesson's own options (course.start(..., options=parser))
    started: float = field(default_factory=time.time)
    cpu_started: float = field(default_factory=lambda: _cpu_seconds())
    finished: bool = False
    results: dict | None = None
    units_cpu: dict = field(default_factory=dict)   # sweep name -> CPU seconds of its units (see sweep)

    def pick(self, quick=_SAME, default=None, full=_SAME):
        """The setting for this tier: ``ctx.pick(quick=200, default=5000, full=60000)``.

        A tier not given takes ``default``'s value; an explicit None is a value like any other
        (``n_train=ctx.pick(quick=640, default=51200, full=None)``: all images in the full tier).
        """
        value = {"quick": quick, "default": default, "full": full}[self.tier]
        return default if value is _SAME else value

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

    def progress(self, iterable=None, desc: str = "", total=None, unit: str = "it", **kw):
        """A progress bar (tqdm, with rate and ETA) for a long loop; count batches or steps.

        On stderr in a terminal, as a widget (or text) in a notebook, silent when stderr is
        not a terminal; ``NEUROPHYS_PROGRESS=0/1`` overrides.
        """
        forced = _progress_setting()
        kw.setdefault("leave", False)
        kw.setdefault("dynamic_ncols", True)
        if self.notebook and forced is not False:
            try:
                import ipywidgets  # noqa: F401  (tqdm.notebook needs it)
                from tqdm.notebook import tqdm as bar
            except ImportError:
                from tqdm import tqdm as bar
            return bar(iterable, desc=f"[{self.number}] {desc}", total=total, unit=unit, **kw)
        from tqdm import tqdm
        disable = None if forced is None else not forced  # None: only when stderr is a terminal
        return tqdm(iterable, desc=f"[{self.number}] {desc}", total=total, unit=unit, file=sys.stderr,
                    disable=disable, **kw)

    def savefig(self, fig, name: str, dpi: int = 110, **kw) -> Path:
        """Save a matplotlib figure atomically; show it inline in a notebook; close it."""
        import matplotlib.pyplot as plt
        path = self.path(name)
        kw.setdefault("bbox_inches", "tight")
        files.save_figure(fig, path, dpi=dpi, **kw)
        plt.close(fig)
        self.show(path)
        self.log(f"wrote {path}")
        return path

    def savegif(self, frames, name: str, fps: float = 2.0) -> Path:
        """Save frames (PIL images or HxWx3 uint8 arrays) as an animated GIF; show it inline in a notebook."""
        path = save_gif(frames, self.path(name), fps=fps)
        self.show(path)
        self.log(f"wrote {path}")
        return path

    def show(self, path) -> None:
        """Show an image file (PNG, GIF, JPEG, SVG) inline when running in a notebook."""
        if not self.notebook:
            return
        from IPython.display import SVG, Image, display
        path = Path(path)
        if path.suffix.lower() == ".svg":
            display(SVG(filename=str(path)))
        elif path.suffix.lower() in (".png", ".gif", ".jpg", ".jpeg"):
            display(Image(data=path.read_bytes(), format=path.suffix.lower().lstrip(".").replace("jpg", "jpeg")))

    def sweep(self, fn, units, name: str = "units") -> list:
        """Run ``fn(**unit)`` for every unit through :func:`neurophys.sweep.run_units`.

        Each finished unit is stored in ``<out>/<name>/``; ``--resume``, ``--jobs N`` and
        ``--scheduler ADDRESS`` (or NEUROPHYS_RESUME/JOBS/SCHEDULER) are passed on.
        """
        folder = self.path(name)
        if not self.resume and not self.full and folder.is_dir():
            # A quick or default run into a folder where it already ran is a fresh run (minutes of
            # work): its own earlier units go, another experiment's are refused, never removed; the
            # full tier (hours) keeps its units and refuses without --resume.
            stale = sweep_module.clear_units(fn, folder)
            if stale:
                self.log(f"starting afresh: removed {stale} unit file(s) of an earlier run of this sweep in "
                         f"{folder} (--resume keeps them)")
        measured = sweep_module.run_units(fn, units, folder, resume=self.resume, jobs=self.jobs,
                                          scheduler=self.scheduler, progress=self.progress)
        self.units_cpu[name] = sweep_module.units_cpu_seconds(units, folder)
        return measured

    def finish(self, metrics: dict, settings: dict | None = None) -> dict:
        """Write results.json (docs/course.md's contract), atomically, and return its content."""
        settings = dict(settings or {})
        settings.setdefault("cpu_seconds", round(_cpu_seconds() - self.cpu_started, 2))
        if self.units_cpu:   # the sweeps' whole cost, also when this run resumed them
            settings.setdefault("units_cpu_seconds", round(sum(self.units_cpu.values()), 1))
        if hasattr(os, "getloadavg"):
            settings.setdefault("load_average", [round(x, 2) for x in os.getloadavg()])
        results = {
            "lesson": self.number,
            "tier": self.tier,
            "seed": self.seed,
            "backend": self.backend,
            "seconds": round(time.time() - self.started, 2),
            "settings": _jsonable(settings),
            "metrics": _jsonable(metrics),
        }
        for k, v in results["metrics"].items():
            if not isinstance(v, (int, float, str, bool, type(None))):
                raise TypeError(f"metric {k!r} must be a number (flat mapping), got {type(v).__name__}")
        files.write_json(self.path("results.json"), results)
        self.finished, self.results = True, results
        self.log(f"wrote {self.path('results.json')} ({results['seconds']:.1f} s)")
        if not _active or _active[-1] is not self:  # the runner releases its own folder
            release_output(self.out)
        return results


def format_duration(seconds) -> str:
    """'42 s', '3.5 min' or '2.1 h': a measured time as the lesson list and the site print it."""
    seconds = float(seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _cpu_seconds() -> float:
    """CPU seconds used so far by this process and by its finished child processes (sweep workers)."""
    try:
        import resource  # Unix only
    except ImportError:
        return time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _jsonable(obj):
    """Plain JSON types in memory: arrays become lists, NumPy scalars floats/ints; NaN stays NaN
    (files.write_json writes it as null with a "nonfinite" note)."""
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


def add_run_options(parser: argparse.ArgumentParser, env: dict | None = None) -> None:
    """The options every run takes; defaults from NEUROPHYS_* environment variables."""
    env = env if env is not None else env_defaults()
    tier = parser.add_mutually_exclusive_group()
    tier.add_argument("--quick", action="store_const", dest="tier", const="quick",
                      help="smoke run: at most ~30 s of CPU (what the tests run)")
    tier.add_argument("--full", action="store_const", dest="tier", const="full",
                      help="the documents' own protocol (slow on a CPU)")
    tier.add_argument("--tier", choices=TIERS, dest="tier", help="the tier by name (default: $NEUROPHYS_TIER "
                      "or default)")
    parser.set_defaults(tier=env["tier"])
    parser.add_argument("--seed", type=int, default=env["seed"], help="random seed (default 0)")
    parser.add_argument("--backend", choices=B.BACKENDS, default=env["backend"],
                        help="array backend (default: $NEUROPHYS_BACKEND or numpy)")
    parser.add_argument("--out", type=Path, default=env["out"],
                        help=f"output folder (default: ./{WORKSPACE}/NN_slug/, .../quick/ or .../full/)")
    parser.add_argument("--publish", action="store_true",
                        help="maintainers: write the repository's committed figures/ (a clone only)")
    parser.add_argument("--resume", action="store_true", default=env["resume"],
                        help="keep the sweep units a previous run finished; run only the rest")
    parser.add_argument("--jobs", type=_positive_int, default=env["jobs"], metavar="N",
                        help="run sweep units in N local processes (default 1)")
    parser.add_argument("--scheduler", default=env["scheduler"], metavar="ADDRESS",
                        help="run sweep units on a dask.distributed cluster, e.g. tcp://host:8786")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def limit_blas_threads(n=None):
    """BLAS threads for a lesson: ``n``, else $NEUROPHYS_BLAS_THREADS, else 1 (threadpoolctl).

    The lessons' matrix products are small (batches of 32-128 against a few hundred units), and a
    second OpenBLAS thread mostly waits for the first; on a busy 2-core machine it spin-waits
    (lesson 07's quick tier: 110 s of CPU with two threads, 5 s with one; a GRU epoch 11 s -> 0.24 s).
    Returns the number set."""
    n = int(n if n is not None else os.environ.get("NEUROPHYS_BLAS_THREADS") or 1)
    threadpool_limits(limits=n, user_api="blas")
    return n


def make_context(lesson, tier: str = "default", seed: int = 0, backend: str | None = None,
                 out: Path | None = None, *, publish: bool = False, resume: bool = False, jobs: int = 1,
                 scheduler: str | None = None, notebook: bool = False) -> LessonContext:
    """A context for lesson ``lesson`` (a number, or a lesson's path); takes its output folder's lock."""
    if tier not in TIERS:
        raise CourseError(f"unknown tier {tier!r}; valid tiers are: {', '.join(TIERS)}")
    if publish and out is not None:
        raise CourseError("--publish and --out both name the output folder; give one of them")
    if backend is not None:
        B.set_backend(backend)
    if isinstance(lesson, Path) or str(lesson).endswith(".py"):
        number, slug = Path(lesson).name[:2], slug_of(Path(lesson))
    else:
        number = normalise_number(lesson)
        slug = slug_of(number)
    out = Path(out) if out is not None else default_out_dir(Path(slug + ".py"), tier, publish)
    acquire_output(out)
    limit_blas_threads()
    return LessonContext(number=number, slug=slug, tier=tier, seed=int(seed), backend=B.name(), out=out,
                         resume=bool(resume), jobs=int(jobs), scheduler=scheduler, publish=publish,
                         notebook=notebook)


def _lesson_number(lesson) -> str:
    """'06' from "06", 6 or a lesson's path (the older ``course.start(__file__)``)."""
    text = str(lesson)
    return normalise_number(Path(text).name[:2] if text.endswith(".py") else text)


def start(lesson, options: argparse.ArgumentParser | None = None) -> LessonContext:
    """Called at the top of a lesson: ``ctx = course.start("06")``.

    Under the runner it returns the runner's context; in a notebook the settings come
    from NEUROPHYS_* environment variables; in a script from the command line, strictly.
    A lesson with options of its own passes its parser (``options=parser``): they are
    parsed with the run options and the result is ``ctx.options``.
    """
    number = _lesson_number(lesson)
    if _active:
        ctx = _active[-1]
        ctx.options = options.parse_args([]) if options is not None else argparse.Namespace()
        return ctx
    notebook = in_notebook()
    if notebook and _kernel_argv(sys.argv):
        env = env_defaults()  # a CourseError here shows in the notebook, naming the variable
        ctx = make_context(number, env["tier"], env["seed"], env["backend"], env["out"], resume=env["resume"],
                           jobs=env["jobs"], scheduler=env["scheduler"], notebook=True)
        ctx.options = options.parse_args([]) if options is not None else argparse.Namespace()
        ctx.log(f"{COURSE[number]} | tier={ctx.tier} seed={ctx.seed} backend={ctx.backend} -> {ctx.out} "
                "(set NEUROPHYS_TIER=quick|default|full before starting the kernel to change the tier)")
        return ctx
    script = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else f"{number}.py"
    parser = argparse.ArgumentParser(prog=f"python {script}", description=COURSE[number], allow_abbrev=False,
                                     parents=[options] if options is not None else [],
                                     conflict_handler="resolve")
    try:
        add_run_options(parser)
    except CourseError as err:
        parser.exit(2, f"{parser.prog}: error: {err}\n")
    args = parser.parse_args(sys.argv[1:])  # strict: an unknown option is a usage error (exit 2)
    try:
        ctx = make_context(number, args.tier, args.seed, args.backend, args.out, publish=args.publish,
                           resume=args.resume, jobs=args.jobs, scheduler=args.scheduler, notebook=notebook)
    except (CourseError, B.BackendError) as err:
        parser.exit(2, f"{parser.prog}: error: {err}\n")
    ctx.options = args
    if not notebook:
        _install_quiet_interrupt()
    return ctx


def _install_quiet_interrupt() -> None:
    """A script stopped with Ctrl-C ends with one line, not a traceback."""
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            sys.stdout.flush()
            print("interrupted (Ctrl-C); files already written are complete, the rest was not written",
                  file=sys.stderr)
            for key in list(_held_locks):
                release_output(Path(key))
            os._exit(130)
        previous(exc_type, exc, tb)
    if getattr(sys.excepthook, "__name__", "") != "hook":
        sys.excepthook = hook


def run_lesson(number, tier: str = "default", seed: int = 0, backend: str | None = None,
               out: Path | None = None, *, publish: bool = False, resume: bool = False, jobs: int = 1,
               scheduler: str | None = None) -> dict:
    """Run one lesson in this process and return its results (what results.json holds)."""
    path = lesson_file(number)
    ctx = make_context(number, tier, seed, backend, out, publish=publish, resume=resume, jobs=jobs,
                       scheduler=scheduler, notebook=in_notebook())
    ctx.log(f"{COURSE[ctx.number]} | tier={tier} seed={seed} backend={ctx.backend} -> {ctx.out}")
    _active.append(ctx)
    saved_argv = sys.argv
    sys.argv = [str(path)]
    try:
        runpy.run_path(str(path), run_name="__main__")
    finally:
        sys.argv = saved_argv
        _active.pop()
        release_output(ctx.out)
        import matplotlib.pyplot as plt
        plt.close("all")
    if not ctx.finished:
        raise CourseError(f"lesson {ctx.number} ended without calling ctx.finish(); no results.json written")
    return ctx.results


def headline(number: str, metrics: dict) -> str:
    """The lesson's first headline metric as ``name=value`` (for summaries)."""
    keys = [k for k in HEADLINES.get(number, []) if k in metrics] or list(metrics)[:1]
    return ", ".join(f"{k}={_fmt(metrics[k])}" for k in keys[:1])


def run_all(tier: str = "default", seed: int = 0, backend: str | None = None, out: Path | None = None,
            *, publish: bool = False, resume: bool = False, jobs: int = 1, scheduler: str | None = None,
            lessons=None) -> list:
    """Run every lesson in order (or ``lessons``); returns one summary row per lesson.

    A failing lesson is reported and the course goes on; Ctrl-C stops the course, and the
    rows so far are returned with the interrupted lesson marked.
    """
    import traceback
    rows = []
    files_ = lesson_files()
    for number in lessons or COURSE:
        row = {"lesson": number, "status": "skipped", "seconds": None, "headline": "", "out": ""}
        rows.append(row)
        if number not in files_:
            row["headline"] = "not in the lessons folder"
            continue
        sub_out = Path(out) / files_[number].stem if out is not None else None
        t0 = time.time()
        try:
            res = run_lesson(number, tier, seed, backend, sub_out, publish=publish, resume=resume, jobs=jobs,
                             scheduler=scheduler)
            row.update(status="ok", headline=headline(number, res["metrics"]))
        except KeyboardInterrupt:
            row.update(status="interrupted", seconds=round(time.time() - t0, 1))
            row["interrupted"] = True
            break
        except Exception as err:  # keep going; every failure shows in the summary
            traceback.print_exc()
            row.update(status="failed", headline=f"{type(err).__name__}: {err}"[:80])
        row["seconds"] = round(time.time() - t0, 1)
        row["out"] = str(sub_out or default_out_dir(files_[number], tier, publish))
    return rows


def summary_table(rows) -> str:
    """The end-of-course table: lesson, status, seconds, headline metric, output folder."""
    lines = ["| lesson | status | seconds | headline metric | output folder |", "|---|---|---|---|---|"]
    for r in rows:
        secs = "-" if r["seconds"] is None else f"{r['seconds']:.0f}"
        lines.append(f"| {r['lesson']} | {r['status']} | {secs} | {r['headline'] or '-'} | {r['out'] or '-'} |")
    return "\n".join(lines)


# ------------------------------------------------------------------ reading results
def read_results(folder: Path, warn=None):
    """results.json in ``folder`` or None; a corrupt file is named (through ``warn``) and skipped."""
    f = Path(folder) / "results.json"
    if not f.is_file():
        return None
    try:
        return files.read_json(f)
    except files.CorruptFileError as err:
        (warn or (lambda msg: print(msg, file=sys.stderr)))(f"skipped: {err}")
        return None


def results_dir(slug: str, tier: str, workspace=None) -> Path:
    return published_dir(slug, tier) if workspace is None else workspace_dir(slug, tier, workspace)


def _benchmark_times(warn=None) -> dict:
    """Lesson times recorded by ``python -m benchmarks.lesson_times``, if committed:
    ``benchmarks/results/lesson_times[_quick|_full].json`` with rows ``{"lesson": "06", "tier":
    "quick", "status": 0, "cpu_seconds": ..., "wall_seconds": ...}`` (a list, or under "rows")."""
    times = {}
    for f in sorted((COURSE_ROOT / "benchmarks" / "results").glob("lesson*.json")):
        try:
            data = files.read_json(f)
        except files.CorruptFileError as err:
            (warn or (lambda msg: print(msg, file=sys.stderr)))(f"skipped: {err}")
            continue
        rows = data if isinstance(data, list) else (data.get("rows") or data.get("lessons") or [])
        if isinstance(rows, dict):  # {"06": {"quick": {...}}}
            rows = [{"lesson": n, "tier": t, **v} for n, tiers in rows.items() if isinstance(tiers, dict)
                    for t, v in tiers.items() if isinstance(v, dict)]
        for row in rows if isinstance(rows, list) else []:
            if not isinstance(row, dict) or str(row.get("lesson", "")).zfill(2) not in COURSE:
                continue
            if row.get("status", 0) not in (0, "ok"):  # a failed or stopped run measured nothing
                continue
            wall = next((row[k] for k in ("wall_seconds", "wall_s", "seconds") if isinstance(row.get(k), (int, float))), None)
            cpu = next((row[k] for k in ("cpu_seconds", "cpu_s") if isinstance(row.get(k), (int, float))), None)
            if row.get("tier") in TIERS and (wall is not None or cpu is not None):
                times.setdefault(str(row["lesson"]).zfill(2), {})[row["tier"]] = {"seconds": wall, "cpu_seconds": cpu}
    return times


def measured_times(warn=None) -> dict:
    """{'06': {'default': {'seconds': 212.4, 'cpu_seconds': 200.1}, 'quick': {...}}, ...}: the
    benchmark script's records where committed, else the committed results.json files."""
    times = _benchmark_times(warn)
    for number, path in lesson_files().items():
        for tier in ("default", "full"):
            res = read_results(published_dir(path.stem, tier), warn)
            if tier in times.get(number, {}):
                continue
            if res and res.get("tier") == tier and isinstance(res.get("seconds"), (int, float)):
                cpu = (res.get("settings") or {}).get("cpu_seconds")
                times.setdefault(number, {})[tier] = {"seconds": res["seconds"],
                                                      "cpu_seconds": cpu if isinstance(cpu, (int, float)) else None}
    return times


def results_table(tier: str = "default", workspace=None, warn=None) -> str:
    """A markdown table of the stored results of every lesson (committed, or a workspace's)."""
    header = "headline metrics (run seed 0; a mean over the lesson's seed list where it has one)"
    rows = [f"| # | lesson | tier | wall s (CPU s) | {header} |", "|---|---|---|---|---|"]
    found = lesson_files()
    for number, title in COURSE.items():
        slug = found[number].stem if number in found else f"{number}_lesson"
        res = read_results(results_dir(slug, tier, workspace), warn)
        if res is None or not isinstance(res.get("metrics"), dict):
            rows.append(f"| {number} | {title} | - | - | not run |")
            continue
        keys = [k for k in HEADLINES.get(number, []) if k in res["metrics"]] or list(res["metrics"])[:6]
        shown = ", ".join(f"{k}={_fmt(res['metrics'][k])}" for k in keys)
        rows.append(f"| {number} | {title} | {res.get('tier', '-')} | {_cost(res)} | {shown} |")
    return "\n".join(rows)


def _cost(res: dict) -> str:
    """'212 (416)': the run's wall and CPU seconds; a run with sweep units shows what all of its
    units took, '3 (16323 in units)', since a resumed run's own seconds only collected them."""
    wall, settings = res.get("seconds"), res.get("settings") or {}
    text = f"{wall:.0f}" if isinstance(wall, (int, float)) else "-"
    units, cpu = settings.get("units_cpu_seconds"), settings.get("cpu_seconds")
    if isinstance(units, (int, float)):
        return f"{text} ({units:.0f} in units)"
    return f"{text} ({cpu:.0f})" if isinstance(cpu, (int, float)) else text


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)
