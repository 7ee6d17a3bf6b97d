"""The user's seed notes (PyTorch autograd tutorials), rewritten as plain NumPy + srcdiff.

The notes live in ``/work/shared/seeds/000..004_*.txt``.  Every straight-line
computation in them is a small ``def`` below, differentiated by srcdiff's source
transform; ``cell_*`` functions run one notebook cell each and return what the
notebook printed (``tests/test_seed_notebooks.py`` checks those numbers), and
``main()`` prints them next to the notebook's output.

How the PyTorch idioms map onto srcdiff:

* ``out.backward(); x.grad``            -> ``srcdiff.grad(f)(x)`` (``f`` returns a scalar)
* ``y.backward(v); x.grad``              -> ``y, pullback = srcdiff.vjp(f, x); pullback(v)``
* ``requires_grad=False`` / ``no_grad``  -> the value is an argument left out of ``wrt``
  (or simply computed outside the differentiated function)
* ``x.detach()``                         -> the same value passed as a separate argument
  that is not differentiated
* gradient accumulation in ``x.grad``    -> adding the gradients of the calls (srcdiff
  returns fresh arrays; there is no ``.grad`` slot to accumulate into)

The tape itself -- ``requires_grad`` flags, ``grad_fn`` names, ``is_leaf``,
``next_functions`` down to ``AccumulateGrad.variable``, ``retain_graph``,
``grad.zero_()``, ``.data`` edits, custom ``Function`` -- is replayed cell by cell in
``examples/seed_notebooks_tape.py``.

Run:  SRCDIFF_CACHE_DIR=/tmp/sd-ex .venv/bin/python examples/seed_notebooks.py
"""
import numpy as np

import srcdiff

# ---------------------------------------------------------------------------------
# 000 (Chinese), also 003 (first part) and 004 In[2]-In[11]: the tutorial's first example
# ---------------------------------------------------------------------------------


def out_mean(x):
    # 000 In[73]-In[74] (004 In[3]-In[4], 003): y = x + 2; z = y * y * 3; out = z.mean()
    y = x + 2
    z = y * y * 3
    out = z.mean()
    return out


def cell_000_backward():
    # 000 In[68]-In[69] (004 In[10]-In[11]): out.backward(); print(x.grad) -> 4.5 everywhere
    x = np.ones((2, 2))
    out, g = srcdiff.value_and_grad(out_mean)(x)
    return {"x": x, "out": out, "x.grad": g}


def sum_of_squares(a):
    # 000 In[66] (003, 004 In[7]): b = (a * a).sum(), after a.requires_grad_(True)
    b = (a * a).sum()
    return b


def sum_of_squares_through_map(a0):
    # 000 In[63]-In[66] as one computation from the random a0: a = (a0 * 3) / (a0 - 1),
    # b = (a * a).sum().  (In the notebook a only starts requiring grad after the map,
    # so its b.grad_fn tracks sum_of_squares above; this is the whole chain from a0.)
    a = (a0 * 3) / (a0 - 1)
    b = (a * a).sum()
    return b


def cell_000_requires_grad_():
    # 000 In[63]-In[66]: a = randn(2, 2); a = (a * 3) / (a - 1); b = (a * a).sum()
    # (the notebook printed only requires_grad/grad_fn; srcdiff gives the gradients)
    rng = np.random.default_rng(0)
    a0 = rng.standard_normal((2, 2))
    a = (a0 * 3) / (a0 - 1)
    return {"a0": a0, "a": a,
            "db/da": srcdiff.grad(sum_of_squares)(a),                  # 2 a
            "db/da0": srcdiff.grad(sum_of_squares_through_map)(a0)}    # 2 a * -3 / (a0 - 1)^2


def euclidean_norm(y):
    # 000 In[97] / In[99]-In[100]: y.data.norm() = sqrt(2.3188^2 + 0.6005^2 + 0.0291^2)
    return np.linalg.norm(y)


def norm_doubling(x, limit):
    # 000 In[97] (limit 200) and 004 (limit 1000): double y until its norm reaches the limit
    y = x * 2
    while np.linalg.norm(y) < limit:
        y = y * 2
    return y


