"""Workload 2: ADBench's D-LSTM (diagonal weights), l = 2 layers, b = 14, c = 1024.

The srcdiff primal is ADBench's own Python reference (its autograd module), as a
NumPy user writes it: helper functions for the cell and the prediction, a loop over
the characters, a loop over the layers writing the new state into a copy, Python
floats accumulating the loss.  JAX cannot trace the character loop into anything it
compiles in reasonable time (unrolled, 1023 steps x 2 layers), so its version is the
lax.scan rewrite (the layer loop stays a Python loop, unrolled, inside the scanned
step).  PyTorch and autograd run the natural loop, keeping the state as a list
(neither takes the in-place row writes on a tracked array the way NumPy does).
"""
import math

import numpy as np

from .adbench_io import lstm_instance
from .harness import Built, Case
from .peers import need_autograd, need_jax, need_torch, srcdiff_built

LAYERS, CHARS, BITS = 2, 1024, 14


# ------------------------------------------------------- the srcdiff primal (natural)

def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def lstm_model(weight, bias, hidden, cell, inp):
    hsize = hidden.shape[0]
    gates = np.concatenate((inp, hidden, inp, hidden)) * weight + bias
    forget = sigmoid(gates[0:hsize])
    ingate = sigmoid(gates[hsize:2 * hsize])
    outgate = sigmoid(gates[2 * hsize:3 * hsize])
    change = np.tanh(gates[3 * hsize:])
    cell = cell * forget + ingate * change
    hidden = outgate * np.tanh(cell)
    return hidden, cell


def lstm_predict(w, w2, s, x):
    s2 = s.copy()
    x = x * w2[0]
    for i in range(0, s.shape[0], 2):
        hidden, cell = lstm_model(w[i], w[i + 1], s[i], s[i + 1], x)
        s2[i] = hidden
        s2[i + 1] = cell
        x = hidden
    return x * w2[1] + w2[2], s2


def lstm_objective(main_params, extra_params, state, sequence):
    total = 0.0
    count = 0
    b = sequence.shape[1]
    for t in range(sequence.shape[0] - 1):
        ypred, state = lstm_predict(main_params, extra_params, state, sequence[t])
        ynorm = ypred - np.log(np.sum(np.exp(ypred)) + 2)
        ygold = sequence[t + 1]
        total += np.sum(ygold * ynorm)
        count += b
    return -total / count


# ------------------------------------------------------ hand-written Numba adjoint

