"""Workload 3: an explicit ODE stepper with scalar state: Lotka–Volterra, RK4, 10^4 steps.

The loss integrates the squared distance of the state from (1, 1) along the
trajectory; the gradient is taken w.r.t. the four parameters (alpha, beta, gamma,
delta).  The srcdiff primal is the loop a scientist writes, with a helper for the
right-hand side.  JAX's natural loop would unroll 10^4 RK4 steps into the trace, so its
version is the lax.scan rewrite; PyTorch and autograd run the natural loop on scalars.
"""
import numpy as np

from .harness import Built, Case
from .peers import need_autograd, need_jax, need_torch, srcdiff_built

STEPS = 10_000
DT = 1e-3
PARAMS = np.array([1.1, 0.4, 0.4, 0.1])
X0, Y0 = 2.0, 1.5


# ------------------------------------------------------- the srcdiff primal (natural)

def lv_rhs(x, y, alpha, beta, gamma, delta):
    return alpha * x - beta * x * y, delta * x * y - gamma * y


def lotka_volterra(params, x0, y0, dt, steps):
    alpha = params[0]
    beta = params[1]
    gamma = params[2]
    delta = params[3]
    x = x0
    y = y0
    loss = 0.0
    for _ in range(steps):
        k1x, k1y = lv_rhs(x, y, alpha, beta, gamma, delta)
        k2x, k2y = lv_rhs(x + 0.5 * dt * k1x, y + 0.5 * dt * k1y, alpha, beta, gamma, delta)
        k3x, k3y = lv_rhs(x + 0.5 * dt * k2x, y + 0.5 * dt * k2y, alpha, beta, gamma, delta)
        k4x, k4y = lv_rhs(x + dt * k3x, y + dt * k3y, alpha, beta, gamma, delta)
        x = x + dt / 6.0 * (k1x + 2.0 * k2x + 2.0 * k3x + k4x)
        y = y + dt / 6.0 * (k1y + 2.0 * k2y + 2.0 * k3y + k4y)
        loss = loss + dt * ((x - 1.0) ** 2 + (y - 1.0) ** 2)
    return loss


# ------------------------------------------------------ hand-written Numba adjoint

def _numba_functions():
    import numba

    @numba.njit(cache=False, inline="always")
    def rhs(x, y, a, b, g, d):
        return a * x - b * x * y, d * x * y - g * y

    @numba.njit(cache=False)
    def primal(params, x0, y0, dt, steps):
        a, b, g, d = params[0], params[1], params[2], params[3]
        x, y, loss = x0, y0, 0.0
        for _ in range(steps):
            k1x, k1y = rhs(x, y, a, b, g, d)
            k2x, k2y = rhs(x + 0.5 * dt * k1x, y + 0.5 * dt * k1y, a, b, g, d)
            k3x, k3y = rhs(x + 0.5 * dt * k2x, y + 0.5 * dt * k2y, a, b, g, d)
            k4x, k4y = rhs(x + dt * k3x, y + dt * k3y, a, b, g, d)
            x = x + dt / 6.0 * (k1x + 2.0 * k2x + 2.0 * k3x + k4x)
            y = y + dt / 6.0 * (k1y + 2.0 * k2y + 2.0 * k3y + k4y)
            loss += dt * ((x - 1.0) ** 2 + (y - 1.0) ** 2)
        return loss

    @numba.njit(cache=False, inline="always")
    def rhs_adj(x, y, a, b, g, d, dfx, dfy):
        # fx = a x - b x y ; fy = d x y - g y
        dx = dfx * (a - b * y) + dfy * d * y
        dy = -dfx * b * x + dfy * (d * x - g)
        return dx, dy, dfx * x, -dfx * x * y, -dfy * y, dfy * x * y

    @numba.njit(cache=False)
    def grad(params, x0, y0, dt, steps):
        a, b, g, d = params[0], params[1], params[2], params[3]
        xs = np.empty(steps + 1)
        ys = np.empty(steps + 1)
        x, y = x0, y0
        xs[0], ys[0] = x, y
        for n in range(steps):                    # forward: store the state per step
            k1x, k1y = rhs(x, y, a, b, g, d)
            k2x, k2y = rhs(x + 0.5 * dt * k1x, y + 0.5 * dt * k1y, a, b, g, d)
            k3x, k3y = rhs(x + 0.5 * dt * k2x, y + 0.5 * dt * k2y, a, b, g, d)
            k4x, k4y = rhs(x + dt * k3x, y + dt * k3y, a, b, g, d)
            x = x + dt / 6.0 * (k1x + 2.0 * k2x + 2.0 * k3x + k4x)
            y = y + dt / 6.0 * (k1y + 2.0 * k2y + 2.0 * k3y + k4y)
            xs[n + 1], ys[n + 1] = x, y
        da = db = dg = dd = 0.0
        bx = by = 0.0                              # cotangent of the state after step n
        for n in range(steps - 1, -1, -1):        # reverse: recompute the stages
            bx += dt * 2.0 * (xs[n + 1] - 1.0)
            by += dt * 2.0 * (ys[n + 1] - 1.0)
            x, y = xs[n], ys[n]
            k1x, k1y = rhs(x, y, a, b, g, d)
            x2, y2 = x + 0.5 * dt * k1x, y + 0.5 * dt * k1y
            k2x, k2y = rhs(x2, y2, a, b, g, d)
            x3, y3 = x + 0.5 * dt * k2x, y + 0.5 * dt * k2y
            k3x, k3y = rhs(x3, y3, a, b, g, d)
            x4, y4 = x + dt * k3x, y + dt * k3y
            c = dt / 6.0
            dk4x, dk4y = c * bx, c * by
            dk3x, dk3y = 2 * c * bx, 2 * c * by
            dk2x, dk2y = 2 * c * bx, 2 * c * by
            dk1x, dk1y = c * bx, c * by
            nx, ny = bx, by
            ex, ey, p0, p1, p2, p3 = rhs_adj(x4, y4, a, b, g, d, dk4x, dk4y)
            da += p0; db += p1; dg += p2; dd += p3                      # noqa: E702
            nx += ex; ny += ey                                           # noqa: E702
            dk3x += dt * ex; dk3y += dt * ey                             # noqa: E702
            ex, ey, p0, p1, p2, p3 = rhs_adj(x3, y3, a, b, g, d, dk3x, dk3y)
            da += p0; db += p1; dg += p2; dd += p3                      # noqa: E702
            nx += ex; ny += ey                                           # noqa: E702
            dk2x += 0.5 * dt * ex; dk2y += 0.5 * dt * ey                 # noqa: E702
            ex, ey, p0, p1, p2, p3 = rhs_adj(x2, y2, a, b, g, d, dk2x, dk2y)
            da += p0; db += p1; dg += p2; dd += p3                      # noqa: E702
            nx += ex; ny += ey                                           # noqa: E702
            dk1x += 0.5 * dt * ex; dk1y += 0.5 * dt * ey                 # noqa: E702
            ex, ey, p0, p1, p2, p3 = rhs_adj(x, y, a, b, g, d, dk1x, dk1y)
            da += p0; db += p1; dg += p2; dd += p3                      # noqa: E702
            bx, by = nx + ex, ny + ey
        return np.array([da, db, dg, dd])

    return primal, grad


