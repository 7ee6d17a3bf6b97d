"""The control-flow corpus: functions as a scientist writes them, with loops, branches,
jumps, writes into arrays and calls.  tests/test_corpus.py checks each against central
differences in Numba and in Python, and measures how many stay compiled.

A case is (function, arguments, which arguments to differentiate).  Arguments sit away
from the points where a branch or a loop's trip count changes.
"""
import numpy as np

from callees import rnn_step, softplus

X = np.array([0.3, 0.9, -0.4, 1.2, 0.7, -0.2])
M = np.array([[0.3, 0.5, -0.1], [0.9, 0.2, 0.4]])


# -- loops over range -----------------------------------------------------------------
def recurrence(x, n):
    s = 0.0
    y = x[0]
    for i in range(n):
        y = np.sin(y) * x[1] + s
        s = s + y * y
    return s


def lotka_volterra(a, b, steps):
    u = 1.0
    v = 0.5
    dt = 0.01
    for k in range(steps):
        du = a * u - b * u * v
        dv = b * u * v - v
        u = u + dt * du
        v = v + dt * dv
    return u + v


def damped_oscillator(k, c, steps):
    """Semi-implicit Euler for x'' = -k x - c x'."""
    x = 1.0
    v = 0.0
    dt = 0.02
    for i in range(steps):
        v = v + dt * (-k * x - c * v)
        x = x + dt * v
    return x * x + v * v


def rk4(p, steps):
    y = 1.0
    h = 0.05
    for i in range(steps):
        k1 = -p * y
        k2 = -p * (y + 0.5 * h * k1)
        k3 = -p * (y + 0.5 * h * k2)
        k4 = -p * (y + h * k3)
        y = y + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return y


def branch_in_loop(x):
    acc = 0.0
    for i in range(x.shape[0]):
        if x[i] > 0:
            acc = acc + x[i] * x[i]
        else:
            acc = acc * 0.5 - x[i]
    return acc


def loop_in_branch(x, on):
    t = np.sum(x)
    if on > 0:
        for i in range(3):
            t = np.tanh(t) + x[i]
    return t


def nested_loops(x):
    t = 0.0
    for i in range(3):
        for j in range(2):
            t = t + np.cos(x[i] * (j + 1) + t)
    return t


def strided_and_backwards(x):
    t = 1.0
    for i in range(5, 0, -2):
        t = t * x[i] + 1.0
    for j in range(0, 6, 4):
        t = t / (1.0 + x[j] * x[j])
    return t


def vector_state(w, x):
    h = np.zeros(3)
    for t in range(4):
        h = np.tanh(w @ h + x[t])
    return np.sum(h * h)


def zero_trips(x, n):
    y = x * 2.0
    for i in range(n):
        y = y * y
    return np.sum(y)


def overwritten_each_step(x, n):
    """The carried value is replaced, not updated: its old value gets no cotangent."""
    y = x
    for i in range(n):
        y = np.sin(x) * (i + 1.0)
    return np.sum(y)


def gradient_descent(w, x, y):
    """An inner solver: a few steps of least squares, differentiated through."""
    b = 0.0
    for step in range(5):
        r = x * w + b - y
        b = b - 0.1 * np.mean(r)
    return np.sum((x * w + b - y) ** 2)


# -- while ----------------------------------------------------------------------------
def doubling(x):
    y = x * 2
    while np.linalg.norm(y) < 1000:
        y = y * 2
    return y


def newton_sqrt(a):
    x = 1.0
    while abs(x * x - a) > 1e-12:
        x = 0.5 * (x + a / x)
    return x


def never_runs(x):
    y = x * 3.0
    while np.sum(y) > 1e9:
        y = y * 0.5
    return np.sum(y * y)


def integer_counter(x):
    """An integer carried through a while loop and read back as an index."""
    y = 1.0
    k = 0
    while k < 3:
        y = y * x[k] + np.sin(y)
        k = k + 1
    return y


# -- break, continue, return ----------------------------------------------------------
def stop_at_first_large(x):
    t = 0.0
    for i in range(x.shape[0]):
        if x[i] > 1.0:
            break
        t = t + x[i] ** 2
    return t


def skip_negatives(x):
    t = 0.0
    for v in x:
        if v < 0:
            continue
        t = t + np.sin(v)
    return t


