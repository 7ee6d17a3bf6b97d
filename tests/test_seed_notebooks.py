"""The user's seed notes (PyTorch autograd tutorials 000..004) through srcdiff's source transform.

Each test runs a cell of ``examples/seed_notebooks.py``, asserts the numbers the
notebook printed (or the closed form where the notebook printed none), and
cross-checks the differentiated function with ``srcdiff.check_grad``.
"""
import sys
from pathlib import Path

import numpy as np
import pytest

import srcdiff

sys.path.insert(0, str(Path(__file__).parent.parent / "examples"))

import seed_notebooks as sn  # noqa: E402

close = np.testing.assert_allclose


# -- 000 (and the same first steps in 003, 004) -------------------------------------

def test_000_out_mean_backward_is_4_5():
    r = sn.cell_000_backward()
    close(r["out"], 27.0)
    close(r["x.grad"], np.full((2, 2), 4.5))
    close(r["x.grad"], 1.5 * (r["x"] + 2))          # d out/dx_i = 3/2 (x_i + 2)
    assert r["x.grad"].shape == (2, 2)
    srcdiff.check_grad(sn.out_mean, np.ones((2, 2)))
    srcdiff.check_grad(sn.out_mean, np.random.default_rng(0).standard_normal((2, 2)))


def test_000_requires_grad_sum_of_squares():
    r = sn.cell_000_requires_grad_()
    a0, a = r["a0"], r["a"]
    close(r["db/da"], 2 * a)
    close(r["db/da0"], 2 * a * (-3 / (a0 - 1) ** 2))
    srcdiff.check_grad(sn.sum_of_squares, a)
    srcdiff.check_grad(sn.sum_of_squares_through_map, a0)


def test_000_norm():
    r = sn.cell_000_norm()
    close(r["norm"], 2.39547083054668)               # 000 In[100]: math.sqrt(...)
    close(r["norm"], 2.3954, atol=1e-4)              # 000 In[97]: y.data.norm()
    close(r["d norm/dy"], r["y"] / 2.39547083054668)
    srcdiff.check_grad(sn.euclidean_norm, r["y"])


# -- 001 ------------------------------------------------------------------------------

def test_001_sum_x_plus_y_gives_ones():
    r = sn.cell_001_simple()
    close(r["z"], 22.1509, atol=25 * 1e-4)           # x, y were printed to 4 decimals
    close(r["x.grad"], np.ones((5, 5)))
    close(r["y.grad"], np.ones((5, 5)))
    srcdiff.check_grad(sn.sum_x_plus_y, sn.X_001, sn.Y_001, wrt=("x", "y"))


def test_001_square_plus_cube_backward_ones():
    r = sn.cell_001_complex()
    close(r["z"], r["x"] ** 2 + r["y"] ** 3)
    close(r["x.grad"], 2 * r["x"])
    close(r["y.grad"], 3 * r["y"] ** 2)
    # the x.grad the notebook printed (In[16]) from the x it printed (In[25]), 4 decimals each
    close(r["x.grad"], sn.X2_GRAD_001, atol=2e-4)
    srcdiff.check_grad(sn.square_plus_cube, r["x"], r["y"], wrt=("x", "y"))


def test_001_no_grad_is_plain_evaluation():
    r = sn.cell_001_no_grad()
    y = np.random.default_rng(1).random((5, 5))
    close(r["x + y*2"], sn.X2_001 + 2 * y)
    srcdiff.check_grad(sn.x_plus_2y, sn.X2_001, y, wrt=(0, 1))


def test_001_custom_multiply_constant():
    r = sn.cell_001_custom_function()
    close(r["b"], sn.A_001 * 10)
    # the true derivative: 10 everywhere (the notebook's hand-written backward printed 1,
    # because it returns grad_output without multiplying by the constant)
    close(r["a.grad (vjp)"], np.full((3, 3), 10.0))
    close(r["a.grad (grad of sum)"], np.full((3, 3), 10.0))
    assert r["constant.grad"] is None                # integer constant: no cotangent
    close(r["notebook a.grad"], np.ones((3, 3)))
    srcdiff.check_grad(sn.multiply_constant, sn.A_001, 10)
    srcdiff.check_grad(sn.multiply_constant_sum, sn.A_001, 10)


# -- 002 ------------------------------------------------------------------------------

def test_002_sum_a_squared():
    r = sn.cell_002_scalar_backward()
    close(r["a.grad"], [2.0, 4.0, 6.0])
    srcdiff.check_grad(sn.sum_a_squared, np.array([1.0, 2.0, 3.0]))


def test_002_integer_tensor_refused():
    r = sn.cell_002_integer_tensor()
    assert r["error"] is not None and "astype(float)" in r["error"]
    with pytest.raises(TypeError):
        srcdiff.grad(sn.sum_a_squared)(np.array([1, 2, 3]))


