"""The Dissipative Learning Machine, PyTorch's stream replayed, and the noise spectrum."""
import numpy
import pytest

from neurophys import backend as B
from neurophys.blocks import softmax_cross_entropy_grad
from neurophys.gradcheck import check_gradient
from neurophys.learning.spectrum import noise_colour, psd_slope
from neurophys.learning.torch_stream import TorchCPUStream
from neurophys.blocks.activations import gelu_erf, gelu_erf_prime
from neurophys.learning.doc003 import replay_original_main
from neurophys.models.dlm import DissipativeLearningMachine, standard_network


# ------------------------------------------------------------------ PyTorch's stream
def test_torch_stream_matches_pytorch_reference_values():
    # reference values printed by PyTorch 2.13 (CPU): torch.manual_seed(42); torch.randn(20)[[0, 7, 15, 19]]
    s = TorchCPUStream(42)
    x = s.randn((20,))
    assert x[[0, 7, 15, 19]] == pytest.approx([1.9269152879714966, 1.680620551109314, 0.859858512878418,
                                               -0.6215953826904297], abs=2e-6)
    # torch.manual_seed(7); torch.randint(0, 5, (6,)); torch.empty(3).uniform_(-1, 2)
    s.manual_seed(7)
    assert s.randint(0, 5, (6,)).tolist() == [0, 2, 1, 1, 3, 2]
    assert s.rand((3,), -1, 2) == pytest.approx([-0.37874191999435425, 0.8892090916633606, 0.09594845771789551],
                                                abs=1e-6)
    with pytest.raises(ValueError, match="fewer than 16"):
        s.randn((4,))


def test_replay_of_document_003_gives_its_printed_forgetting():
    r = replay_original_main(n_spectrum=0 + 512)
    assert r["dlm"]["forgetting"] == pytest.approx(0.2467, abs=1e-3)     # document: 24.7 %
    assert r["std"]["forgetting"] == pytest.approx(0.5933, abs=1e-3)     # document: 59.3 %
    assert r["dlm"]["task2"] == 1.0 and r["std"]["task2"] == 1.0


# ------------------------------------------------------------------ gradients
def test_gelu_erf_derivative(f64):
    z = f64.standard_normal(50) * 2
    num = (gelu_erf(z + 1e-6) - gelu_erf(z - 1e-6)) / 2e-6
    assert numpy.allclose(gelu_erf_prime(z), num, atol=1e-8)
    assert gelu_erf(numpy.array([0.0]))[0] == 0.0


def _frozen_dlm(coupling):
    """A float64 DLM with no fresh noise (T = 0) but a nonzero velocity, force and currents."""
    d = DissipativeLearningMachine([5, 6, 4, 3], temperature=0.0, entropy_coupling=coupling, alpha=50.0,
                                   rng=B.rng(1))
    r = numpy.random.default_rng(2)
    for k in d.velocity:
        d.velocity[k][...] = r.standard_normal(d.velocity[k].shape)
        d.params[k][...] = r.standard_normal(d.params[k].shape) * 0.5
    d.force = [0.3, 0.2, 0.1]
    d.T = 0.5  # σ divides by T; the noise amplitude was fixed at construction via T = 0 below
    d.sigma_w = 0.0
    return d


@pytest.mark.parametrize("coupling", ["detached", "coupled"])
def test_dlm_backward_matches_central_differences(f64, coupling):
    d = _frozen_dlm(coupling)
    x, y = f64.standard_normal((7, 5)), f64.integers(0, 3, 7)
    saved = ([c.copy() for c in d.c_in], [c.copy() for c in d.c_out])

    def restore():
        d.c_in, d.c_out = [c.copy() for c in saved[0]], [c.copy() for c in saved[1]]

    def loss():
        restore()
        z = d.forward(x)
        from neurophys.blocks import softmax_cross_entropy
        ce = softmax_cross_entropy(z, y)
        return ce - d.alpha * d.entropy_production() if coupling == "coupled" else ce

    restore()
    z = d.forward(x)
    d.backward(softmax_cross_entropy_grad(z, y))
    grads = {k: v.copy() for k, v in d.grads.items()}
    for k, th in d.params.items():
        err = check_gradient(loss, th, grads[k], eps=1e-6)
        assert err < 1e-6, (coupling, k, err)