def grow_until(x):
    y = x
    while True:
        y = y * 1.5
        if np.sum(y) > 10.0:
            break
    return np.sum(y * y)


def newton_cubic(c):
    """The root of t**3 + t - c: Newton steps until the step is negligible."""
    t = 1.0
    for it in range(50):
        step = (t ** 3 + t - c) / (3.0 * t * t + 1.0)
        t = t - step
        if abs(step) < 1e-14:
            break
    return t


def piecewise(t):
    if t < 0.0:
        return -t
    if t < 1.0:
        return t * t
    return 2.0 * t - 1.0


def newton_return(a):
    x = 1.0
    for k in range(100):
        x = 0.5 * (x + a / x)
        if abs(x * x - a) < 1e-12:
            return x
    return x * 0.0


def nested_return(m):
    t = 0.0
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            t = t + m[i, j] ** 2
            if t > 0.5:
                return t * 10.0
    return t


def while_return(x):
    y = x * 1.0
    k = 0
    while k < 10:
        y = np.sin(y) + 0.5
        if y > 0.9:
            return y * 2.0
        k = k + 1
    return y


def continue_in_nested_if(x):
    t = 0.0
    for i in range(x.shape[0]):
        if x[i] > 0:
            if x[i] > 1.0:
                continue
            u = x[i] * 2.0
        else:
            u = -x[i]
        t = t + u * u
    return t


def inner_break(m):
    t = 0.0
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            if m[i, j] < 0:
                break
            t = t + np.exp(m[i, j])
        t = t * 0.9
    return t


# -- loops over arrays, enumerate, zip -------------------------------------------------
def horner(coeffs, x):
    y = 0.0
    for c in coeffs:
        y = y * x + c
    return y


def rows(m):
    t = np.zeros(3)
    for r in m:
        t = t + np.tanh(r)
    return np.sum(t * t)


def weighted_by_position(x, y):
    t = 0.0
    for i, (a, b) in enumerate(zip(x, y)):
        t = t + (i + 1) * a * b
    return t


def enumerate_from_one(x):
    t = 0.0
    for k, v in enumerate(x, start=1):
        t = t + np.cos(v) / k
    return t


# -- writes into arrays --------------------------------------------------------------
def fill_buffer(x):
    n = x.shape[0]
    out = np.zeros(n)
    for i in range(n):
        out[i] = np.sin(x[i]) * x[(i + 1) % n]
    return np.sum(out * out)


def accumulate_modulo(x):
    y = np.zeros(3)
    for i in range(x.shape[0]):
        y[i % 3] += x[i] * x[i]
    return np.sum(y * np.arange(1.0, 4.0))


def prefix_sums(x):
    s = np.zeros(x.shape[0])
    s[0] = x[0]
    for i in range(1, x.shape[0]):
        s[i] = s[i - 1] + x[i] * x[i]
    return np.sum(np.sqrt(s + 1.0))


def shifts(x):
    """Writes whose value overlaps the array: a view of it, and a product of a view."""
    b = x * 1.0
    for k in range(2):
        b[0:3] = b[1:4]
        b[1:4] = b[0:3] * 1.5 + b[2:5]
    return np.sum(b * b)


def rewrites_in_place(x):
    """Elements overwritten after they were read, at the top level and in nested loops."""
    b = x * 1.0
    for i in range(1, 2 * b.shape[0]):
        j = i % b.shape[0]
        b[j] = np.sin(b[j - 1]) + b[j] * 0.5
    for k in range(2):
        for i in range(1, b.shape[0]):
            b[i] = np.cos(b[i - 1]) + b[i] * 0.5
        b[0] = b[-1] * 0.3
    return np.sum(b * b)


def two_column_table(x):
    m = np.zeros((x.shape[0], 2))
    for i in range(x.shape[0]):
        m[i, 0] = np.sin(x[i]) + m[i - 1, 1]
        m[i, 1] = m[i, 0] * x[i]
    return np.sum(m * m)