def test_002_jacobian():
    r = sn.cell_002_jacobian()
    expected = np.array([[2.0, 1.0, 0.0],
                         [0.0, 1.0, 1.0],
                         [0.0, 0.0, 27.0]])
    close(r["b"], [3.0, 5.0, 27.0])
    close(r["jacobian"], expected)
    assert r["jacobian"].shape == (3, 3)
    for row, want in zip(r["rows"], expected, strict=True):   # b.backward(e_i) rows
        close(row, want)
    a = np.array([1.0, 2.0, 3.0])
    srcdiff.check_grad(sn.vector_b, a)
    srcdiff.check_grad(sn.vector_b, np.array([0.3, -1.2, 0.7]))


def test_002_linear_layer():
    r = sn.cell_002_linear_layer()
    close(r["l1"], np.full(5, 2.0))
    close(r["l2"], np.full(5, 6.0))
    close(r["y"], 18.0)
    close(r["w1.grad"], 3.0)
    close(r["w2.grad"], 6.0)
    close(r["x.grad"], np.full(5, 1.2))
    assert isinstance(r["w1.grad"], float) and isinstance(r["w2.grad"], float)
    srcdiff.check_grad(sn.linear_layer, np.ones(5), 2.0, 3.0, 4.0, wrt=("x", "w1", "w2"))


# -- 003 ------------------------------------------------------------------------------

def test_003_gradients_accumulate():
    r = sn.cell_003_accumulate()
    close(r["after out.backward()"], np.full((2, 2), 4.5))
    close(r["after out2.backward()"], np.full((2, 2), 5.5))
    close(r["grad of out + out2"], np.full((2, 2), 5.5))
    close(r["after zero_() and out3.backward()"], np.ones((2, 2)))
    srcdiff.check_grad(sn.x_sum, np.ones((2, 2)))
    srcdiff.check_grad(sn.out_mean_plus_sum, np.ones((2, 2)))


def test_003_view_weighted_backward():
    r = sn.cell_003_view_backward()
    close(r["z"], [[2.0, 4.0], [6.0, 8.0]])
    close(r["x.grad"], [2.0, 0.2, 0.02, 0.002])
    srcdiff.check_grad(sn.double_view, np.array([1.0, 2.0, 3.0, 4.0]))


def test_003_no_grad_inside_expression():
    r = sn.cell_003_no_grad()
    close(r["y1"], 1.0)
    close(r["y2"], 1.0)
    close(r["y3"], 2.0)
    close(r["x.grad"], 2.0)                          # 2x at x = 1; the x**3 part is cut off
    srcdiff.check_grad(sn.y1_plus_no_grad_y2, 1.0, 1.0, wrt="x")


def test_003_edit_data_not_tracked():
    r = sn.cell_003_edit_data()
    close(r["x"], [100.0])
    close(r["y"], [2.0])
    close(r["x.grad"], [2.0])
    srcdiff.check_grad(sn.double, np.ones(1))


def test_003_linear_regression_step():
    r = sn.cell_003_linear_regression()
    X, y, w, b = r["X"], r["y"], r["w"], r["b"]
    err = X @ w + b - y
    close(r["loss"], np.mean(err ** 2 / 2))
    close(r["dL/dw"], X.T @ err / len(y))
    close(r["dL/db"], np.mean(err))
    close(r["w after step"], w - 0.03 * X.T @ err / len(y))
    srcdiff.check_grad(sn.squared_loss, w, b, X, y, wrt=("w", "b"))
    srcdiff.check_grad(sn.squared_loss, np.array([1.0, -2.0]), 0.5, X, y, wrt=("w", "b"))


# -- 004 ------------------------------------------------------------------------------

def test_004_requires_grad_propagation():
    r = sn.cell_004_propagation()
    close(r["h"], np.full((2, 2), 2.0))
    close(r["g.grad"], np.ones((2, 2)))
    srcdiff.check_grad(sn.add_f_g, np.ones((2, 2)), np.ones((2, 2)), wrt="g")


def test_004_detach():
    r = sn.cell_004_detach()
    x = r["x"]
    assert r["eq.all"] is True
    close(r["d sum(x * x.detach())/dx"], x)
    close(r["d sum(x * x)/dx"], 2 * x)
    np.testing.assert_array_equal(r["ones(3).eq([1,2,1])"], [True, False, True])
    srcdiff.check_grad(sn.x_times_detached, x, x.copy(), wrt="x")
    srcdiff.check_grad(sn.x_times_x, x)
    srcdiff.check_grad(sn.x_squared, x)


def test_examples_main_runs(capsys):
    sn.main()
    out = capsys.readouterr().out
    assert out.count("== cell_") == len(sn.CELLS)


def test_000_norm_doubling_while_loop():
    r = sn.cell_000_doubling()
    close(r["y"], [296.8064, 76.864, 3.7248], atol=1e-3)   # 000 In[97]: y * 2**7, y0 as printed
    assert r["factor"] == 256.0                              # x * 2, then 7 doublings
    close(r["x.grad"], 256.0 * np.array([0.1, 1.0, 0.0001]))
