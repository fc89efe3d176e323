"""Sweeps as units: serial, --jobs 2 and Dask give the same numbers; interrupted sweeps resume."""
import functools
import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy
import pytest

from neurophys import backend as B
from neurophys import sweep
from neurophys.blocks import get_optimizer, softmax_cross_entropy, softmax_cross_entropy_grad
from neurophys.models.mlp import MLP

CALLS = []          # the units run in this process (serial mode), in order
BOOM = {}           # seed -> exception class raised by that unit (set by a test, serial mode only)


def tiny_training(seed, lr=0.01, steps=6, fail_seed=None):
    """A cheap unit: a 784-256-10 MLP trained for a few Adam steps on seeded random data.

    The 128 x 784 x 256 products are large enough that OpenBLAS sums them differently with
    1 and 2 threads, so this unit would notice a thread-count difference between schedulers.
    """
    CALLS.append(seed)
    if seed in BOOM:
        raise BOOM[seed]("stop here")
    if seed == fail_seed:
        raise ValueError(f"unit {seed} fails")
    rng = numpy.random.default_rng(seed)
    x = B.asarray(rng.standard_normal((128, 784)))
    y = B.xp().asarray(rng.integers(0, 10, 128))
    net = MLP([784, 256, 10], activation="relu", rng=B.rng(seed))
    opt = get_optimizer("adam", lr=lr)
    for _ in range(steps):
        z = net.forward(x)
        net.backward(softmax_cross_entropy_grad(z, y))
        opt.step(net.params, net.grads)
    z = net.forward(x)
    return {"loss": float(softmax_cross_entropy(z, y)), "w_sum": float(net.params["W0"].sum(dtype=numpy.float64)),
            "w_sha1": hashlib.sha1(B.to_host(net.params["W0"]).tobytes()).hexdigest(),
            "nan": float("nan")}


UNITS = [{"seed": s} for s in range(4)]


@pytest.fixture(autouse=True)
def _reset():
    CALLS.clear()
    BOOM.clear()
    yield
    CALLS.clear()
    BOOM.clear()


def test_serial_jobs_and_dask_agree(tmp_path):
    serial = sweep.run_units(tiny_training, UNITS, tmp_path / "serial")
    assert [u["seed"] for u in UNITS] == CALLS
    assert serial[0]["nan"] is None                       # strict JSON: NaN stored as null
    assert len({r["loss"] for r in serial}) == len(UNITS)  # seeds differ
    parallel = sweep.run_units(tiny_training, UNITS, tmp_path / "jobs2", jobs=2)
    assert CALLS == [0, 1, 2, 3]                          # nothing more ran in this process
    assert parallel == serial
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None,
                                  silence_logs=40) as cluster:
        on_dask = sweep.run_units(tiny_training, UNITS, tmp_path / "dask", scheduler=cluster)
        by_address = sweep.run_units(tiny_training, UNITS[:2], tmp_path / "tcp", scheduler=cluster.scheduler_address)
    assert on_dask == serial
    assert by_address == serial[:2]
    pids = {json.loads(p.read_text())["pid"] for p in (tmp_path / "jobs2").glob("*.json")}
    assert os.getpid() not in pids
    record = json.loads((tmp_path / "serial" / "seed=0.json").read_text())
    assert record["unit"] == {"seed": 0} and record["measurements"]["loss"] == serial[0]["loss"]
    assert record["nonfinite"] == {"measurements.nan": "nan"}


def test_interrupted_sweep_resumes(tmp_path):
    folder = tmp_path / "units"
    full = sweep.run_units(tiny_training, UNITS, tmp_path / "reference")
    CALLS.clear()
    BOOM[2] = KeyboardInterrupt            # Ctrl-C during the third unit
    with pytest.raises(KeyboardInterrupt):
        sweep.run_units(tiny_training, UNITS, folder)
    assert sorted(p.name for p in folder.glob("*.json")) == ["seed=0.json", "seed=1.json"]
    assert not list(folder.glob(".*"))     # no half-written temp files left behind
    with pytest.raises(sweep.SweepError, match="--resume"):
        sweep.run_units(tiny_training, UNITS, folder)       # finished units are not overwritten silently
    BOOM.clear()
    CALLS.clear()
    resumed = sweep.run_units(tiny_training, UNITS, folder, resume=True)
    assert CALLS == [2, 3]                 # only the unfinished units ran again
    assert resumed == full
    # the sweep's cost counts the units of both runs: what a results.json reports as units_cpu_seconds
    costs = [json.loads((folder / f"seed={u['seed']}.json").read_text())["cpu_seconds"] for u in UNITS]
    assert all(c > 0 for c in costs)
    assert sweep.units_cpu_seconds(UNITS, folder) == pytest.approx(sum(costs))
    assert sweep.units_cpu_seconds(UNITS, tmp_path / "nothing-here") == 0.0