def soft_dtw(x, y, gamma):
    """Soft dynamic time warping: a dynamic-programming table filled in place."""
    n = x.shape[0]
    m = y.shape[0]
    d = np.full((n + 1, m + 1), 1e10)
    d[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost = (x[i - 1] - y[j - 1]) ** 2
            a = d[i - 1, j - 1]
            b = d[i - 1, j]
            c = d[i, j - 1]
            low = np.minimum(a, np.minimum(b, c))
            total = np.exp((low - a) / gamma) + np.exp((low - b) / gamma) \
                + np.exp((low - c) / gamma)
            d[i, j] = cost + low - gamma * np.log(total)
    return d[n, m]


# -- calls ----------------------------------------------------------------------------
def sign_scaled(a, b=2.0):
    if a > 0:
        return a * b
    return -a


def calls_in_loop(x, w):
    h = 0.0
    t = 0.0
    for v in x:
        h = rnn_step(h, v, w)
        t = t + sign_scaled(v) + sign_scaled(v, b=3.0) + softplus(h, beta=2.0)
    return t


# -- loop targets after the loop: Python keeps their last value -------------------------
def index_after_loop(x, n):
    i = 1                          # the value left when range(n) is empty
    s = 0.0
    for i in range(n):
        s = s + x[i] ** 2
    return s * x[i]


def first_above(x, limit):
    t = 0.0
    for i in range(x.shape[0]):
        t = t + x[i] * x[i]
        if t > limit:
            return t * x[i]        # the index of the iteration that returned
    return t


def last_row(m):
    row = m[0]
    for row in m:
        row = row * 2.0
    return np.sum(row * row)


def counter_after_loop(x):
    k = 0
    t = 0.0
    for k, v in enumerate(x):
        t = t + v * k
    return t * x[k]


def inner_index_after_outer(m):
    j = 0
    t = 0.0
    for r in range(m.shape[0]):
        for j in range(r, m.shape[1]):
            t = t + m[r, j] * t + m[r, j]
    return t * m[0, j]


P = np.array([0.5, -1.0, 2.0, 0.25])

def linear_inner(x):
    # the inner loop's adjoint reads nothing of it but its trip count
    s = x * 1.0
    for i in range(3):
        for j in range(i + 1):
            s = s * 1.5
    return np.sum(s * 2.0)


def linear_inner_while(x):
    s = x * 1.0
    for i in range(3):
        k = 0
        while k <= i:
            s = s * 1.5
            k = k + 1
    return np.sum(s * 2.0)


def linear_inner_branch(x):
    s = x * 1.0
    for i in range(3):
        if i > 0:
            for j in range(i + 1):
                s = s * 1.5
    return np.sum(s * 2.0)


def int_start(x):
    # s starts as an int and goes on as floats: its stack holds floats
    s = 0
    for i in range(3):
        s = np.tanh(s + x)
    return s * s


def int_start_while(x):
    s = 0
    while s < 0.9:
        s = np.tanh(s + x)
    return s * s


# -- nested loops: their runs are recorded by the forward and taken back in reverse --------
def triangular(x):
    # the inner loop runs i times: runs of different lengths on one stack
    s = 0.0
    for i in range(x.shape[0]):
        y = x[i]
        for j in range(i):
            y = np.sin(y) * x[j] + 0.1
        s = s + y * y
    return s


def three_deep(x):
    total = 0.0
    for i in range(2):
        v = x * (i + 1.0)
        for j in range(i + 2):
            w = v[j % 3]
            while w < 2.0:
                w = w * 1.3 + 0.2
            v = v * 0.9 + w * 0.05
        total = total + np.sum(v * v)
    return total


def sometimes_inner(x):
    s = 0.0
    for i in range(x.shape[0]):
        y = x[i]
        if i % 2 == 0:
            for j in range(3):
                y = np.tanh(y * 1.2 + x[j])
        s = s + y
    return s


def nested_never_runs(x, n):
    s = x * 1.0
    for i in range(n):
        for j in range(2):
            s = np.sin(s) + x
    return np.sum(s)


def inner_break_vector(x):
    h = x * 0.5
    for t in range(3):
        for k in range(5):
            h = np.tanh(h + x * 0.3)
            if np.sum(h) > 1.5 + t:
                break
        h = h * 1.1
    return np.sum(h * h)


def accumulate_ends(x):
    # the inner tanh's adjoint reads the value each iteration ends with (one more stack
    # entry a run), beside s, stacked for its shape only (a review found this crashing)
    s = 0.0
    for i in range(2):
        t = x[i]
        for j in range(2):
            t = np.exp(t * 0.3)
            s = s + t
    return s


def runs_of_other_shapes(x):
    # each run of the inner loop carries a value of another shape: its runs cannot share
    # stacks, and the program is generated again with the inner loop rerun
    s = 0.0
    for i in range(3):
        v = x[i:] * 1.0
        for j in range(2):
            v = np.sin(v) * x[j]
        s = s + np.sum(v)
    return s


CASES = [
    (recurrence, (X[:2], 5), (0,)),
    (lotka_volterra, (1.1, 0.4, 200), (0, 1)),
    (damped_oscillator, (4.0, 0.3, 150), (0, 1)),
    (rk4, (0.7, 40), (0,)),
    (branch_in_loop, (X,), (0,)),
    (loop_in_branch, (X[:3], 1), (0,)),
    (loop_in_branch, (X[:3], 0), (0,)),
    (nested_loops, (X[:3],), (0,)),
    (strided_and_backwards, (X,), (0,)),
    (vector_state, (M.T @ M * 0.5, np.outer(X[:4], [1.0, -0.5, 0.2])), (0, 1)),
    (zero_trips, (X[:2] * 0.5, 0), (0,)),
    (zero_trips, (X[:2] * 0.5, 3), (0,)),
    (overwritten_each_step, (X, 0), (0,)),
    (overwritten_each_step, (X, 3), (0,)),
    (gradient_descent, (1.3, X, 2.0 * X + 0.1), (0, 1, 2)),
    (doubling, (np.array([0.5, -1.2, 0.3]),), (0,)),
    (newton_sqrt, (2.0,), (0,)),
    (never_runs, (X[:3],), (0,)),
    (integer_counter, (X[:3],), (0,)),
    (stop_at_first_large, (X,), (0,)),
    (skip_negatives, (X,), (0,)),
    (grow_until, (X[:3],), (0,)),
    (newton_cubic, (1.7,), (0,)),
    (piecewise, (-0.6,), (0,)),
    (piecewise, (0.6,), (0,)),
    (piecewise, (1.6,), (0,)),
    (newton_return, (3.0,), (0,)),
    (nested_return, (M,), (0,)),
    (nested_return, (M * 0.3,), (0,)),
    (while_return, (0.1,), (0,)),
    (while_return, (-1.0,), (0,)),
    (continue_in_nested_if, (X,), (0,)),
    (inner_break, (M,), (0,)),
    (horner, (P, 0.7), (0, 1)),
    (rows, (M,), (0,)),
    (weighted_by_position, (X, X[::-1] * 2.0), (0, 1)),
    (enumerate_from_one, (X,), (0,)),
    (fill_buffer, (X[:5],), (0,)),
    (accumulate_modulo, (X[:5],), (0,)),
    (prefix_sums, (X,), (0,)),
    (shifts, (X,), (0,)),
    (rewrites_in_place, (X,), (0,)),
    (two_column_table, (X,), (0,)),
    (soft_dtw, (X[:4], X[2:], 0.5), (0, 1, 2)),
    (calls_in_loop, (X[:4], 0.8), (0, 1)),
    (index_after_loop, (X, 4), (0,)),
    (index_after_loop, (X, 0), (0,)),
    (first_above, (X, 1.0), (0, 1)),
    (first_above, (X, 100.0), (0, 1)),
    (last_row, (M,), (0,)),
    (counter_after_loop, (X,), (0,)),
    (inner_index_after_outer, (M,), (0,)),
    (linear_inner, (X,), (0,)),
    (linear_inner_while, (X,), (0,)),
    (linear_inner_branch, (X,), (0,)),
    (int_start, (0.7,), (0,)),
    (int_start_while, (0.7,), (0,)),
    (triangular, (X,), (0,)),
    (three_deep, (np.array([0.4, 1.1, 0.7]),), (0,)),
    (sometimes_inner, (X,), (0,)),
    (nested_never_runs, (X[:3], 0), (0,)),
    (nested_never_runs, (X[:3], 3), (0,)),
    (inner_break_vector, (X[:3],), (0,)),
    (accumulate_ends, (X,), (0,)),
    (runs_of_other_shapes, (X,), (0,)),
]
