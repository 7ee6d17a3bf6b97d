"""The user's seed notes (PyTorch autograd tutorials) replayed on srcdiff's tape API.

The notes live in ``/work/shared/seeds/000..004_*.txt``.  Each ``cell_*`` function
runs one notebook cell with ``srcdiff.tensor`` in place of ``torch.tensor`` and NumPy
in place of torch's functions, and returns what the notebook printed;
``tests/test_seed_notebooks_tape.py`` checks those numbers and ``main()`` prints them.
The same computations, written as plain NumPy functions for the source transform, are
in ``examples/seed_notebooks.py``.

Run:  .venv/bin/python examples/seed_notebooks_tape.py
"""
import numpy as np

import srcdiff
from srcdiff import Function, no_grad, tensor


def cell_first_example():
    """000 In[71]-In[69], 003, 004: y = x + 2; z = y * y * 3; out = z.mean(); backward."""
    x = tensor(np.ones((2, 2)), requires_grad=True)
    y = x + 2
    z = y * y * 3
    out = z.mean()
    names = (y.grad_fn.name(), z.grad_fn.name(), out.grad_fn.name())
    leaf = (x.is_leaf, y.is_leaf, x.grad_fn)
    out.backward()
    return {"out": out.item(), "names": names, "x.grad": x.grad.numpy().copy(), "leaf": leaf}


def cell_requires_grad_():
    """000 In[63]-In[66]: requires_grad defaults to False; requires_grad_(True) turns it on."""
    a = tensor(np.random.default_rng(0).standard_normal((2, 2)))
    b = (a * a).sum()
    before = (b.requires_grad, ((a * 3) / (a - 1)).requires_grad)
    a = (a * 3) / (a - 1)
    a.requires_grad_(True)
    b = (a * a).sum()
    return {"before": before, "after": (a.requires_grad, b.requires_grad),
            "b.grad_fn": b.grad_fn.name()}


def cell_accumulation():
    """003: gradients accumulate across backward calls (4.5 -> 5.5); zero_() resets."""
    x = tensor(np.ones((2, 2)), requires_grad=True)
    ((x + 2) * (x + 2) * 3).mean().backward()
    first = x.grad.numpy().copy()
    x.sum().backward()
    accumulated = x.grad.numpy().copy()
    x.grad.data.zero_()
    x.sum().backward()
    return {"first": first, "accumulated": accumulated, "after zero_": x.grad.numpy().copy()}


def cell_norm_doubling(x0=(0.5, -1.2, 0.3), limit=1000.0):
    """000 In[97]-In[90], 004: y = x * 2; while y.data.norm() < limit: y = y * 2; y.backward(v)."""
    x = tensor(np.array(x0), requires_grad=True)
    y = x * 2
    while y.data.norm() < limit:
        y = y * 2
    v = np.array([0.1, 1.0, 0.0001])
    y.backward(v)
    values = y.detach().numpy()
    return {"y": values, "k": int(round(np.log2(values[0] / x0[0]))), "x.grad": x.grad.numpy()}


def cell_sum_backward():
    """001 In[13]-In[14]: z = np.sum(x + y); z.backward() -> ones for both."""
    rng = np.random.default_rng(1)
    x = tensor(rng.random((5, 5)), requires_grad=True)
    y = tensor(rng.random((5, 5)), requires_grad=True)
    z = np.sum(x + y)
    z.backward()
    return {"z.grad_fn": z.grad_fn.name(), "x.grad": x.grad.numpy(), "y.grad": y.grad.numpy()}


def cell_powers_and_next_functions():
    """001 In[15]-In[26]: z = x**2 + y**3; backward(ones_like); is_leaf; next_functions."""
    rng = np.random.default_rng(2)
    x = tensor(rng.random((5, 5)), requires_grad=True)
    y = tensor(rng.random((5, 5)), requires_grad=True)
    z = x ** 2 + y ** 3
    z.backward(np.ones_like(x.detach().numpy()))
    power = z.grad_fn.next_functions[0][0]
    x_leaf = power.next_functions[0][0]
    with no_grad():
        inside = (x + y * 2).requires_grad
    return {"x.grad": x.grad.numpy(), "expected": 2 * x.detach().numpy(),
            "is_leaf": (x.is_leaf, z.is_leaf), "z.grad_fn": z.grad_fn.name(),
            "next": tuple(f.name() for f, _ in z.grad_fn.next_functions),
            "leaf node": x_leaf.name(), "leaf is x": x_leaf.variable is x,
            "no_grad requires_grad": inside}


class multiply_constant(Function):  # noqa: N801  (the notebook's name)
    """001 In[31]: a custom Function multiplying by a constant."""

    @staticmethod
    def forward(ctx, tensor, constant):
        ctx.constant = constant
        return tensor * constant

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output, None


def cell_custom_function():
    """001 In[43]-In[45]: b = multiply_constant.apply(a, 10); b.backward(ones) -> ones."""
    a = tensor(np.random.default_rng(3).random((3, 3)), requires_grad=True)
    b = multiply_constant.apply(a, 10)
    b.backward(np.ones((3, 3)))
    return {"b": b.detach().numpy(), "a": a.detach().numpy(), "name": b.grad_fn.name(),
            "a.grad": a.grad.numpy()}


def cell_defaults_and_integers():
    """002: requires_grad defaults to False; integer tensors cannot require grad."""
    a = tensor([1.0, 2.0, 3.0])
    b = tensor([4.0, 5.0, 6.0], requires_grad=True)
    before = (a.requires_grad, b.requires_grad)
    a.requires_grad_()
    try:
        tensor([1, 2, 3], requires_grad=True)
        refused = None
    except RuntimeError as exc:
        refused = str(exc)
    return {"before": before, "after": a.requires_grad, "integer": refused}