def test_killed_process_resumes(tmp_path):
    """A process killed (SIGKILL) in its third unit loses only that unit."""
    folder = tmp_path / "units"
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import test_sweep
        from neurophys import sweep
        real = test_sweep.tiny_training
        def unit(seed, **kw):
            if seed == 2:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(seed, **kw)
        test_sweep.tiny_training = unit
        unit.__module__, unit.__qualname__ = "test_sweep", "tiny_training"
        sweep.run_units(unit, {UNITS!r}, {str(folder)!r})
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr
    assert sorted(p.name for p in folder.glob("*.json")) == ["seed=0.json", "seed=1.json"]
    resumed = sweep.run_units(tiny_training, UNITS, folder, resume=True)
    assert CALLS == [2, 3]
    assert resumed == sweep.run_units(tiny_training, UNITS, tmp_path / "ref")


def test_failed_unit_in_a_pool_keeps_the_others(tmp_path):
    fn = functools.partial(tiny_training, fail_seed=0)
    with pytest.raises(sweep.SweepError, match="seed.: 0.*failed.*--resume"):
        sweep.run_units(fn, UNITS[:3], tmp_path, jobs=2)
    assert "seed=0.json" not in {p.name for p in tmp_path.glob("*.json")}
    assert {p.name for p in tmp_path.glob("*.json")} <= {"seed=1.json", "seed=2.json"}
    # resuming with other settings (another partial) is refused instead of mixing experiments
    if (tmp_path / "seed=1.json").exists():
        with pytest.raises(sweep.SweepError, match="another function or other settings"):
            sweep.run_units(tiny_training, UNITS[:3], tmp_path, resume=True)


def test_failure_is_reported_and_finished_units_saved(tmp_path):
    BOOM[1] = ValueError
    with pytest.raises(sweep.SweepError, match=r"unit \{'seed': 1\} of test_sweep.tiny_training failed: "
                                               r"ValueError: stop here.*--resume") as info:
        sweep.run_units(tiny_training, UNITS[:3], tmp_path)       # serial: named like a failure in a pool
    assert isinstance(info.value.__cause__, ValueError)
    assert [p.name for p in tmp_path.glob("*.json")] == ["seed=0.json"]


def test_keys_units_and_corrupt_files(tmp_path):
    assert sweep.unit_key({"seed": 2, "method": "ewc"}) == "method=ewc,seed=2"
    assert sweep.unit_key({"lr": 0.1, "flag": True, "x": None}) == "flag=true,lr=0.1,x=null"
    odd = sweep.unit_key({"name": "a/b c"})
    assert "/" not in odd and " " not in odd and odd != sweep.unit_key({"name": "a_b_c"})
    with pytest.raises(sweep.SweepError, match="same unit"):
        sweep.run_units(tiny_training, [{"seed": 0}, {"seed": 0}], tmp_path)
    # a string that reads like another type gets a hash, so {'a': 1} and {'a': '1'} are two files
    for typed, text in ((1, "1"), (True, "true"), (None, "null"), (1.0, "1.0"), (-2, "-2")):
        assert sweep.unit_key({"a": typed}) != sweep.unit_key({"a": text})
    assert sweep.unit_key({"method": "ewc"}) == "method=ewc"          # plain names keep plain keys
    with pytest.raises(sweep.SweepError, match="case-insensitive"):
        sweep.run_units(tiny_training, [{"m": "EWC"}, {"m": "ewc"}], tmp_path / "case")
    with pytest.raises(sweep.SweepError, match="JSON scalar"):
        sweep.run_units(tiny_training, [{"seed": [0]}], tmp_path)
    sweep.run_units(tiny_training, UNITS[:2], tmp_path)
    (tmp_path / "seed=1.json").write_text("{not json")
    CALLS.clear()
    with pytest.warns(UserWarning, match="seed=1.json"):
        sweep.run_units(tiny_training, UNITS[:2], tmp_path, resume=True)
    assert CALLS == [1]


