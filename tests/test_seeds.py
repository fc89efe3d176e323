"""Every lesson honours --seed: two seeds give different results wherever something is random.

Cheap checks run by default: (1) every lesson with randomness derives it from the run's seed
(``ctx.seed``, ``ctx.rng``, ``ctx.host_rng``) and none hard-codes a seed list; (2) the units of
lessons 04 and 05 and the gated step of lesson 08, on reduced configurations, give different
numbers for seeds 0 and 1 and the same numbers for the same seed. Whole quick lessons at two
seeds are in the slow set (``pytest -m slow tests/test_seeds.py``).
"""
import functools
import re

import numpy
import pytest

from neurophys import backend as B
from neurophys import course
from neurophys.learning.continual import summarise
from neurophys.learning.protocols import continual_unit, dlm_forgetting_unit
from neurophys.learning.surprise import SurpriseGate, gated_train_step
from neurophys.models.eqprop import EqPropNet

DETERMINISTIC = {"02"}   # no random draws at all (the lesson says so and records it in settings)
SEED_USE = re.compile(r"ctx\.(seed|rng\(|host_rng\()")
HARD_CODED = re.compile(r"seeds\s*=\s*(ctx\.pick\()?\s*(quick\s*=\s*)?\[\s*0\s*[,\]]|seeds\s*=\s*list\(range\(", re.I)
# lesson 07 lists seed *offsets* [0, 1, 2] and adds them to the run's seed through ctx.rng(offset)
OFFSETS = {"07"}


def _source(number):
    return course.lesson_file(number).read_text(encoding="utf-8")


@pytest.mark.parametrize("number", sorted(course.lesson_files()))
def test_lesson_derives_its_randomness_from_the_seed(number):
    src = _source(number)
    if number in DETERMINISTIC:
        assert not re.search(r"\brng\b|default_rng|random\.", src), f"lesson {number} draws random numbers"
        assert '"randomness"' in src
        return
    assert SEED_USE.search(src), f"lesson {number} never uses ctx.seed / ctx.rng / ctx.host_rng"
    if number not in OFFSETS:
        assert not HARD_CODED.search(src), f"lesson {number} hard-codes its seed list; derive it from ctx.seed"


def test_lesson_04_unit_depends_on_its_seed_only():
    unit = functools.partial(continual_unit, n_tasks=2, n_train=200, n_test=100, hidden=16, epochs=2, lr=0.01,
                             method_kwargs={"replay": {"capacity": 20}})
    a, b, a2 = (unit("replay", s)["R"] for s in (0, 1, 0))
    assert a == a2
    assert a != b
    assert summarise(numpy.array(a))["acc"] > 0.15          # it learnt something (chance 0.1)


def test_lesson_05_unit_depends_on_its_seed_only():
    r0, r1 = (dlm_forgetting_unit("paired", s, epochs=5) for s in (0, 1))
    assert r0 != r1
    assert r0 == dlm_forgetting_unit("paired", 0, epochs=5)


def test_lesson_08_gated_step_depends_on_the_seed():
    rng = numpy.random.default_rng(0)
    x = B.asarray(rng.random((64, 20)))
    y = B.xp().asarray(rng.integers(0, 3, 64))

    def run(seed):
        net = EqPropNet([20, 16, 3], n_free=5, n_nudged=2, beta=0.5, lr=[0.2, 0.1], rng=B.rng(seed))
        for start in range(0, 64, 16):
            gated_train_step(net, x[start:start + 16], y[start:start + 16], SurpriseGate(0.01, 1.5))
        return B.to_host(net.params["W0"]).copy()

    assert not numpy.array_equal(run(0), run(1))
    assert numpy.array_equal(run(0), run(0))


@pytest.mark.slow
@pytest.mark.parametrize("number", ["01", "04", "05", "08"])
def test_quick_lesson_two_seeds_differ(number, tmp_path):
    res = [course.run_lesson(number, tier="quick", seed=s, out=tmp_path / str(s))["metrics"] for s in (0, 1)]
    assert res[0] != res[1]