def cell_000_doubling():
    # 000 In[97]/In[90]: y.backward(v) gives x.grad = v * dy/dx, dy/dx = 2**(k+1) for k
    # doublings (the notebook's printed x.grad comes from an earlier run, In[90] < In[97])
    x = np.array([2.3188, 0.6005, 0.0291]) / 2
    v = np.array([0.1, 1.0, 0.0001])
    y, pullback = srcdiff.vjp(norm_doubling, x, 200.0)
    (gx, _) = pullback(v)
    return {"y": y, "x.grad": gx, "factor": y[0] / x[0]}


def cell_000_norm():
    # 000 In[97]: the first y = x * 2 and its norm, printed 2.3954 (math.sqrt gave 2.39547...).
    # The while loop that follows in the notebook comes later (see the module docstring).
    y = np.array([2.3188, 0.6005, 0.0291])
    n, g = srcdiff.value_and_grad(euclidean_norm)(y)
    return {"y": y, "norm": n, "d norm/dy": g}                          # y / |y|


# ---------------------------------------------------------------------------------
# 001 (Chinese)
# ---------------------------------------------------------------------------------

# 001 In[11], In[12]: the random x and y as printed (4 decimals)
X_001 = np.array([[0.6785, 0.1919, 0.0307, 0.2727, 0.4486],
                  [0.3654, 0.5688, 0.9150, 0.6269, 0.6342],
                  [0.4012, 0.3717, 0.2529, 0.4015, 0.5810],
                  [0.4832, 0.5578, 0.4277, 0.3126, 0.0900],
                  [0.0181, 0.1942, 0.0771, 0.1902, 0.9574]])
Y_001 = np.array([[0.9098, 0.0248, 0.6536, 0.8393, 0.3882],
                  [0.1530, 0.5491, 0.7289, 0.5686, 0.3375],
                  [0.5602, 0.0492, 0.5248, 0.9065, 0.0698],
                  [0.8553, 0.1482, 0.0195, 0.9226, 0.0363],
                  [0.3050, 0.6684, 0.5409, 0.4646, 0.8773]])


def sum_x_plus_y(x, y):
    # 001 In[13]: z = torch.sum(x + y)
    z = np.sum(x + y)
    return z


def cell_001_simple():
    # 001 In[13]-In[14]: z = 22.1509; z.backward(); x.grad and y.grad are all ones
    z, (gx, gy) = srcdiff.value_and_grad(sum_x_plus_y, wrt=("x", "y"))(X_001, Y_001)
    return {"z": z, "x.grad": gx, "y.grad": gy}


# 001 In[25]: the second random x, printed as x_leaf.variable (In[26] shows it is x)
X2_001 = np.array([[0.3629, 0.1401, 0.1108, 0.0687, 0.4790],
                   [0.3555, 0.9314, 0.1125, 0.3545, 0.5095],
                   [0.4291, 0.1460, 0.0566, 0.1093, 0.7174],
                   [0.9816, 0.0143, 0.2283, 0.9899, 0.1751],
                   [0.0438, 0.8197, 0.4603, 0.8656, 0.3532]])
# 001 In[16]: the x.grad it printed after z.backward(torch.ones_like(x))
X2_GRAD_001 = np.array([[0.7259, 0.2803, 0.2216, 0.1373, 0.9580],
                        [0.7110, 1.8629, 0.2250, 0.7091, 1.0190],
                        [0.8581, 0.2920, 0.1131, 0.2187, 1.4349],
                        [1.9631, 0.0286, 0.4567, 1.9799, 0.3502],
                        [0.0877, 1.6394, 0.9206, 1.7313, 0.7065]])


def square_plus_cube(x, y):
    # 001 In[15]: z = x**2 + y**3 (a 5x5 array, not a scalar)
    z = x**2 + y**3
    return z


def cell_001_complex():
    # 001 In[15]-In[16]: z.backward(torch.ones_like(x)); print(x.grad) -> 2x.  y is not
    # printed in the notes, so a fixed random y stands in (its cotangent is 3 y^2).
    y = np.random.default_rng(1).random((5, 5))
    z, pullback = srcdiff.vjp(square_plus_cube, X2_001, y)
    gx, gy = pullback(np.ones_like(z))
    return {"x": X2_001, "y": y, "z": z, "x.grad": gx, "y.grad": gy}


