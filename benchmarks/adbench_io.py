"""ADBench instances: generated here (seeded), written and read in ADBench's text format.

GMM file: ``d k n``, then k alphas (one a line), k rows of means, k rows of icf,
n rows of points, then ``gamma m``.  LSTM file: ``l c b``, a blank line, the 2l rows
of main parameters (4b each), a blank line, the 3 rows of extra parameters, a blank
line, the 2l rows of state, a blank line, the c rows of the sequence.

Files go to ``benchmarks/data/`` (ignored by git: ``benchmarks/.gitignore``) and are
regenerated when missing; the same seed gives the same file.
"""
import os

import numpy as np

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def _rows(f, a):
    for row in np.atleast_2d(a):
        f.write(" ".join(repr(float(v)) for v in row) + "\n")


def gmm_path(d, k, n):
    return os.path.join(DATA, f"gmm_d{d}_K{k}_n{n}.txt")


def write_gmm(path, d, k, n, seed=0):
    rng = np.random.default_rng(seed)
    alphas = rng.standard_normal(k)
    means = rng.uniform(0.0, 1.0, (k, d))
    icf = rng.standard_normal((k, d * (d + 1) // 2)) * 0.5
    x = rng.standard_normal((n, d))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{d} {k} {n}\n")
        for a in alphas:
            f.write(repr(float(a)) + "\n")
        _rows(f, means)
        _rows(f, icf)
        _rows(f, x)
        f.write("1.0 0\n")
    os.replace(tmp, path)


def read_gmm(path):
    """(alphas, means, icf, x, gamma, m), as ADBench's read_gmm_instance returns them."""
    with open(path) as f:
        d, k, n = (int(v) for v in f.readline().split())
        alphas = np.array([float(f.readline()) for _ in range(k)])
        means = np.array([[float(v) for v in f.readline().split()] for _ in range(k)])
        icf = np.array([[float(v) for v in f.readline().split()] for _ in range(k)])
        x = np.array([[float(v) for v in f.readline().split()] for _ in range(n)])
        gamma, m = f.readline().split()
    assert means.shape == (k, d) and icf.shape == (k, d * (d + 1) // 2) and x.shape == (n, d)
    return alphas, means, icf, x, float(gamma), int(m)


def gmm_instance(d, k, n):
    path = gmm_path(d, k, n)
    if not os.path.exists(path):
        write_gmm(path, d, k, n)
    return read_gmm(path)


def lstm_path(l, c, b):
    return os.path.join(DATA, f"lstm_l{l}_c{c}_b{b}.txt")


def write_lstm(path, l, c, b, seed=0):
    rng = np.random.default_rng(seed)
    main = rng.uniform(-0.5, 0.5, (2 * l, 4 * b))
    extra = rng.uniform(-0.5, 0.5, (3, b))
    state = rng.uniform(-0.5, 0.5, (2 * l, b))
    seq = rng.uniform(0.0, 1.0, (c, b))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{l} {c} {b}\n\n")
        _rows(f, main)
        f.write("\n")
        _rows(f, extra)
        f.write("\n")
        _rows(f, state)
        f.write("\n")
        _rows(f, seq)
    os.replace(tmp, path)


def read_lstm(path):
    """(main_params, extra_params, state, sequence), as ADBench's read_lstm_instance."""
    with open(path) as f:
        l, c, b = (int(v) for v in f.readline().split())

        def block(rows):
            line = f.readline()
            assert not line.strip(), "blank line expected"
            return np.array([[float(v) for v in f.readline().split()] for _ in range(rows)])

        main, extra, state, seq = block(2 * l), block(3), block(2 * l), block(c)
    assert main.shape == (2 * l, 4 * b) and seq.shape == (c, b)
    return main, extra, state, seq


def lstm_instance(l, c, b):
    path = lstm_path(l, c, b)
    if not os.path.exists(path):
        write_lstm(path, l, c, b)
    return read_lstm(path)