def test_entropy_coupling_changes_the_gradient(f64):
    x, y = f64.standard_normal((7, 5)), f64.integers(0, 3, 7)
    g = {}
    for coupling in ("detached", "coupled"):
        d = _frozen_dlm(coupling)
        z = d.forward(x)
        d.backward(softmax_cross_entropy_grad(z, y))
        g[coupling] = d.grads["W0"].copy()
    assert not numpy.allclose(g["detached"], g["coupled"])


# ------------------------------------------------------------------ dynamics and bookkeeping
def test_dissipation_alone_decays_the_velocity_and_books_the_energy(f64):
    d = DissipativeLearningMachine([4, 3, 2], temperature=0.0, energy_injection_rate=0.0, current_strength=0.0,
                                   dissipation_rate=0.1, rng=B.rng(0))
    d.velocity["W0"][...] = 1.0
    d.step_dynamics()
    assert numpy.allclose(d.velocity["W0"], 0.9)
    assert d.state.dissipation == pytest.approx(0.1 * 12)           # γ Σ v² before the decay
    assert d.state.energy == pytest.approx(-0.1 * 12)               # E ← E + ε dt − D with ε = 0
    assert len(d.history["energy"]) == 1


def test_thermal_noise_has_the_fluctuation_dissipation_variance():
    d = DissipativeLearningMachine([50, 40, 2], temperature=0.5, energy_injection_rate=0.0, current_strength=0.0,
                                   dissipation_rate=0.0, rng=B.rng(0))
    d.step_dynamics(dt=0.01)
    assert float(B.to_host(d.velocity["W0"]).var()) == pytest.approx(2 * 0.5 * 0.01, rel=0.1)


def test_dlm_learns_a_task_and_standard_net_uses_pytorch_init():
    from neurophys.learning.doc003 import doc003_tasks, two_task_forgetting
    (x1, y1), (x2, y2) = doc003_tasks()
    r = two_task_forgetting(DissipativeLearningMachine([20, 64, 32, 5], rng=B.rng(0)), (x1, y1), (x2, y2))
    assert r["task1_before"] > 0.9 and r["task2"] > 0.9
    net = standard_network([20, 64, 32, 5], rng=B.rng(0))
    W0 = B.to_host(net.params["W0"])
    assert abs(W0).max() <= 1 / numpy.sqrt(20) and abs(W0).max() > 0.8 / numpy.sqrt(20)


def test_bad_dlm_input_is_refused():
    with pytest.raises(ValueError, match="temperature"):
        DissipativeLearningMachine([3, 2], temperature=-0.1)
    with pytest.raises(ValueError, match="dissipation_rate"):
        DissipativeLearningMachine([3, 2], dissipation_rate=1.5)
    with pytest.raises(ValueError, match="entropy_coupling"):
        DissipativeLearningMachine([3, 2], entropy_coupling="maybe")
    d = DissipativeLearningMachine([3, 2])
    with pytest.raises(ValueError, match="shape"):
        d.forward(B.zeros((4, 5)))


# ------------------------------------------------------------------ spectra
def test_welch_slope_names_white_and_brownian_noise():
    r = numpy.random.default_rng(0)
    white = r.standard_normal(8192)
    s_white = psd_slope(white)[0]
    s_brown = psd_slope(numpy.cumsum(white))[0]
    assert abs(s_white) < 0.3 and noise_colour(s_white) == "white"
    assert -2.4 < s_brown < -1.6 and noise_colour(s_brown) == "Brownian"
    assert noise_colour(-1.0) == "pink" and noise_colour(float("nan")) == "none"
    assert numpy.isnan(psd_slope(numpy.ones(1024))[0])
    with pytest.raises(ValueError, match="too short"):
        psd_slope(white[:100])


def test_standard_network_with_the_dlm_initialisation():
    net = standard_network([20, 64, 32, 5], rng=TorchCPUStream(3), init_std=0.01)
    W0 = B.to_host(net.params["W0"])
    assert float(abs(B.to_host(net.params["b0"])).max()) == 0.0
    assert W0.std() == pytest.approx(0.01, rel=0.1)
    d = DissipativeLearningMachine([20, 64, 32, 5], rng=TorchCPUStream(3))
    assert numpy.allclose(B.to_host(d.params["W0"]), W0)      # the same draw in the same order