def x_plus_2y(x, y):
    # 001 In[17]: with torch.no_grad(): (x + y*2).requires_grad -> False
    return x + y * 2


def cell_001_no_grad():
    # 001 In[17]: under no_grad nothing is recorded.  With srcdiff the analogue is just
    # calling the plain function: no adjoint is built unless grad/vjp is asked for.
    y = np.random.default_rng(1).random((5, 5))
    return {"x + y*2": x_plus_2y(X2_001, y)}


def multiply_constant(tensor, constant):
    # 001 In[31]: the custom autograd Function multiply_constant, forward = tensor * constant.
    # With srcdiff there is no backward to write: the rule for * gives it.
    return tensor * constant


def multiply_constant_sum(tensor, constant):
    # multiply_constant reduced to a scalar, for srcdiff.grad
    return np.sum(tensor * constant)


# 001 In[43]: the random a as printed
A_001 = np.array([[0.8931, 0.3621, 0.6383],
                  [0.6624, 0.3681, 0.3817],
                  [0.9445, 0.0179, 0.1047]])


def cell_001_custom_function():
    # 001 In[43]-In[45]: b = multiply_constant.apply(a, 10); b.backward(ones_like(a)); a.grad
    # NOTE: the notebook printed a.grad = ones because its hand-written backward returns
    # grad_output unchanged (it forgets to multiply by ctx.constant).  The true derivative
    # of a * 10 is 10, which is what srcdiff gives.  As in the notebook, the integer
    # constant gets no cotangent (None), like the backward's second return value.
    b, pullback = srcdiff.vjp(multiply_constant, A_001, 10)
    ga, gc = pullback(np.ones_like(b))
    g_sum = srcdiff.grad(multiply_constant_sum)(A_001, 10)
    return {"a": A_001, "b": b, "a.grad (vjp)": ga, "constant.grad": gc,
            "a.grad (grad of sum)": g_sum, "notebook a.grad": np.ones((3, 3))}


# ---------------------------------------------------------------------------------
# 002 (Chinese)
# ---------------------------------------------------------------------------------


def sum_a_squared(a):
    # 002 "反向传播" cell: b = a**2; c = b.sum(); c.backward(); a.grad -> [2, 4, 6]
    b = a**2
    c = b.sum()
    return c


def cell_002_scalar_backward():
    a = np.array([1.0, 2.0, 3.0])
    return {"a": a, "a.grad": srcdiff.grad(sum_a_squared)(a)}


def cell_002_integer_tensor():
    # 002: a = torch.tensor([1,2,3], requires_grad=True) fails: only floats have gradients.
    # srcdiff refuses integer inputs the same way (a TypeError saying to use astype(float)).
    try:
        srcdiff.grad(sum_a_squared)(np.array([1, 2, 3]))
    except TypeError as e:
        return {"error": str(e)}
    return {"error": None}


def vector_b(a):
    # 002 Jacobian cell, written as the notebook writes it: b[i] = ... into zeros(3)
    b = np.zeros(3)
    b[0] = a[0] ** 2 + a[1]
    b[1] = a[1] + a[2]
    b[2] = a[2] ** 3
    return b


def cell_002_jacobian():
    # 002 Jacobian cell: b.backward(e_i, retain_graph=True); print(a.grad); a.grad.zero_()
    # for i = 0, 1, 2 prints the rows [2,1,0], [0,1,1], [0,0,27].  srcdiff.jacobian gives
    # the matrix J[i, j] = d b_i / d a_j in one call; vjp with e_i gives the rows one by one
    # (each pullback returns a fresh array, so there is nothing to zero_()).  The notes'
    # LaTeX matrix is the transpose (d b_j / d a_i).
    a = np.array([1.0, 2.0, 3.0])
    J = srcdiff.jacobian(vector_b)(a)
    b, pullback = srcdiff.vjp(vector_b, a)
    rows = [pullback(e)[0] for e in np.eye(3)]
    return {"b": b, "jacobian": J, "rows": rows}


