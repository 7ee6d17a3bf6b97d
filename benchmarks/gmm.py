"""Workload 1: ADBench's GMM objective (log-diagonal + strictly-lower icf, Wishart prior).

The srcdiff primal is written as a scientist would write it in NumPy: a loop over the
components that fills Q_k element by element into a preallocated matrix, a slice
write of each component's column of log-likelihoods into a preallocated (n, K)
array, and axis reductions for the log-sum-exp.  JAX, PyTorch and autograd get the
same objective in their own idiom (vectorised over the components, ADBench's
reference style: a gather builds the K lower-triangular matrices, an einsum applies
them).  The hand-written Numba adjoint loops over points and components and stores
nothing but the K x d matrix of Q(x - mu) of the current point.
"""
import math

import numpy as np
from scipy.special import multigammaln

from .adbench_io import gmm_instance
from .harness import Built, Case
from .peers import need_autograd, need_jax, need_torch, srcdiff_built

SIZES = [(2, 5, 1000), (10, 25, 1000)]


# ------------------------------------------------------- the srcdiff primal (natural)

def gmm_objective(alphas, means, icf, x, gamma, m):
    n, d = x.shape
    k = alphas.shape[0]
    beta = np.zeros((n, k))
    prior = 0.0
    for j in range(k):
        # Q_j: exp(q_j) on the diagonal, the strictly-lower entries column by column
        Q = np.zeros((d, d))
        pos = d
        for col in range(d):
            Q[col, col] = np.exp(icf[j, col])
            for row in range(col + 1, d):
                Q[row, col] = icf[j, pos]
                pos += 1
        sum_q = np.sum(icf[j, :d])
        xc = x - means[j]
        Qxc = xc @ Q.T
        beta[:, j] = alphas[j] + sum_q - 0.5 * np.sum(Qxc * Qxc, axis=1)
        prior += 0.5 * gamma * gamma * np.sum(Q * Q) - m * sum_q
    bmax = np.max(beta, axis=1, keepdims=True)
    lse = np.log(np.sum(np.exp(beta - bmax), axis=1)) + bmax[:, 0]
    amax = np.max(alphas)
    lse_alphas = amax + np.log(np.sum(np.exp(alphas - amax)))
    n_w = d + m + 1
    C = n_w * d * (np.log(gamma) - 0.5 * np.log(2.0)) - multigammaln(0.5 * n_w, d)
    return -0.5 * n * d * np.log(2 * np.pi) + np.sum(lse) - n * lse_alphas + prior - k * C


# The same function with the three smallest edits that get it through srcdiff today
# (see the table's notes): `n, d = x.shape` split in two lines, `pos += 1` on an int
# written `pos = pos + 1`, and the constant log multivariate gamma computed by the
# caller (srcdiff inlines scipy's multigammaln and refuses its `raise`).
def gmm_objective_rewritten(alphas, means, icf, x, gamma, m, log_gamma_d):
    n = x.shape[0]
    d = x.shape[1]
    k = alphas.shape[0]
    beta = np.zeros((n, k))
    prior = 0.0
    for j in range(k):
        Q = np.zeros((d, d))
        pos = d
        for col in range(d):
            Q[col, col] = np.exp(icf[j, col])
            for row in range(col + 1, d):
                Q[row, col] = icf[j, pos]
                pos = pos + 1
        sum_q = np.sum(icf[j, :d])
        xc = x - means[j]
        Qxc = xc @ Q.T
        beta[:, j] = alphas[j] + sum_q - 0.5 * np.sum(Qxc * Qxc, axis=1)
        prior += 0.5 * gamma * gamma * np.sum(Q * Q) - m * sum_q
    bmax = np.max(beta, axis=1, keepdims=True)
    lse = np.log(np.sum(np.exp(beta - bmax), axis=1)) + bmax[:, 0]
    amax = np.max(alphas)
    lse_alphas = amax + np.log(np.sum(np.exp(alphas - amax)))
    n_w = d + m + 1
    C = n_w * d * (np.log(gamma) - 0.5 * np.log(2.0)) - log_gamma_d
    return -0.5 * n * d * np.log(2 * np.pi) + np.sum(lse) - n * lse_alphas + prior - k * C


