"""Workload 5: vectorised, BLAS-bound code: the seed notebooks' mean on 10^6 elements,
logistic regression (N = 10,000, D = 100), a 2-layer tanh MLP and a tanh RNN (a loop
of matrix products over 50 time steps; JAX's version is the lax.scan rewrite).

Whole-array NumPy in every implementation: JAX's jit(grad), PyTorch eager, autograd, a
hand-written Numba adjoint, and srcdiff's generated adjoint compiled by Numba.
"""
import numpy as np

from .harness import Built, Case
from .peers import need_autograd, need_jax, need_torch, srcdiff_built


# ------------------------------------------------------------------ the primals (NumPy)

def seed_mean(x):
    y = x + 2
    z = y * y * 3
    return z.mean()


def logistic(w, X, t):
    z = X @ w
    return np.mean(np.log1p(np.exp(-t * z)))


def mlp(W1, b1, W2, b2, X, Y):
    h = np.tanh(X @ W1 + b1)
    out = h @ W2 + b2
    return np.mean((out - Y) ** 2)


def tanh_rnn(Wx, Wh, b, xs, h0):
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ Wx + h @ Wh + b)
    return np.sum(h * h) / h.shape[0]


# ------------------------------------------------------ hand-written Numba adjoints

def _numba_functions():
    import numba

    @numba.njit(cache=False)
    def mean_grad(x):
        return 6.0 * (x + 2) / x.size

    @numba.njit(cache=False)
    def mean_primal(x):
        y = x + 2
        return np.mean(y * y * 3)

    @numba.njit(cache=False)
    def logistic_primal(w, X, t):
        return np.mean(np.log1p(np.exp(-t * (X @ w))))

    @numba.njit(cache=False)
    def logistic_grad(w, X, t):
        e = np.exp(-t * (X @ w))
        dz = -t * e / (1.0 + e) / t.size
        return X.T @ dz

    @numba.njit(cache=False)
    def mlp_primal(W1, b1, W2, b2, X, Y):
        h = np.tanh(X @ W1 + b1)
        return np.mean((h @ W2 + b2 - Y) ** 2)

    @numba.njit(cache=False)
    def mlp_grad(W1, b1, W2, b2, X, Y):
        h = np.tanh(X @ W1 + b1)
        d = 2.0 * (h @ W2 + b2 - Y) / Y.size
        dW2 = h.T @ d
        db2 = d.sum(axis=0)
        dh = d @ W2.T * (1.0 - h * h)
        return X.T @ dh, dh.sum(axis=0), dW2, db2
    @numba.njit(cache=False)
    def rnn_primal(Wx, Wh, b, xs, h0):
        h = h0
        for t in range(xs.shape[0]):
            h = np.tanh(xs[t] @ Wx + h @ Wh + b)
        return np.sum(h * h) / h.shape[0]

    @numba.njit(cache=False)
    def rnn_grad(Wx, Wh, b, xs, h0):
        T = xs.shape[0]
        hs = np.empty((T + 1,) + h0.shape)
        hs[0] = h0
        for t in range(T):
            hs[t + 1] = np.tanh(xs[t] @ Wx + hs[t] @ Wh + b)
        dWx = np.zeros(Wx.shape)
        dWh = np.zeros(Wh.shape)
        db = np.zeros(b.shape)
        dh = 2.0 * hs[T] / h0.shape[0]
        for t in range(T - 1, -1, -1):
            dz = dh * (1.0 - hs[t + 1] * hs[t + 1])
            dWx += np.ascontiguousarray(xs[t].T) @ dz
            dWh += np.ascontiguousarray(hs[t].T) @ dz
            db += dz.sum(axis=0)
            dh = dz @ np.ascontiguousarray(Wh.T)
        return dWx, dWh, db

    return {"rnn": (rnn_primal, rnn_grad),
            "mean": (mean_primal, lambda x: (mean_grad(x),)),
            "logistic": (logistic_primal, lambda w, X, t: (logistic_grad(w, X, t),)),
            "mlp": (mlp_primal, mlp_grad)}


# --------------------------------------------------------------------- per workload

SPECS = {
    "mean": (seed_mean, (0,)),
    "logistic": (logistic, (0,)),
    "mlp": (mlp, (0, 1, 2, 3)),
    "rnn": (tanh_rnn, (0, 1, 2)),
}


