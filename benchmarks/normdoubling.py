"""Workload 4: the seed notebook's norm-doubling loop, its VJP on a 3-vector: per-call cost.

    y = x * 2
    while np.linalg.norm(y) < 1000:
        y = y * 2
    return y

and the pullback of v = [0.1, 1.0, 0.0001].  A "gradient" call here is what a user
runs per input: ``srcdiff.vjp(f, x)`` and then ``pullback(v)`` (PyTorch: forward +
``y.backward(v)``; JAX: ``jax.vjp`` + the pullback; autograd: ``make_vjp``).  The
"primal" is the loop alone.  Under ``jax.jit`` the data-dependent ``while`` cannot be
traced (the table records the error); JAX's row is eager ``jax.vjp``, and a
``lax.while_loop`` rewrite cannot be reverse-differentiated at all.
"""
import numpy as np

from .harness import Built, Case, Skip
from .peers import need_autograd, need_jax, need_torch, srcdiff_vjp_built

X = np.array([0.3, 1.2, -0.05])          # the loop runs 9 times: |y| = 1.24 * 2**10 > 1000
V = np.array([0.1, 1.0, 0.0001])


# ------------------------------------------------------- the srcdiff primal (natural)

def norm_doubling(x):
    y = x * 2
    while np.linalg.norm(y) < 1000:
        y = y * 2
    return y


# ------------------------------------------------------ hand-written Numba adjoint

def _numba_functions():
    import numba

    @numba.njit(cache=False)
    def primal(x):
        y = x * 2
        while np.linalg.norm(y) < 1000:
            y = y * 2
        return y

    @numba.njit(cache=False)
    def forward(x):
        y = x * 2
        count = 0
        while np.linalg.norm(y) < 1000:
            y = y * 2
            count += 1
        return y, count

    @numba.njit(cache=False)
    def backward(count, v):
        g = v * 2.0
        for _ in range(count):
            g = g * 2.0
        return g

    return primal, forward, backward


# ------------------------------------------------------------------------ builders

def build_srcdiff(data):
    return srcdiff_vjp_built(norm_doubling, (data["x"],), data["v"])


def build_numba(data):
    primal, forward, backward = _numba_functions()
    x, v = data["x"], data["v"]

    def vjp_call():
        _, count = forward(x)
        return (backward(count, v),)

    return Built(primal=lambda: primal(x), grad=vjp_call,
                 note="forward counts the doublings, backward replays them")


def build_jax(data):
    jax = need_jax()
    import jax.numpy as jnp

    def f(x):
        y = x * 2
        while jnp.linalg.norm(y) < 1000:
            y = y * 2
        return y

    x, v = jnp.asarray(data["x"]), jnp.asarray(data["v"])
    try:
        jax.jit(f)(x)
        jit_note = "jit works"
    except Exception as exc:
        jit_note = f"under jit: {type(exc).__name__}"

    def vjp_call():
        _, pullback = jax.vjp(f, x)
        return (np.asarray(pullback(v)[0]),)

    return Built(primal=lambda: np.asarray(f(x)), grad=vjp_call,
                 note=f"eager jax.vjp ({jit_note})")


def build_torch(data):
    torch = need_torch()
    x = torch.tensor(data["x"], requires_grad=True)
    v = torch.tensor(data["v"])

    def f(x):
        y = x * 2
        while y.data.norm() < 1000:
            y = y * 2
        return y

    def primal():
        with torch.no_grad():
            return f(x).numpy()

    def vjp_call():
        x.grad = None
        f(x).backward(v)
        return (x.grad.numpy().copy(),)

    return Built(primal=primal, grad=vjp_call, note="the seed's code: y.backward(v)")


def build_autograd(data):
    need_autograd()
    import autograd
    import autograd.numpy as anp

    def f(x):
        y = x * 2
        while anp.linalg.norm(y) < 1000:
            y = y * 2
        return y

    x, v = data["x"], data["v"]

    def vjp_call():
        pullback, _ = autograd.make_vjp(f)(x)
        return (pullback(v),)

    return Built(primal=lambda: f(x), grad=vjp_call, note="make_vjp")


def cases(quick=False):
    def make():
        return {"x": X.copy(), "v": V.copy()}

    return [Case(
        workload="normdoubling", name="vjp3", title="norm-doubling loop, VJP on a 3-vector",
        make=make,
        primal_np=lambda data: norm_doubling(data["x"]),
        builders={"srcdiff": build_srcdiff, "numba-hand": build_numba, "jax": build_jax,
                  "torch": build_torch, "autograd": build_autograd},
        wrt_names=("x",),
        fd_inputs=lambda data: [("x", data["x"])],
        fd_eval=lambda data, changed: float(np.dot(data["v"], norm_doubling(changed.get("x", data["x"])))),
        vjp=True, kind="overhead")]


__all__ = ["cases", "norm_doubling", "Skip"]