# ------------------------------------------------------ hand-written Numba adjoint

def _numba_functions():
    import numba

    @numba.njit(cache=False)
    def primal(alphas, means, icf, x, gamma, m, log_gamma_d):
        n, d = x.shape
        k = alphas.shape[0]
        qd = np.empty((k, d))
        sumq = np.zeros(k)
        prior = 0.0
        for j in range(k):
            for r in range(d):
                qd[j, r] = math.exp(icf[j, r])
                sumq[j] += icf[j, r]
                prior += 0.5 * gamma * gamma * qd[j, r] * qd[j, r]
            for p in range(d, icf.shape[1]):
                prior += 0.5 * gamma * gamma * icf[j, p] * icf[j, p]
            prior -= m * sumq[j]
        beta = np.empty(k)
        xc = np.empty(d)
        y = np.empty(d)
        total = 0.0
        for i in range(n):
            for j in range(k):
                for r in range(d):
                    xc[r] = x[i, r] - means[j, r]
                    y[r] = qd[j, r] * xc[r]
                pos = d
                for col in range(d):
                    for row in range(col + 1, d):
                        y[row] += icf[j, pos] * xc[col]
                        pos += 1
                sq = 0.0
                for r in range(d):
                    sq += y[r] * y[r]
                beta[j] = alphas[j] + sumq[j] - 0.5 * sq
            bmax = beta.max()
            s = 0.0
            for j in range(k):
                s += math.exp(beta[j] - bmax)
            total += bmax + math.log(s)
        amax = alphas.max()
        s = 0.0
        for j in range(k):
            s += math.exp(alphas[j] - amax)
        lse_alphas = amax + math.log(s)
        n_w = d + m + 1
        C = n_w * d * (math.log(gamma) - 0.5 * math.log(2.0)) - log_gamma_d
        return -0.5 * n * d * math.log(2 * math.pi) + total - n * lse_alphas + prior - k * C

    @numba.njit(cache=False)
    def grad(alphas, means, icf, x, gamma, m, log_gamma_d):
        n, d = x.shape
        k = alphas.shape[0]
        qd = np.empty((k, d))
        sumq = np.zeros(k)
        for j in range(k):
            for r in range(d):
                qd[j, r] = math.exp(icf[j, r])
                sumq[j] += icf[j, r]
        dalphas = np.zeros(k)
        dmeans = np.zeros((k, d))
        dicf = np.zeros(icf.shape)
        dqd = np.zeros((k, d))
        dsumq = np.zeros(k)
        beta = np.empty(k)
        XC = np.empty((k, d))
        Y = np.empty((k, d))
        dy = np.empty(d)
        dxc = np.empty(d)
        for i in range(n):
            # forward for point i: keep Q_j (x_i - mu_j) for every j
            for j in range(k):
                for r in range(d):
                    XC[j, r] = x[i, r] - means[j, r]
                    Y[j, r] = qd[j, r] * XC[j, r]
                pos = d
                for col in range(d):
                    for row in range(col + 1, d):
                        Y[j, row] += icf[j, pos] * XC[j, col]
                        pos += 1
                sq = 0.0
                for r in range(d):
                    sq += Y[j, r] * Y[j, r]
                beta[j] = alphas[j] + sumq[j] - 0.5 * sq
            bmax = beta.max()
            s = 0.0
            for j in range(k):
                beta[j] = math.exp(beta[j] - bmax)
                s += beta[j]
            # reverse: d lse / d beta_j = softmax_j
            for j in range(k):
                db = beta[j] / s
                dalphas[j] += db
                dsumq[j] += db
                for r in range(d):
                    dy[r] = -db * Y[j, r]
                    dqd[j, r] += dy[r] * XC[j, r]
                    dxc[r] = qd[j, r] * dy[r]
                pos = d
                for col in range(d):
                    for row in range(col + 1, d):
                        dicf[j, pos] += dy[row] * XC[j, col]
                        dxc[col] += icf[j, pos] * dy[row]
                        pos += 1
                for r in range(d):
                    dmeans[j, r] -= dxc[r]
        # - n logsumexp(alphas)
        amax = alphas.max()
        s = 0.0
        for j in range(k):
            s += math.exp(alphas[j] - amax)
        for j in range(k):
            dalphas[j] -= n * math.exp(alphas[j] - amax) / s
        # the Wishart prior, and q -> exp(q)
        for j in range(k):
            dsumq[j] -= m
            for r in range(d):
                dqd[j, r] += gamma * gamma * qd[j, r]
                dicf[j, r] += dqd[j, r] * qd[j, r] + dsumq[j]
            for p in range(d, icf.shape[1]):
                dicf[j, p] += gamma * gamma * icf[j, p]
        return dalphas, dmeans, dicf

    return primal, grad


