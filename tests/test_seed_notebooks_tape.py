"""The user's seed notes replayed on the tape API (examples/seed_notebooks_tape.py):
the numbers the notebooks printed, and the same computations in source mode."""
import sys
from pathlib import Path

import numpy as np
import pytest

import srcdiff

sys.path.insert(0, str(Path(__file__).parent.parent / "examples"))

import seed_notebooks_tape as st  # noqa: E402

close = np.testing.assert_allclose


def test_first_example_4_5_and_the_node_names():
    r = st.cell_first_example()
    assert r["out"] == 27.0
    assert r["names"] == ("AddBackward0", "MulBackward0", "MeanBackward0")
    assert r["leaf"] == (True, False, None)
    close(r["x.grad"], np.full((2, 2), 4.5))


def test_requires_grad_flags():
    r = st.cell_requires_grad_()
    assert r["before"] == (False, False) and r["after"] == (True, True)
    assert r["b.grad_fn"] == "SumBackward0"


def test_gradients_accumulate_then_zero():
    r = st.cell_accumulation()
    close(r["first"], np.full((2, 2), 4.5))
    close(r["accumulated"], np.full((2, 2), 5.5))
    close(r["after zero_"], np.ones((2, 2)))


def doubling(x):
    y = x * 2
    while np.linalg.norm(y) < 1000:
        y = y * 2
    return y


def test_norm_doubling_gives_2_to_the_k_times_v_in_both_modes():
    r = st.cell_norm_doubling()
    v = np.array([0.1, 1.0, 0.0001])
    close(r["x.grad"], 2.0 ** r["k"] * v)
    assert np.linalg.norm(r["y"]) >= 1000 > np.linalg.norm(r["y"] / 2)
    x = np.array([0.5, -1.2, 0.3])
    for mode in ("source", "tape"):
        _, pullback = srcdiff.vjp(doubling, x, mode=mode)
        close(pullback(v)[0], r["x.grad"])


def test_sum_powers_next_functions_and_no_grad():
    r = st.cell_sum_backward()
    assert r["z.grad_fn"] == "SumBackward0"
    close(r["x.grad"], np.ones((5, 5)))
    close(r["y.grad"], np.ones((5, 5)))
    r = st.cell_powers_and_next_functions()
    close(r["x.grad"], r["expected"])
    assert r["is_leaf"] == (True, False) and r["z.grad_fn"] == "AddBackward0"
    assert r["next"] == ("PowBackward0", "PowBackward0")
    assert r["leaf node"] == "AccumulateGrad" and r["leaf is x"]
    assert r["no_grad requires_grad"] is False


def test_custom_function():
    r = st.cell_custom_function()
    assert r["name"] == "multiply_constantBackward"
    close(r["b"], 10 * r["a"])
    close(r["a.grad"], np.ones((3, 3)))


def test_defaults_integers_square_sum_and_the_jacobian_rows():
    r = st.cell_defaults_and_integers()
    assert r["before"] == (False, True) and r["after"] is True
    assert "only floating point tensors can require gradients" in r["integer"]
    close(st.cell_square_sum()["a.grad"], [2.0, 4.0, 6.0])
    r = st.cell_jacobian_rows()
    assert r["b.grad_fn"] == "CopySlices"
    close(r["b"], [3.0, 5.0, 27.0])
    close(r["rows"], [[2, 1, 0], [0, 1, 1], [0, 0, 27]])


def test_linear_layer_w1_3_w2_6_x_1_2():
    r = st.cell_linear_layer()
    close(r["l1"][0], np.full(5, 2.0))
    assert r["l1"][1] is None and r["l1"][2] == "MulBackward0"
    close(r["l2"][0], np.full(5, 6.0))
    assert r["l2"][2] == "AddBackward0"
    assert r["y"] == pytest.approx(18.0)
    assert r["w1.grad"] == pytest.approx(3.0) and r["w2.grad"] == pytest.approx(6.0)
    close(r["x.grad"], np.full(5, 1.2))


def test_view_no_grad_data_edit_detach_eq():
    close(st.cell_view_weighted()["x.grad"], [2.0, 0.2, 0.02, 0.002])
    r = st.cell_no_grad_in_expression()
    assert r["requires_grad"] == (True, True, False, True)
    assert r["y3"] == 2.0 and r["x.grad"] == 2.0
    r = st.cell_data_edit()
    assert r["x.data.requires_grad"] is False
    close(r["x"], [100.0])
    close(r["x.grad"], [2.0])
    r = st.cell_detach_and_eq()
    assert r["detached requires_grad"] is False and r["same values"]
    assert r["eq"].tolist() == [True, False, True]


def test_minibatch_sgd_finds_the_true_parameters():
    r = st.cell_linear_regression()
    true_w, true_b = r["true"]
    close(r["w"], true_w, atol=5e-3)
    assert r["b"] == pytest.approx(true_b, abs=5e-3)
    assert r["losses"][-1] < 1e-3 < r["losses"][0]


def test_the_script_runs(capsys):
    st.main()
    out = capsys.readouterr().out
    assert "rows: [[ 2.  1.  0.]" in out and "digraph srcdiff" in out