def _numba_functions():
    import numba

    @numba.njit(cache=False)
    def primal(main, extra, state, seq):
        c, b = seq.shape
        nl = state.shape[0] // 2
        h = state[0::2].copy()
        cs = state[1::2].copy()
        x = np.empty(b)
        total = 0.0
        for t in range(c - 1):
            for j in range(b):
                x[j] = seq[t, j] * extra[0, j]
            for i in range(nl):
                w = main[2 * i]
                bi = main[2 * i + 1]
                for j in range(b):
                    f = 1.0 / (1.0 + math.exp(-(x[j] * w[j] + bi[j])))
                    ig = 1.0 / (1.0 + math.exp(-(h[i, j] * w[b + j] + bi[b + j])))
                    og = 1.0 / (1.0 + math.exp(-(x[j] * w[2 * b + j] + bi[2 * b + j])))
                    ch = math.tanh(h[i, j] * w[3 * b + j] + bi[3 * b + j])
                    cs[i, j] = cs[i, j] * f + ig * ch
                    h[i, j] = og * math.tanh(cs[i, j])
                    x[j] = h[i, j]
            s = 0.0
            for j in range(b):
                x[j] = x[j] * extra[1, j] + extra[2, j]
                s += math.exp(x[j])
            lse = math.log(s + 2.0)
            for j in range(b):
                total += seq[t + 1, j] * (x[j] - lse)
        return -total / ((c - 1) * b)

    @numba.njit(cache=False)
    def grad(main, extra, state, seq):
        c, b = seq.shape
        nl = state.shape[0] // 2
        T = c - 1
        # forward, storing what the reverse sweep reads: per step and layer the layer's
        # input x, the previous h and c, the four gates and tanh of the new cell
        X = np.empty((T, nl, b))
        H0 = np.empty((T, nl, b))
        C0 = np.empty((T, nl, b))
        F = np.empty((T, nl, b))
        I = np.empty((T, nl, b))
        O = np.empty((T, nl, b))
        G = np.empty((T, nl, b))
        TC = np.empty((T, nl, b))
        Y = np.empty((T, b))
        YH = np.empty((T, b))
        LSE = np.empty(T)
        h = state[0::2].copy()
        cs = state[1::2].copy()
        x = np.empty(b)
        for t in range(T):
            for j in range(b):
                x[j] = seq[t, j] * extra[0, j]
            for i in range(nl):
                w = main[2 * i]
                bi = main[2 * i + 1]
                for j in range(b):
                    X[t, i, j] = x[j]
                    H0[t, i, j] = h[i, j]
                    C0[t, i, j] = cs[i, j]
                    f = 1.0 / (1.0 + math.exp(-(x[j] * w[j] + bi[j])))
                    ig = 1.0 / (1.0 + math.exp(-(h[i, j] * w[b + j] + bi[b + j])))
                    og = 1.0 / (1.0 + math.exp(-(x[j] * w[2 * b + j] + bi[2 * b + j])))
                    ch = math.tanh(h[i, j] * w[3 * b + j] + bi[3 * b + j])
                    F[t, i, j] = f
                    I[t, i, j] = ig
                    O[t, i, j] = og
                    G[t, i, j] = ch
                    cs[i, j] = cs[i, j] * f + ig * ch
                    TC[t, i, j] = math.tanh(cs[i, j])
                    h[i, j] = og * TC[t, i, j]
                    x[j] = h[i, j]
            s = 0.0
            for j in range(b):
                YH[t, j] = x[j]
                Y[t, j] = x[j] * extra[1, j] + extra[2, j]
                s += math.exp(Y[t, j])
            LSE[t] = math.log(s + 2.0)
        # reverse
        scale = -1.0 / (T * b)
        dmain = np.zeros(main.shape)
        dextra = np.zeros(extra.shape)
        dh = np.zeros((nl, b))
        dc = np.zeros((nl, b))
        dx = np.empty(b)
        for t in range(T - 1, -1, -1):
            gsum = 0.0
            for j in range(b):
                gsum += seq[t + 1, j]
            denom = 0.0
            for j in range(b):
                denom += math.exp(Y[t, j])
            denom += 2.0
            for j in range(b):
                dy = scale * (seq[t + 1, j] - gsum * math.exp(Y[t, j]) / denom)
                dextra[1, j] += dy * YH[t, j]
                dextra[2, j] += dy
                dx[j] = dy * extra[1, j]
            for i in range(nl - 1, -1, -1):
                w = main[2 * i]
                dw = dmain[2 * i]
                db = dmain[2 * i + 1]
                for j in range(b):
                    dhj = dh[i, j] + dx[j]          # h fed both the next layer and the next step
                    og = O[t, i, j]
                    tc = TC[t, i, j]
                    dcj = dc[i, j] + dhj * og * (1.0 - tc * tc)
                    dog = dhj * tc * og * (1.0 - og)
                    df = dcj * C0[t, i, j] * F[t, i, j] * (1.0 - F[t, i, j])
                    dig = dcj * G[t, i, j] * I[t, i, j] * (1.0 - I[t, i, j])
                    dch = dcj * I[t, i, j] * (1.0 - G[t, i, j] * G[t, i, j])
                    dc[i, j] = dcj * F[t, i, j]
                    xj = X[t, i, j]
                    hj = H0[t, i, j]
                    dw[j] += df * xj
                    db[j] += df
                    dw[b + j] += dig * hj
                    db[b + j] += dig
                    dw[2 * b + j] += dog * xj
                    db[2 * b + j] += dog
                    dw[3 * b + j] += dch * hj
                    db[3 * b + j] += dch
                    dh[i, j] = dig * w[b + j] + dch * w[3 * b + j]
                    dx[j] = df * w[j] + dog * w[2 * b + j]
            for j in range(b):
                dextra[0, j] += dx[j] * seq[t, j]
        return dmain, dextra

    return primal, grad


# ------------------------------------------------------------------ peers' idiom

def _lstm_step_xp(xp, sig, main, extra, hs, cs, x):
    """One character through the layers (lists of per-layer h and c), NumPy-like xp."""
    b = x.shape[0]
    x = x * extra[0]
    new_h, new_c = [], []
    for i in range(len(hs)):
        w, bias = main[2 * i], main[2 * i + 1]
        forget = sig(x * w[:b] + bias[:b])
        ingate = sig(hs[i] * w[b:2 * b] + bias[b:2 * b])
        outgate = sig(x * w[2 * b:3 * b] + bias[2 * b:3 * b])
        change = xp.tanh(hs[i] * w[3 * b:] + bias[3 * b:])
        c = cs[i] * forget + ingate * change
        h = outgate * xp.tanh(c)
        new_h.append(h)
        new_c.append(c)
        x = h
    return x * extra[1] + extra[2], new_h, new_c


