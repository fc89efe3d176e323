"""Conv2D and MaxPool2D: forward against a plain loop, every backward against central differences."""
import numpy
import pytest

from neurophys import backend as B
from neurophys.blocks.conv import Conv2D, ConvPool2D, MaxPool2D, col2im, im2col
from neurophys.blocks.sequential import ReLU
from neurophys.gradcheck import check_gradient


def _conv_loop(x, W, b, pad):
    """The definition, one output pixel at a time."""
    N, H, Wd, C = x.shape
    F, _, k, _ = W.shape
    xp = numpy.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    Ho, Wo = H + 2 * pad - k + 1, Wd + 2 * pad - k + 1
    out = numpy.zeros((N, Ho, Wo, F))
    for y in range(Ho):
        for xx in range(Wo):
            patch = xp[:, y:y + k, xx:xx + k, :]                      # (N, k, k, C)
            out[:, y, xx, :] = numpy.einsum("nijc,fcij->nf", patch, W) + b
    return out


def assert_layer_gradients(layer, x, f64):
    """Central-difference check of a layer's backward: dL/dx, dL/dW and dL/db for L = Σ R·forward(x)."""
    R = f64.standard_normal(layer.forward(x).shape)

    def loss():
        return float((R * layer.forward(x)).sum())

    loss()
    dx = layer.backward(R)
    grads = {k_: v.copy() for k_, v in layer.grads.items()}
    assert check_gradient(loss, x, dx) < 1e-7
    assert check_gradient(loss, layer.params["W"], grads["W"]) < 1e-7
    assert check_gradient(loss, layer.params["b"], grads["b"]) < 1e-7


@pytest.mark.parametrize("c_in,c_out,k,pad", [(1, 3, 3, 1), (2, 4, 3, 1), (3, 2, 3, 0), (2, 2, 1, 0)])
def test_conv_forward_matches_the_definition(f64, c_in, c_out, k, pad):
    conv = Conv2D(c_in, c_out, k, pad, rng=B.rng(1))
    x = f64.standard_normal((2, 6, 5, c_in))
    assert numpy.allclose(conv.forward(x), _conv_loop(x, conv.params["W"], conv.params["b"], pad))


@pytest.mark.parametrize("c_in,c_out,k,pad", [(1, 3, 3, 1), (2, 4, 3, 1), (3, 2, 3, 0)])
def test_conv_backward(f64, c_in, c_out, k, pad):
    conv = Conv2D(c_in, c_out, k, pad, rng=B.rng(2))
    assert_layer_gradients(conv, f64.standard_normal((2, 5, 6, c_in)), f64)


def test_col2im_is_the_adjoint_of_im2col(f64):
    x = f64.standard_normal((2, 5, 4, 3))
    cols = im2col(x, 3, 3, 1)
    d = f64.standard_normal(cols.shape)
    assert abs((cols * d).sum() - (x * col2im(d, x.shape, 3, 3, 1)).sum()) < 1e-10


@pytest.mark.parametrize("shape", [(2, 6, 8, 3), (1, 7, 5, 2)])
def test_maxpool_forward_and_backward(f64, shape):
    pool = MaxPool2D(2)
    x = f64.standard_normal(shape)
    y = pool.forward(x)
    N, H, W, C = shape
    assert y.shape == (N, H // 2, W // 2, C)
    assert numpy.allclose(y[0, 0, 0], x[0, :2, :2].max(axis=(0, 1)))
    R = f64.standard_normal(y.shape)

    def loss():
        return float((R * pool.forward(x)).sum())

    loss()
    dx = pool.backward(R)
    assert check_gradient(loss, x, dx) < 1e-7


def test_maxpool_ties_go_to_the_first_maximum(f64):
    pool = MaxPool2D(2)
    x = numpy.zeros((1, 2, 2, 1))
    pool.forward(x)
    dx = pool.backward(numpy.ones((1, 1, 1, 1)))
    assert dx.sum() == 1.0 and dx[0, 0, 0, 0] == 1.0


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="channels last"):
        Conv2D(1, 4).forward(numpy.zeros((2, 1, 28, 28), numpy.float32))
    with pytest.raises(ValueError, match="at least"):
        MaxPool2D(4).forward(numpy.zeros((1, 3, 3, 1)))
    with pytest.raises(ValueError, match="c_in"):
        Conv2D(0, 4)
    with pytest.raises(RuntimeError, match="before forward"):
        Conv2D(1, 2).backward(numpy.zeros((1, 2, 2, 2)))