def _data(name):
    rng = np.random.default_rng(0)
    if name == "mean":
        return {"args": (rng.standard_normal(1_000_000),)}
    if name == "logistic":
        X = rng.standard_normal((10_000, 100))
        t = np.sign(X @ rng.standard_normal(100) + 0.1 * rng.standard_normal(10_000))
        return {"args": (rng.standard_normal(100) * 0.1, X, t)}
    if name == "rnn":
        T, B, D, H = 50, 32, 32, 64
        return {"args": (rng.standard_normal((D, H)) * 0.2, rng.standard_normal((H, H)) * 0.1,
                         np.zeros(H), rng.standard_normal((T, B, D)), np.zeros((B, H)))}
    X = rng.standard_normal((1000, 100))
    return {"args": (rng.standard_normal((100, 100)) * 0.1, np.zeros(100),
                     rng.standard_normal((100, 10)) * 0.1, np.zeros(10), X,
                     rng.standard_normal((1000, 10)))}


def _builders(name):
    fun, wrt = SPECS[name]

    def build_srcdiff(data):
        return srcdiff_built(fun, data["args"], wrt)

    def build_numba(data):
        primal, grad = _numba_functions()[name]
        args = data["args"]
        return Built(primal=lambda: primal(*args), grad=lambda: grad(*args))

    def build_jax(data):
        jax = need_jax()
        import jax.numpy as jnp
        args = [jnp.asarray(a) for a in data["args"]]

        def rnn_scan(Wx, Wh, b, xs, h0):
            def step(h, x):
                return jnp.tanh(x @ Wx + h @ Wh + b), None
            h, _ = jax.lax.scan(step, h0, xs)
            return jnp.sum(h * h) / h.shape[0]

        jnp_fun = {"rnn": rnn_scan,"mean": lambda x: jnp.mean((x + 2) * (x + 2) * 3),
                   "logistic": lambda w, X, t: jnp.mean(jnp.log1p(jnp.exp(-t * (X @ w)))),
                   "mlp": lambda W1, b1, W2, b2, X, Y: jnp.mean(
                       (jnp.tanh(X @ W1 + b1) @ W2 + b2 - Y) ** 2)}[name]
        fj, gj = jax.jit(jnp_fun), jax.jit(jax.grad(jnp_fun, argnums=wrt))
        return Built(primal=lambda: float(fj(*args).block_until_ready()),
                     grad=lambda: tuple(np.asarray(g) for g in jax.block_until_ready(gj(*args))),
                     note="lax.scan rewrite of the time loop" if name == "rnn" else "")

    def build_torch(data):
        torch = need_torch()
        args = [torch.tensor(a, requires_grad=k in wrt) for k, a in enumerate(data["args"])]
        def rnn_loop(Wx, Wh, b, xs, h0):
            h = h0
            for t in range(xs.shape[0]):
                h = torch.tanh(xs[t] @ Wx + h @ Wh + b)
            return (h * h).sum() / h.shape[0]

        torch_fun = {"rnn": rnn_loop, "mean": lambda x: ((x + 2) * (x + 2) * 3).mean(),
                     "logistic": lambda w, X, t: torch.log1p(torch.exp(-t * (X @ w))).mean(),
                     "mlp": lambda W1, b1, W2, b2, X, Y: (
                         (torch.tanh(X @ W1 + b1) @ W2 + b2 - Y) ** 2).mean()}[name]

        def primal():
            with torch.no_grad():
                return float(torch_fun(*args))

        def grad():
            return tuple(g.numpy() for g in torch.autograd.grad(torch_fun(*args),
                                                                 [args[k] for k in wrt]))
        return Built(primal=primal, grad=grad)

    def build_autograd(data):
        autograd = need_autograd()
        args = data["args"]
        g = autograd.grad(fun, argnum=list(wrt)) if len(wrt) > 1 else autograd.grad(fun, wrt[0])
        return Built(primal=lambda: float(fun(*args)),
                     grad=lambda: tuple(g(*args)) if len(wrt) > 1 else (g(*args),))

    return {"srcdiff": build_srcdiff, "numba-hand": build_numba, "jax": build_jax,
            "torch": build_torch, "autograd": build_autograd}


TITLES = {"mean": "seed mean, 10^6 elements", "logistic": "logistic regression, N=10,000 D=100",
          "mlp": "2-layer tanh MLP, N=1,000 D=100 H=100 O=10",
          "rnn": "tanh RNN, T=50 B=32 D=32 H=64"}


def cases(quick=False):
    out = []
    for name, (fun, wrt) in SPECS.items():
        def fd_inputs(data, wrt=wrt):
            return [(str(k), data["args"][k]) for k in wrt]

        def fd_eval(data, changed, fun=fun):
            args = list(data["args"])
            for key, value in changed.items():
                args[int(key)] = value
            return fun(*args)

        out.append(Case(workload="vectorised", name=name, title=TITLES[name],
                        make=lambda name=name: _data(name),
                        primal_np=lambda data, fun=fun: fun(*data["args"]),
                        builders=_builders(name), wrt_names=tuple(str(k) for k in wrt),
                        fd_inputs=fd_inputs, fd_eval=fd_eval, kind="vectorised"))
    return out