def linear_layer(x, w1, w2, b):
    # 002 "一个反向传播的例子": l1 = x * w1; l2 = l1 + b; l3 = l2 * w2; y = l3.mean()
    # (b has requires_grad=False: it is left out of wrt)
    l1 = x * w1
    l2 = l1 + b
    l3 = l2 * w2
    y = l3.mean()
    return y


def cell_002_linear_layer():
    # y = 18; w1.grad = 3, w2.grad = 6, x.grad = [1.2] * 5
    x, w1, w2, b = np.ones(5), 2.0, 3.0, 4.0
    y, (gx, gw1, gw2) = srcdiff.value_and_grad(linear_layer, wrt=("x", "w1", "w2"))(x, w1, w2, b)
    return {"l1": x * w1, "l2": x * w1 + b, "y": y, "w1.grad": gw1, "w2.grad": gw2, "x.grad": gx}


# ---------------------------------------------------------------------------------
# 003 (Chinese, "動手學深度學習 2.2 autograd")
# ---------------------------------------------------------------------------------


def x_sum(x):
    # 003: out2 = x.sum() (and out3 = x.sum())
    return x.sum()


def out_mean_plus_sum(x):
    # 003: both backward calls' outputs in one function; by linearity its gradient is the
    # accumulated x.grad
    y = x + 2
    z = y * y * 3
    return z.mean() + x.sum()


def cell_003_accumulate():
    # 003: out.backward() -> x.grad = 4.5; out2 = x.sum(); out2.backward() -> x.grad = 5.5
    # (PyTorch adds the new gradient into x.grad); x.grad.data.zero_(); out3.backward() -> 1.
    # srcdiff has no .grad slot: accumulation is adding the gradients of the two calls.
    x = np.ones((2, 2))
    g_out = srcdiff.grad(out_mean)(x)
    g_out2 = srcdiff.grad(x_sum)(x)
    accumulated = g_out + g_out2                 # x.grad after out.backward(); out2.backward()
    g_out3 = srcdiff.grad(x_sum)(x)              # after x.grad.data.zero_(); out3.backward()
    return {"after out.backward()": g_out, "after out2.backward()": accumulated,
            "grad of out + out2": srcdiff.grad(out_mean_plus_sum)(x),
            "after zero_() and out3.backward()": g_out3}


def double_view(x):
    # 003: y = 2 * x; z = y.view(2, 2)  (NumPy's reshape is torch's view)
    y = 2 * x
    z = y.reshape(2, 2)
    return z


def cell_003_view_backward():
    # 003: z.backward(v) with v = [[1, 0.1], [0.01, 0.001]] -> x.grad = [2, 0.2, 0.02, 0.002]
    # (the gradient of l = sum(z * v), as the notes say)
    x = np.array([1.0, 2.0, 3.0, 4.0])
    v = np.array([[1.0, 0.1], [0.01, 0.001]])
    z, pullback = srcdiff.vjp(double_view, x)
    (gx,) = pullback(v)
    return {"z": z, "x.grad": gx}


def y1_plus_no_grad_y2(x, y2):
    # 003: y1 = x ** 2; with torch.no_grad(): y2 = x ** 3; y3 = y1 + y2.
    # y2 was computed without tracking, so it is passed in as a separate argument and
    # left out of wrt.
    y1 = x**2
    y3 = y1 + y2
    return y3


def cell_003_no_grad():
    # 003: y3 = 2; y3.backward(); x.grad = 2 (only y1 = x**2 contributes; x**3 would add 3)
    x = 1.0
    y2 = x**3                                    # the no_grad part, computed outside
    y3, gx = srcdiff.value_and_grad(y1_plus_no_grad_y2, wrt="x")(x, y2)
    return {"y1": x**2, "y2": y2, "y3": y3, "x.grad": gx}


def double(x):
    # 003: y = 2 * x
    return 2 * x


def cell_003_edit_data():
    # 003: x = ones(1); y = 2 * x; x.data *= 100; y.backward(); x -> [100], x.grad -> [2]
    # The edit happens after the forward pass and is not seen by the gradient.
    x = np.ones(1)
    y, pullback = srcdiff.vjp(double, x)
    x *= 100                                     # the untracked x.data *= 100
    (gx,) = pullback(np.ones(1))                 # y.backward() of the one-element y
    return {"x": x, "y": y, "x.grad": gx}