def lstm_jax_scan(jax, jnp, main, extra, state, seq, unroll=1):
    nl = state.shape[0] // 2
    sig = jax.nn.sigmoid

    def step(carry, xs):
        hs, cs = carry
        inp, gold = xs
        y, hs2, cs2 = _lstm_step_xp(jnp, sig, main, extra, list(hs), list(cs), inp)
        ynorm = y - jnp.log(jnp.sum(jnp.exp(y)) + 2)
        return (tuple(hs2), tuple(cs2)), jnp.sum(gold * ynorm)

    init = (tuple(state[2 * i] for i in range(nl)), tuple(state[2 * i + 1] for i in range(nl)))
    _, terms = jax.lax.scan(step, init, (seq[:-1], seq[1:]), unroll=unroll)
    return -jnp.sum(terms) / ((seq.shape[0] - 1) * seq.shape[1])


def lstm_loop_xp(xp, sig, main, extra, state, seq):
    """The natural loop with list state (torch and autograd)."""
    nl = state.shape[0] // 2
    hs = [state[2 * i] for i in range(nl)]
    cs = [state[2 * i + 1] for i in range(nl)]
    total = 0.0
    for t in range(seq.shape[0] - 1):
        y, hs, cs = _lstm_step_xp(xp, sig, main, extra, hs, cs, seq[t])
        ynorm = y - xp.log(xp.sum(xp.exp(y)) + 2)
        total = total + xp.sum(seq[t + 1] * ynorm)
    return -total / ((seq.shape[0] - 1) * seq.shape[1])


# ------------------------------------------------------------------------ builders

def _args(data):
    return data["main"], data["extra"], data["state"], data["seq"]


def build_srcdiff(data):
    return srcdiff_built(lstm_objective, _args(data), (0, 1))


def build_numba(data):
    primal, grad = _numba_functions()
    args = _args(data)
    return Built(primal=lambda: primal(*args), grad=lambda: grad(*args))


def build_jax(data, unroll=1):
    jax = need_jax()
    import jax.numpy as jnp
    main, extra, state, seq = (jnp.asarray(a) for a in _args(data))

    def f(m, e):
        return lstm_jax_scan(jax, jnp, m, e, state, seq, unroll)

    fj = jax.jit(f)
    gj = jax.jit(jax.grad(f, argnums=(0, 1)))
    return Built(primal=lambda: float(fj(main, extra).block_until_ready()),
                 grad=lambda: tuple(np.asarray(g) for g in jax.block_until_ready(gj(main, extra))),
                 note=f"lax.scan rewrite of the character loop, unroll={unroll}")


def build_torch(data):
    torch = need_torch()
    main = torch.tensor(data["main"], requires_grad=True)
    extra = torch.tensor(data["extra"], requires_grad=True)
    state, seq = torch.tensor(data["state"]), torch.tensor(data["seq"])

    def primal():
        with torch.no_grad():
            return float(lstm_loop_xp(torch, torch.sigmoid, main, extra, state, seq))

    def grad():
        loss = lstm_loop_xp(torch, torch.sigmoid, main, extra, state, seq)
        return tuple(g.numpy() for g in torch.autograd.grad(loss, (main, extra)))

    return Built(primal=primal, grad=grad, note="natural loop, state as lists")


def build_autograd(data):
    autograd = need_autograd()
    import autograd.numpy as anp
    _, _, state, seq = _args(data)

    def sig(x):
        return 1.0 / (1.0 + anp.exp(-x))

    def f(m, e):
        return lstm_loop_xp(anp, sig, m, e, state, seq)

    g = autograd.grad(f, argnum=[0, 1])
    return Built(primal=lambda: float(f(data["main"], data["extra"])),
                 grad=lambda: tuple(g(data["main"], data["extra"])),
                 note="natural loop, state as lists")


def cases(quick=False):
    def make():
        main, extra, state, seq = lstm_instance(LAYERS, CHARS, BITS)
        return {"main": main, "extra": extra, "state": state, "seq": seq}

    return [Case(
        workload="lstm", name=f"l{LAYERS}_c{CHARS}", title=f"D-LSTM l={LAYERS} b={BITS} c={CHARS}",
        make=make,
        primal_np=lambda data: lstm_objective(*_args(data)),
        builders={"srcdiff": build_srcdiff, "numba-hand": build_numba, "jax": build_jax,
                  "jax (unroll=4)": lambda data: build_jax(data, unroll=4),
                  "torch": build_torch, "autograd": build_autograd},
        wrt_names=("main", "extra"),
        fd_inputs=lambda data: [("main", data["main"]), ("extra", data["extra"])],
        fd_eval=lambda data, changed: lstm_objective(*_args({**data, **changed})),
        kind="scalar-loop")]
