"""The tape's PyTorch-named API: tensors, the graph, backward, no_grad, in-place writes,
custom Functions, the picture of the graph, and every error it raises on purpose."""
import shutil
import sys

import numpy as np
import pytest

import srcdiff
from srcdiff import Function, UnsupportedError, no_grad, tensor

close = np.testing.assert_allclose


def leaf(values):
    return tensor(np.array(values, dtype=float), requires_grad=True)


def test_operators_against_closed_forms():
    x, y = leaf([1.0, 2.0]), leaf([3.0, 5.0])
    m = np.array([[1.0, 2.0], [3.0, 4.0]])
    out = ((x + y) * (x - y) / y + x ** 3 - (-x) @ y + (m @ x).sum() + 2.0 / x).sum()
    out.backward()
    xv, yv = x.detach().numpy(), y.detach().numpy()
    # the two scalars (-x) @ y and (m @ x).sum() are broadcast over both elements, then summed
    close(x.grad.numpy(), 2 * xv / yv + 3 * xv ** 2 + 2 * yv + 2 * m.sum(axis=0) - 2.0 / xv ** 2)
    close(y.grad.numpy(), -xv ** 2 / yv ** 2 - 1.0 + 2 * xv)


def test_numpy_functions_and_ufuncs_are_recorded():
    x = leaf([0.3, 0.6, 0.9])
    out = np.sum(np.sin(x) * np.exp(x)) + np.mean(np.stack([x, x * 2])) + np.linalg.norm(x)
    assert out.grad_fn.name() == "AddBackward0"
    out.backward()
    xv = x.detach().numpy()
    close(x.grad.numpy(), np.exp(xv) * (np.sin(xv) + np.cos(xv)) + 3 / 6 + xv / np.linalg.norm(xv))


def test_methods():
    x = leaf(np.arange(1.0, 7.0))
    z = x.view(2, 3).T.reshape(6) * x
    assert z.shape == (6,) and x.view(3, 2).shape == (3, 2)
    assert x.norm().item() == pytest.approx(np.linalg.norm(np.arange(1.0, 7.0)))
    (z.sum() + x.mean() * 6).backward()
    xv = np.arange(1.0, 7.0)
    close(x.grad.numpy(), xv.reshape(2, 3).T.reshape(6) + xv.reshape(3, 2).T.reshape(6) + 1.0)
    assert x.sum(dim=0).item() == 21.0 and x.size() == (6,) and x.size == 6


def test_comparisons_and_eq_carry_no_gradient():
    x = leaf([1.0, 2.0, 3.0])
    for result in (x > 1.5, x == 2.0, x.eq(tensor([1.0, 0.0, 3.0])), x <= x):
        assert not result.requires_grad and result.grad_fn is None
    assert (x.eq(tensor([1.0, 0.0, 3.0]))).tolist() == [True, False, True]


def test_indexing_and_writes_are_recorded():
    a = leaf([1.0, 2.0, 3.0])
    b = tensor(np.zeros(4))
    b[1:3] = a[[0, 0]] * a[2]
    b[3] = a.sum()
    assert b.grad_fn.name() == "CopySlices" and not b.is_leaf
    b.backward(np.array([10.0, 1.0, 2.0, 1.0]))
    close(a.grad.numpy(), [(1 + 2) * 3 + 1, 1, (1 + 2) * 1 + 1])


def test_gradients_accumulate_into_the_same_tensor():
    x = leaf([1.0, 2.0])
    (x * x).sum().backward()
    g = x.grad
    (x * 3).sum().backward()
    assert x.grad is g
    close(g.numpy(), [5.0, 7.0])
    g.zero_()
    close(x.grad.numpy(), [0.0, 0.0])


def test_backward_errors_and_retain_graph():
    x = leaf([1.0, 2.0])
    y = x * x
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        y.backward()
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        y.backward(np.ones(3))
    y.backward(np.ones(2), retain_graph=True)
    y.backward(np.ones(2))
    close(x.grad.numpy(), [4.0, 8.0])
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward(np.ones(2))
    with pytest.raises(RuntimeError, match="does not require grad"):
        tensor([1.0]).sum().backward()


def test_no_grad_as_context_and_decorator_detach_and_data():
    x = leaf([1.0, 2.0])

    @no_grad()
    def doubled(t):
        return t * 2

    assert not doubled(x).requires_grad and srcdiff.is_grad_enabled()
    d = x.detach()
    assert not d.requires_grad and np.shares_memory(d.numpy(), x.data.numpy())
    x.data[0] = 10.0                        # an untracked edit of the values
    assert x.detach().numpy()[0] == 10.0 and x.requires_grad