def squared_loss(w, b, X, y):
    # 003, the prose around the code (linear regression trained with minibatch SGD):
    # price = w_area * area + w_age * age + b, loss = mean of (y_hat - y)^2 / 2
    y_hat = X @ w + b
    return ((y_hat - y) ** 2 / 2).mean()


def cell_003_linear_regression():
    # One minibatch SGD step: (w, b) -= lr * gradient.  No printed numbers in the notes; the
    # closed form is  dL/dw = X^T (y_hat - y) / n,  dL/db = mean(y_hat - y).
    rng = np.random.default_rng(2)
    X = rng.standard_normal((10, 2))
    y = X @ np.array([2.0, -3.4]) + 4.2
    w, b, lr = np.zeros(2), 0.0, 0.03
    loss, (gw, gb) = srcdiff.value_and_grad(squared_loss, wrt=("w", "b"))(w, b, X, y)
    return {"X": X, "y": y, "w": w, "b": b, "loss": loss, "dL/dw": gw, "dL/db": gb,
            "w after step": w - lr * gw, "b after step": b - lr * gb}


# ---------------------------------------------------------------------------------
# 004 (Japanese); In[2]-In[11] repeat 000 (cell_000_backward, out_mean)
# ---------------------------------------------------------------------------------


def add_f_g(f, g):
    # 004 In[8]: h = f + g with f = ones (requires_grad False), g = ones (requires_grad True)
    h = f + g
    return h


def cell_004_propagation():
    # 004 In[8]: h requires grad because g does.  vjp returns a cotangent for every float
    # argument; PyTorch would keep only g's (f does not require grad).
    f, g = np.ones((2, 2)), np.ones((2, 2))
    h, pullback = srcdiff.vjp(add_f_g, f, g)
    _, gg = pullback(np.ones_like(h))
    return {"h": h, "g.grad": gg}


def x_squared(x):
    # 004 In[14]: (x ** 2), whose requires_grad is False under no_grad
    return x**2


def x_times_detached(x, x_detached):
    # 004 In[15]: y = x.detach() is the same values without tracking.  Using it in a
    # product: d/dx sum(x * x.detach()) = x.detach() = x, not 2x.
    return np.sum(x * x_detached)


def x_times_x(x):
    # 004 In[15], for comparison: without detach, d/dx sum(x * x) = 2x
    return np.sum(x * x)


def cell_004_detach():
    # 004 In[15]: x.eq(y).all() -> True; In[16]: ones(3).eq([1, 2, 1]) -> [True, False, True]
    x = np.random.default_rng(3).standard_normal(3)
    y = x.copy()                                 # x.detach(): same values, not differentiated
    return {"x": x, "eq.all": bool(np.equal(x, y).all()),
            "d sum(x * x.detach())/dx": srcdiff.grad(x_times_detached, wrt="x")(x, y),
            "d sum(x * x)/dx": srcdiff.grad(x_times_x)(x),
            "ones(3).eq([1,2,1])": np.equal(np.ones(3), np.array([1, 2, 1]))}


CELLS = [cell_000_doubling, cell_000_backward, cell_000_requires_grad_, cell_000_norm,
         cell_001_simple, cell_001_complex, cell_001_no_grad, cell_001_custom_function,
         cell_002_scalar_backward, cell_002_integer_tensor, cell_002_jacobian,
         cell_002_linear_layer,
         cell_003_accumulate, cell_003_view_backward, cell_003_no_grad, cell_003_edit_data,
         cell_003_linear_regression,
         cell_004_propagation, cell_004_detach]


def main():
    np.set_printoptions(precision=4, suppress=True)
    for cell in CELLS:
        print(f"== {cell.__name__}")
        for key, value in cell().items():
            if isinstance(value, np.ndarray):
                text = np.array2string(value, prefix=" " * 4)
            else:
                text = repr(value)
            if "\n" in text:
                print(f"  {key} =\n    {text}")
            else:
                print(f"  {key} = {text}")


if __name__ == "__main__":
    main()