def cell_square_sum():
    """002: c = (a ** 2).sum(); c.backward() -> a.grad = [2, 4, 6]."""
    a = tensor([1.0, 2.0, 3.0], requires_grad=True)
    c = (a ** 2).sum()
    c.backward()
    return {"a.grad": a.grad.numpy()}


def cell_jacobian_rows():
    """002: b = zeros(3); b[i] = ...; backward(e_i, retain_graph=True) row by row."""
    a = tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = tensor(np.zeros(3))
    b[0] = a[0] ** 2 + a[1]
    b[1] = a[1] + a[2]
    b[2] = a[2] ** 3
    rows = []
    for e in np.eye(3):
        b.backward(e, retain_graph=True)
        rows.append(a.grad.numpy().copy())
        a.grad.zero_()
    return {"b": b.detach().numpy(), "b.grad_fn": b.grad_fn.name(), "rows": np.array(rows)}


def cell_linear_layer():
    """002: l1 = x * w1; l2 = l1 + b; l3 = l2 * w2; y = l3.mean(); y.backward()."""
    x = tensor(np.ones(5), requires_grad=True)
    w1 = tensor(2.0, requires_grad=True)
    w2 = tensor(3.0, requires_grad=True)
    b = tensor(4.0, requires_grad=False)
    l1 = x * w1
    l2 = l1 + b
    l3 = l2 * w2
    y = l3.mean()
    y.backward()
    return {"l1": (l1.data.numpy(), l1.grad, l1.grad_fn.name()),
            "l2": (l2.data.numpy(), l2.grad, l2.grad_fn.name()), "y": y.item(),
            "w1.grad": w1.grad.item(), "w2.grad": w2.grad.item(), "x.grad": x.grad.numpy()}


def cell_view_weighted():
    """003: z = (2 * x).view(2, 2); z.backward(v) -> [2, 0.2, 0.02, 0.002]."""
    x = tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    z = (2 * x).view(2, 2)
    z.backward(np.array([[1.0, 0.1], [0.01, 0.001]]))
    return {"z": z.detach().numpy(), "x.grad": x.grad.numpy()}


def cell_no_grad_in_expression():
    """003: y1 = x ** 2; with no_grad: y2 = x ** 3; y3 = y1 + y2 -> x.grad = 2."""
    x = tensor(1.0, requires_grad=True)
    y1 = x ** 2
    with no_grad():
        y2 = x ** 3
    y3 = y1 + y2
    flags = (x.requires_grad, y1.requires_grad, y2.requires_grad, y3.requires_grad)
    y3.backward()
    return {"requires_grad": flags, "y3": y3.item(), "x.grad": x.grad.item()}


def cell_data_edit():
    """003: y = 2 * x; x.data *= 100 (not recorded); y.backward() -> x = 100, x.grad = 2."""
    x = tensor(np.ones(1), requires_grad=True)
    data_flag = x.data.requires_grad
    y = 2 * x
    x.data *= 100
    y.backward()
    return {"x.data.requires_grad": data_flag, "x": x.detach().numpy(), "x.grad": x.grad.numpy()}


def cell_detach_and_eq():
    """004: detach() gives the values without the graph; eq compares elementwise."""
    x = tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = x * 2
    d = y.detach()
    return {"detached requires_grad": d.requires_grad, "same values": bool(np.all((d == y).numpy())),
            "eq": x.eq(tensor([1.0, 0.0, 3.0])).numpy()}


def cell_linear_regression(epochs=3, batch_size=10, lr=0.03, seed=0):
    """003 (the text around the cells): linear regression trained by minibatch SGD."""
    rng = np.random.default_rng(seed)
    true_w, true_b = np.array([2.0, -3.4]), 4.2
    features = rng.standard_normal((1000, 2))
    labels = features @ true_w + true_b + rng.normal(0, 0.01, 1000)
    w = tensor(rng.normal(0, 0.01, 2), requires_grad=True)
    b = tensor(0.0, requires_grad=True)
    losses = []
    for _ in range(epochs):
        order = rng.permutation(len(features))
        for start in range(0, len(features), batch_size):
            idx = order[start:start + batch_size]
            err = features[idx] @ w + b - labels[idx]
            loss = (err * err / 2).sum()
            loss.backward()
            with no_grad():                      # sgd: param -= lr * grad / batch_size
                w.data -= lr * w.grad.numpy() / batch_size
                b.data -= lr * b.grad.numpy() / batch_size
            w.grad.zero_()
            b.grad.zero_()
        with no_grad():
            err = features @ w + b - labels
            losses.append(float((err * err / 2).mean().item()))
    return {"w": w.detach().numpy(), "b": b.item(), "losses": losses,
            "true": (true_w, true_b)}


CELLS = [cell_first_example, cell_requires_grad_, cell_accumulation, cell_norm_doubling,
         cell_sum_backward, cell_powers_and_next_functions, cell_custom_function,
         cell_defaults_and_integers, cell_square_sum, cell_jacobian_rows, cell_linear_layer,
         cell_view_weighted, cell_no_grad_in_expression, cell_data_edit, cell_detach_and_eq,
         cell_linear_regression]


def main():
    np.set_printoptions(precision=4, suppress=True)
    for cell in CELLS:
        print(f"== {cell.__name__}: {cell.__doc__.splitlines()[0]}")
        for key, value in cell().items():
            print(f"   {key}: {value}")
    x = tensor(np.ones((2, 2)), requires_grad=True)
    print("== the graph of ((x + 2) * (x + 2) * 3).mean() as Graphviz DOT:")
    print(srcdiff.to_dot(((x + 2) * (x + 2) * 3).mean()))


if __name__ == "__main__":
    main()