# ------------------------------------------------------------------ peers' idiom

def lv_scan(jax, jnp, params, x0, y0, dt, steps, unroll=1):
    alpha, beta, gamma, delta = params[0], params[1], params[2], params[3]

    def step(carry, _):
        x, y, loss = carry
        k1x, k1y = lv_rhs(x, y, alpha, beta, gamma, delta)
        k2x, k2y = lv_rhs(x + 0.5 * dt * k1x, y + 0.5 * dt * k1y, alpha, beta, gamma, delta)
        k3x, k3y = lv_rhs(x + 0.5 * dt * k2x, y + 0.5 * dt * k2y, alpha, beta, gamma, delta)
        k4x, k4y = lv_rhs(x + dt * k3x, y + dt * k3y, alpha, beta, gamma, delta)
        x = x + dt / 6.0 * (k1x + 2.0 * k2x + 2.0 * k3x + k4x)
        y = y + dt / 6.0 * (k1y + 2.0 * k2y + 2.0 * k3y + k4y)
        return (x, y, loss + dt * ((x - 1.0) ** 2 + (y - 1.0) ** 2)), None

    (_, _, loss), _ = jax.lax.scan(step, (jnp.float64(x0), jnp.float64(y0), jnp.float64(0.0)),
                                   None, length=steps, unroll=unroll)
    return loss


# ------------------------------------------------------------------------ builders

def _args(data):
    return data["params"], data["x0"], data["y0"], data["dt"], data["steps"]


def build_srcdiff(data):
    return srcdiff_built(lotka_volterra, _args(data), (0,))


def build_numba(data):
    primal, grad = _numba_functions()
    args = _args(data)
    return Built(primal=lambda: primal(*args), grad=lambda: (grad(*args),))


def build_jax(data, unroll=1):
    jax = need_jax()
    import jax.numpy as jnp
    p = jnp.asarray(data["params"])
    _, x0, y0, dt, steps = _args(data)

    def f(q):
        return lv_scan(jax, jnp, q, x0, y0, dt, steps, unroll)

    fj, gj = jax.jit(f), jax.jit(jax.grad(f))
    return Built(primal=lambda: float(fj(p).block_until_ready()),
                 grad=lambda: (np.asarray(gj(p).block_until_ready()),),
                 note=f"lax.scan rewrite of the step loop, unroll={unroll}")


def build_torch(data):
    torch = need_torch()
    p = torch.tensor(data["params"], requires_grad=True)
    _, x0, y0, dt, steps = _args(data)

    def primal():
        with torch.no_grad():
            return float(lotka_volterra(p, x0, y0, dt, steps))

    def grad():
        return (torch.autograd.grad(lotka_volterra(p, x0, y0, dt, steps), p)[0].numpy(),)

    return Built(primal=primal, grad=grad, note="natural loop on 0-d tensors")


def build_autograd(data):
    autograd = need_autograd()
    args = _args(data)
    g = autograd.grad(lotka_volterra)
    return Built(primal=lambda: float(lotka_volterra(*args)), grad=lambda: (g(*args),),
                 note="natural loop")


def cases(quick=False):
    steps = STEPS

    def make():
        return {"params": PARAMS.copy(), "x0": X0, "y0": Y0, "dt": DT, "steps": steps}

    return [Case(
        workload="ode", name=f"lv_rk4_{steps}", title=f"Lotka–Volterra RK4, {steps:,} steps",
        make=make,
        primal_np=lambda data: lotka_volterra(*_args(data)),
        builders={"srcdiff": build_srcdiff, "numba-hand": build_numba, "jax": build_jax,
                  "jax (unroll=4)": lambda data: build_jax(data, unroll=4),
                  "torch": build_torch, "autograd": build_autograd},
        wrt_names=("params",),
        fd_inputs=lambda data: [("params", data["params"])],
        fd_eval=lambda data, changed: lotka_volterra(*_args({**data, **changed})),
        kind="scalar-loop")]