def test_maxpool_fast_path_matches_the_masked_rule_with_ties():
    """2×2 on even sizes takes the reshape path; with many ties (small integers) it must give
    exactly what the general masked rule gives (the first maximum in reading order)."""
    rng = numpy.random.default_rng(3)
    wide = rng.integers(0, 3, size=(3, 6, 8, 8)).astype(numpy.float32)
    x_fast, x_slow = numpy.ascontiguousarray(wide[..., ::2]), wide[..., ::2]   # same values, strided
    assert not x_slow.flags.c_contiguous
    dy = rng.standard_normal((3, 3, 4, 4)).astype(numpy.float32)
    fast, slow = MaxPool2D(2), MaxPool2D(2)
    assert numpy.array_equal(fast.forward(x_fast), slow.forward(x_slow))
    assert fast._h is not None and slow._h is None
    assert numpy.array_equal(fast.backward(dy), slow.backward(dy))


@pytest.mark.parametrize("n,h,w,c_in,c_out,k,pad,block", [
    (5, 6, 8, 16, 4, 3, 1, 2),     # channels-last patches, blocks of 2 images (a ragged last block)
    (3, 7, 9, 16, 3, 3, 1, 8),     # odd sizes: the last row and column of z are not pooled
    (4, 9, 7, 2, 3, 3, 1, 3),      # transposed patches (few input channels)
    (3, 8, 6, 1, 2, 3, 0, 2),      # no padding
    (2, 6, 6, 20, 3, 1, 0, 8),     # 1×1 kernel
    (2, 5, 6, 3, 2, 2, 2, 1),      # pad > kernel − 1: rows of ∂L/∂z that reach no pixel
])
@pytest.mark.parametrize("relu", [False, True])
def test_convpool_is_conv_then_maxpool(f64, n, h, w, c_in, c_out, k, pad, block, relu):
    """ConvPool2D gives Conv2D → MaxPool2D(2) (→ ReLU)'s output and gradients (same weights, float64)."""
    fused = ConvPool2D(c_in, c_out, k, pad, rng=B.rng(5), relu=relu)
    fused.block = fused.block_transposed = block
    conv, pool, act = Conv2D(c_in, c_out, k, pad), MaxPool2D(2), ReLU()
    conv.params = fused.params
    x = f64.standard_normal((n, h, w, c_in))
    y = fused.forward(x)
    y_ref = pool.forward(conv.forward(x))
    y_ref = act.forward(y_ref) if relu else y_ref
    assert numpy.allclose(y, y_ref, rtol=1e-12, atol=1e-12)
    dy = f64.standard_normal(y.shape)
    dx = fused.backward(dy)
    dx_ref = conv.backward(pool.backward(act.backward(dy) if relu else dy))
    assert numpy.allclose(dx, dx_ref, rtol=1e-12, atol=1e-12)
    for key in ("W", "b"):
        assert numpy.allclose(fused.grads[key], conv.grads[key], rtol=1e-12, atol=1e-12), key


@pytest.mark.parametrize("c_in,k,pad,relu", [(16, 3, 1, True), (2, 3, 1, True), (1, 3, 0, False)])
def test_convpool_backward(f64, c_in, k, pad, relu):
    layer = ConvPool2D(c_in, 3, k, pad, rng=B.rng(6), relu=relu)
    layer.block = layer.block_transposed = 2
    assert_layer_gradients(layer, f64.standard_normal((3, 6, 7, c_in)), f64)


def test_convpool_ties_go_to_the_first_maximum():
    """A constant image: every window ties; the gradient goes to its top-left entry, as MaxPool2D."""
    layer, conv, pool = ConvPool2D(1, 2, 1, 0), Conv2D(1, 2, 1, 0), MaxPool2D(2)
    conv.params = layer.params
    x = numpy.ones((2, 4, 6, 1), numpy.float32)
    dy = numpy.arange(1, 1 + 2 * 2 * 3 * 2, dtype=numpy.float32).reshape(2, 2, 3, 2)
    assert numpy.array_equal(layer.forward(x), pool.forward(conv.forward(x)))
    assert numpy.array_equal(layer.backward(dy), conv.backward(pool.backward(dy)))
    assert numpy.array_equal(layer.grads["W"], conv.grads["W"])