# ------------------------------------------------------------------ peers' idiom

def _lower_index(d):
    """(d, d) positions into [0, l_1, l_2, ...]: the strictly-lower entries column by column."""
    idx = np.zeros((d, d), dtype=np.int64)
    pos = 1
    for col in range(d):
        for row in range(col + 1, d):
            idx[row, col] = pos
            pos += 1
    return idx


def gmm_vectorised(xp, alphas, means, icf, x, gamma, m, log_gamma_d, lower_idx):
    """ADBench's reference formulation, for NumPy-like modules (jax.numpy, autograd.numpy)."""
    n, d = x.shape
    k = alphas.shape[0]
    q = icf[:, :d]
    sum_q = xp.sum(q, axis=1)
    qdiag = xp.exp(q)
    padded = xp.concatenate([xp.zeros((k, 1)), icf[:, d:]], axis=1)
    ls = padded[:, lower_idx]                                   # (k, d, d)
    xc = x[None, :, :] - means[:, None, :]                      # (k, n, d)
    qxc = qdiag[:, None, :] * xc + xp.einsum("kij,knj->kni", ls, xc)
    beta = alphas[:, None] + sum_q[:, None] - 0.5 * xp.sum(qxc * qxc, axis=2)   # (k, n)
    bmax = xp.max(beta, axis=0)
    lse = bmax + xp.log(xp.sum(xp.exp(beta - bmax[None, :]), axis=0))
    amax = xp.max(alphas)
    lse_alphas = amax + xp.log(xp.sum(xp.exp(alphas - amax)))
    prior = xp.sum(0.5 * gamma * gamma * (xp.sum(qdiag * qdiag, axis=1)
                                          + xp.sum(icf[:, d:] * icf[:, d:], axis=1)) - m * sum_q)
    n_w = d + m + 1
    C = n_w * d * (math.log(gamma) - 0.5 * math.log(2.0)) - log_gamma_d
    return -0.5 * n * d * math.log(2 * math.pi) + xp.sum(lse) - n * lse_alphas + prior - k * C


def gmm_torch(torch, alphas, means, icf, x, gamma, m, log_gamma_d, lower_idx):
    n, d = x.shape
    k = alphas.shape[0]
    q = icf[:, :d]
    sum_q = q.sum(dim=1)
    qdiag = torch.exp(q)
    padded = torch.cat([torch.zeros(k, 1, dtype=icf.dtype), icf[:, d:]], dim=1)
    ls = padded[:, lower_idx]
    xc = x[None, :, :] - means[:, None, :]
    qxc = qdiag[:, None, :] * xc + torch.einsum("kij,knj->kni", ls, xc)
    beta = alphas[:, None] + sum_q[:, None] - 0.5 * (qxc * qxc).sum(dim=2)
    lse = torch.logsumexp(beta, dim=0)
    lse_alphas = torch.logsumexp(alphas, dim=0)
    prior = (0.5 * gamma * gamma * ((qdiag * qdiag).sum(dim=1) + (icf[:, d:] ** 2).sum(dim=1))
             - m * sum_q).sum()
    n_w = d + m + 1
    C = n_w * d * (math.log(gamma) - 0.5 * math.log(2.0)) - log_gamma_d
    return -0.5 * n * d * math.log(2 * math.pi) + lse.sum() - n * lse_alphas + prior - k * C


# ------------------------------------------------------------------------ builders