def test_progress_wrapper_sees_every_unit(tmp_path):
    seen = []

    def progress(it, total, desc):
        assert total == 2 and desc == "units"
        for item in it:
            seen.append(item[1])
            yield item

    sweep.run_units(tiny_training, UNITS[:2], tmp_path, progress=progress)
    assert seen == UNITS[:2]


def test_jobs_from_a_script_do_not_rerun_it(tmp_path):
    """A lesson run as a script has no __main__ guard: spawned workers must not execute it again."""
    script = tmp_path / "lesson_like.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        print("TOP LEVEL", flush=True)
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import test_sweep
        from neurophys import sweep
        out = sweep.run_units(test_sweep.tiny_training, [{{"seed": 0}}, {{"seed": 1}}], {str(tmp_path / "u")!r}, jobs=2)
        print("DONE", len(out), flush=True)
    """))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("TOP LEVEL") == 1 and "DONE 2" in proc.stdout


def test_resume_refuses_another_dtype(tmp_path):
    sweep.run_units(tiny_training, UNITS[:1], tmp_path)
    record = json.loads((tmp_path / "seed=0.json").read_text())
    assert (record["backend"], record["dtype"]) == ("numpy", "float32")
    with B.precision("float64"), pytest.raises(sweep.SweepRefused, match="float32.*float64.*--backend"):
        sweep.run_units(tiny_training, UNITS[:2], tmp_path, resume=True)
    assert sweep.run_units(tiny_training, UNITS[:2], tmp_path, resume=True)[0]["loss"] == record["measurements"]["loss"]


def sleepy(seed):
    """A unit that writes its pid, then takes 0.2 s (seed 0) or a minute (the others)."""
    folder = Path(os.environ["SLEEPY_DIR"])
    (folder / f"pid-{seed}").write_text(str(os.getpid()))
    import time
    time.sleep(0.2 if seed == 0 else 60)
    return {"seed": seed}


def test_ctrl_c_stops_a_jobs_sweep_at_once(tmp_path):
    """Ctrl-C (SIGINT to the process group, as a terminal sends it) during a --jobs 2 sweep: the
    run stops within seconds with KeyboardInterrupt, the finished unit is saved, the workers are gone."""
    import signal
    import time
    folder, marks = tmp_path / "units", tmp_path / "marks"
    marks.mkdir()
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import test_sweep
        from neurophys import sweep
        sweep.run_units(test_sweep.sleepy, [{{"seed": s}} for s in range(4)], {str(folder)!r}, jobs=2)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, env={**os.environ, "SLEEPY_DIR": str(marks)})
    deadline = time.time() + 60
    while not ((folder / "seed=0.json").exists() and (marks / "pid-1").exists() and (marks / "pid-2").exists()):
        assert time.time() < deadline and proc.poll() is None, proc.stderr.read() if proc.poll() is not None else ""
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)
    t0 = time.time()
    _, err = proc.communicate(timeout=30)
    assert time.time() - t0 < 10, "the run waited for the units in progress"
    assert "KeyboardInterrupt" in err and "AttributeError" not in err, err
    assert sorted(p.name for p in folder.glob("*.json")) == ["seed=0.json"]
    time.sleep(0.5)
    for s in (1, 2):                           # the workers that ran units 1 and 2 were stopped
        with pytest.raises(ProcessLookupError):
            os.kill(int((marks / f"pid-{s}").read_text()), 0)


def test_dask_refuses_workers_with_threads_and_names_a_dead_scheduler(tmp_path):
    distributed = pytest.importorskip("distributed")
    import dask
    with distributed.LocalCluster(n_workers=1, processes=True, threads_per_worker=2, dashboard_address=None,
                                  silence_logs=40) as cluster:
        with pytest.raises(sweep.SweepRefused, match="--nthreads 1"):
            sweep.run_units(tiny_training, UNITS[:2], tmp_path / "threads", scheduler=cluster)
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        with pytest.raises(sweep.SweepRefused, match=r"--scheduler tcp://127.0.0.1:9: no Dask scheduler answered"):
            sweep.run_units(tiny_training, UNITS[:1], tmp_path / "dead", scheduler="tcp://127.0.0.1:9")
    assert not list((tmp_path / "dead").glob("*.json"))
