"""Workload 4: the seed notebooks' norm-doubling ``while`` loop, its VJP on a 3-vector.

Per-call overhead is the point: ``vjp`` (the forward pass) and ``pullback(v)`` (the
backward pass), both timed together.  JAX cannot compile the data-dependent Python
``while`` under ``jit``, and reverse mode through ``lax.while_loop`` is refused, so its
row is eager JAX on the natural loop.
"""
import numpy as np

from .harness import Built, Case
from .peers import need_autograd, need_jax, need_torch, srcdiff_vjp_built

X = np.array([0.5, -1.2, 0.3])
V = np.array([0.1, 1.0, 0.0001])


def doubling(x):
    y = x * 2
    while np.linalg.norm(y) < 1000:
        y = y * 2
    return y


def _numba_functions():
    import numba

    @numba.njit(cache=False)
    def primal(x):
        y = x * 2
        while np.linalg.norm(y) < 1000:
            y = y * 2
        return y

    @numba.njit(cache=False)
    def vjp(x, v):
        y = x * 2
        k = 1
        while np.linalg.norm(y) < 1000:
            y = y * 2
            k += 1
        g = v.copy()
        for _ in range(k):                 # the reversed loop: each y = y * 2 doubles g
            g = g * 2
        return y, g
    return primal, vjp


def build_srcdiff(data):
    return srcdiff_vjp_built(doubling, (data["x"],), data["v"])


def build_numba(data):
    primal, vjp = _numba_functions()
    x, v = data["x"], data["v"]
    return Built(primal=lambda: primal(x), grad=lambda: (vjp(x, v)[1],))


def build_jax(data):
    jax = need_jax()
    import jax.numpy as jnp
    x, v = jnp.asarray(data["x"]), jnp.asarray(data["v"])

    def f(x):
        y = x * 2
        while jnp.linalg.norm(y) < 1000:
            y = y * 2
        return y

    def grad():
        _, pullback = jax.vjp(f, x)
        return (np.asarray(pullback(v)[0]),)
    return Built(primal=lambda: np.asarray(f(x)), grad=grad,
                 note="eager: jit cannot trace the data-dependent while")


def build_torch(data):
    torch = need_torch()
    v = torch.tensor(data["v"])

    def run():
        x = torch.tensor(data["x"], requires_grad=True)
        y = x * 2
        while y.data.norm() < 1000:
            y = y * 2
        y.backward(v)
        return (x.grad.numpy(),)
    return Built(primal=lambda: doubling(data["x"]), grad=run, note="eager, the notebook's code")


def build_autograd(data):
    need_autograd()
    from autograd import make_vjp
    x, v = data["x"], data["v"]
    import autograd.numpy as anp

    def f(x):
        y = x * 2
        while anp.linalg.norm(y) < 1000:
            y = y * 2
        return y

    def grad():
        pullback, _ = make_vjp(f)(x)
        return (pullback(v),)
    return Built(primal=lambda: f(x), grad=grad, note="natural loop")


def cases(quick=False):
    def make():
        return {"x": X.copy(), "v": V.copy()}

    return [Case(
        workload="normdoubling", name="vjp_3", title="norm-doubling while loop, VJP of a 3-vector",
        make=make,
        primal_np=lambda data: float(np.dot(data["v"], doubling(data["x"]))),
        builders={"srcdiff": build_srcdiff, "numba-hand": build_numba, "jax": build_jax,
                  "torch": build_torch, "autograd": build_autograd},
        wrt_names=("x",),
        fd_inputs=lambda data: [("x", data["x"])],
        fd_eval=lambda data, changed: float(np.dot(data["v"], doubling(changed["x"]))),
        vjp=True, kind="overhead")]