def _data(d, k, n):
    alphas, means, icf, x, gamma, m = gmm_instance(d, k, n)
    log_gamma_d = float(multigammaln(0.5 * (d + m + 1), d))
    return {"alphas": alphas, "means": means, "icf": icf, "x": x, "gamma": gamma, "m": m,
            "log_gamma_d": log_gamma_d, "lower_idx": _lower_index(d)}


def _natural_args(data):
    return tuple(data[k] for k in ("alphas", "means", "icf", "x", "gamma", "m"))


def _full_args(data):
    return _natural_args(data) + (data["log_gamma_d"],)


def build_srcdiff(data):
    return srcdiff_built(gmm_objective, _natural_args(data), (0, 1, 2))


def build_srcdiff_rewritten(data):
    b = srcdiff_built(gmm_objective_rewritten, _full_args(data), (0, 1, 2))
    b.note = "3 edits: `n = x.shape[0]; d = x.shape[1]`, `pos = pos + 1`, constant hoisted"
    return b


def build_numba(data):
    primal, grad = _numba_functions()
    args = _full_args(data)
    return Built(primal=lambda: primal(*args), grad=lambda: grad(*args))


def build_jax(data):
    jax = need_jax()
    import jax.numpy as jnp
    args = tuple(jnp.asarray(data[k]) for k in ("alphas", "means", "icf", "x"))
    rest = (data["gamma"], data["m"], data["log_gamma_d"], data["lower_idx"])

    def f(a, mu, icf, x):
        return gmm_vectorised(jnp, a, mu, icf, x, *rest)

    fj = jax.jit(f)
    gj = jax.jit(jax.grad(f, argnums=(0, 1, 2)))
    return Built(primal=lambda: float(fj(*args).block_until_ready()),
                 grad=lambda: tuple(np.asarray(g) for g in jax.block_until_ready(gj(*args))),
                 note="vectorised over K (gather + einsum)")


def build_torch(data):
    torch = need_torch()
    a, mu, icf = (torch.tensor(data[k], requires_grad=True) for k in ("alphas", "means", "icf"))
    x = torch.tensor(data["x"])
    lower = torch.tensor(data["lower_idx"])
    rest = (data["gamma"], data["m"], data["log_gamma_d"], lower)

    def primal():
        with torch.no_grad():
            return float(gmm_torch(torch, a, mu, icf, x, *rest))

    def grad():
        loss = gmm_torch(torch, a, mu, icf, x, *rest)
        return tuple(g.numpy() for g in torch.autograd.grad(loss, (a, mu, icf)))

    return Built(primal=primal, grad=grad, note="vectorised over K (gather + einsum)")


def build_autograd(data):
    autograd = need_autograd()
    import autograd.numpy as anp
    rest = (data["x"], data["gamma"], data["m"], data["log_gamma_d"], data["lower_idx"])
    args = (data["alphas"], data["means"], data["icf"])

    def f(a, mu, icf):
        return gmm_vectorised(anp, a, mu, icf, *rest)

    g = autograd.grad(f, argnum=[0, 1, 2])      # autograd's tuple argnum
    return Built(primal=lambda: float(f(*args)), grad=lambda: tuple(g(*args)),
                 note="vectorised over K (gather + einsum)")


def cases(quick=False):
    out = []
    for d, k, n in SIZES:
        def make(d=d, k=k, n=n):
            return _data(d, k, n)

        out.append(Case(
            workload="gmm", name=f"d{d}_K{k}_n{n}", title=f"GMM d={d} K={k} n={n}",
            make=make,
            primal_np=lambda data: gmm_objective(*_natural_args(data)),
            builders={"srcdiff": build_srcdiff, "srcdiff-rewritten": build_srcdiff_rewritten,
                      "numba-hand": build_numba, "jax": build_jax, "torch": build_torch,
                      "autograd": build_autograd},
            wrt_names=("alphas", "means", "icf"),
            fd_inputs=lambda data: [(k_, data[k_]) for k_ in ("alphas", "means", "icf")],
            fd_eval=lambda data, changed: gmm_objective(
                *_natural_args({**data, **changed})),
            kind="scalar-loop"))
    return out