def test_requires_grad_rules():
    with pytest.raises(RuntimeError, match="only floating point tensors can require gradients"):
        tensor([1, 2, 3], requires_grad=True)
    y = leaf([1.0]) * 2
    with pytest.raises(RuntimeError, match="only change requires_grad flags of leaf variables"):
        y.requires_grad_(False)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad is being used in an in-place"):
        x = leaf([1.0, 2.0])
        x[0] = 3.0


def test_in_place_changes_of_saved_values_are_caught():
    a = leaf([1.0, 2.0])
    h = a * 2
    p = h * h                                  # saves h
    h[0] = 0.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        p.sum().backward()
    b = leaf([1.0, 2.0])
    s = b * 2
    s *= 3                                    # multiply reads 3, not s: nothing to catch
    s.sum().backward()
    close(b.grad.numpy(), [6.0, 6.0])


def test_writes_through_views_are_refused_not_ignored():
    d = leaf([1.0, 2.0, 3.0]) * 1.0
    row = d[0:2]                              # a view of d's memory
    d[0] = 5.0
    with pytest.raises(RuntimeError, match="changed in place through a view"):
        row * 2


def test_plain_arrays_are_read_as_they_were():
    buf = np.array([1.0, 2.0])
    x = leaf([3.0, 4.0])
    y = (x * buf).sum()
    buf[:] = 100.0                             # after the multiply: not what it read
    y.backward()
    close(x.grad.numpy(), [1.0, 2.0])


def test_numpy_conversions_that_would_drop_the_path_raise():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="Can't call numpy"):
        x.numpy()
    with pytest.raises(RuntimeError, match="turned into a NumPy array"):
        np.asarray(x)
    with pytest.raises(RuntimeError, match="turned into a NumPy array"):
        np.array([x[0], x[1]])
    with pytest.raises(ValueError) as info:
        b = np.zeros(2)
        b[0] = x[0]
    assert "float() of a tensor that requires grad" in str(info.value.__cause__)
    assert x.detach().numpy().tolist() == [1.0, 2.0] and x[1].item() == 2.0


def test_functions_without_a_rule_raise_at_the_users_line():
    x = leaf([1.0, 2.0])
    with pytest.raises(UnsupportedError, match=r"test_tape.py:\d+:\d+: unsupported call to `np.sinc` "
                       "on a differentiable value"):
        np.sinc(x)
    assert np.sinc(tensor([0.5])).item() == pytest.approx(np.sinc(0.5))   # no grad: fine


class Cube(Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x ** 3 * scale

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x ** 2 * ctx.scale, None


class TooFew(Function):
    @staticmethod
    def forward(ctx, x, y):
        return x * y

    @staticmethod
    def backward(ctx, g):
        return (g,)


def test_custom_function():
    x = leaf([1.0, 2.0])
    y = Cube.apply(x, 2.0)
    assert y.grad_fn.name() == "CubeBackward"
    assert y.grad_fn.next_functions[0][0].variable is x
    y.sum().backward()
    close(x.grad.numpy(), [6.0, 24.0])
    with pytest.raises(RuntimeError, match="returned 1 gradients"):
        TooFew.apply(leaf([1.0]), leaf([2.0])).sum().backward()


def test_long_loops_backward_without_recursion():
    x = tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0000001
    y.backward()
    assert x.grad.item() == pytest.approx(1.0000001 ** 100_000)
    assert sys.getrecursionlimit() < 100_000


def test_backward_frees_what_it_kept():
    x = leaf([1.0, 2.0])
    y = np.exp(x)
    node = y.grad_fn
    y.sum().backward()
    assert node.freed and node.ans is None


def test_graph_as_dot():
    x = leaf([1.0, 2.0])
    dot = srcdiff.to_dot((x * 2).sum())
    assert 'label="SumBackward0\\n()"' in dot and 'label="MulBackward0\\n(2,)"' in dot
    assert 'label="AccumulateGrad\\nleaf (2,)"' in dot and dot.count("->") == 3


def test_render_graph(tmp_path):
    x = leaf([1.0, 2.0])
    if shutil.which("dot") is None:
        with pytest.raises(RuntimeError, match="Graphviz's `dot` command is not installed"):
            srcdiff.render_graph(x.sum(), tmp_path / "g.png")
    else:
        path = srcdiff.render_graph(x.sum(), tmp_path / "g.png")
        assert path.stat().st_size > 0
