"""The common harness: implementations, timing, gradient agreement, first calls, memory.

A workload module (gmm.py, lstm.py, ...) exposes ``cases(quick)``: a list of ``Case``.
A case holds the data, the natural NumPy primal (the function srcdiff differentiates,
also used for finite differences) and one builder per implementation.  A builder
takes the case and returns a ``Built``: zero-argument closures for the primal and the
gradient (inputs bound, conversions to the peer's arrays done once, outside the
timing), returning NumPy values so that gradients can be compared.
"""
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# the implementations, in table order; the names are the table's and the CLI's
IMPLS = ("srcdiff", "numba-hand", "jax", "torch", "autograd")


class Skip(Exception):
    """An implementation that cannot run here (peer not installed, construct refused)."""


@dataclasses.dataclass
class Built:
    primal: object                  # () -> float (or array for a VJP workload)
    grad: object                    # () -> tuple of np.ndarray / float, in wrt order
    note: str = ""                  # what the table should say (rewrite used, fallback, ...)
    info: dict = dataclasses.field(default_factory=dict)  # srcdiff: mode, jitted, reasons


@dataclasses.dataclass
class Case:
    workload: str                   # module name: "gmm"
    name: str                       # "d10_K25_n1000"
    title: str                      # for the table
    make: object                    # () -> dict of data (deterministic: seeded)
    primal_np: object               # data -> float: the natural NumPy primal, for FD
    builders: dict                  # impl name -> (data -> Built)
    wrt_names: tuple = ()           # names of the differentiated inputs, for FD
    fd_inputs: object = None        # data -> list of (name, array) perturbed by FD
    fd_eval: object = None          # (data, {name: array}) -> float
    vjp: bool = False               # the "gradient" is a pullback; FD on <v, f(x)>
    kind: str = "scalar-loop"       # "scalar-loop" | "vectorised" | "overhead"

    @property
    def key(self):
        return f"{self.workload}/{self.name}"


# ---------------------------------------------------------------------------- timing

def time_call(fn, *, min_samples=5, max_samples=101, budget=1.5, min_sample_time=2e-3,
              warmed=False):
    """Median seconds per call of ``fn`` after warm-up.

    Cheap calls are batched (several calls per sample, so that a sample lasts at least
    ``min_sample_time``); sampling stops after ``budget`` seconds once ``min_samples``
    samples are in.  Calls slower than a second get two samples (the tape peers on the
    ODE take 10-40 s a gradient).  ``warmed``: the caller has already made the first
    call (compilation).  Returns (median, n_samples, calls_per_sample).
    """
    if not warmed:
        fn()                                # warm-up: compile, caches, allocator
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-9)
    if one > 1.0:
        t0 = time.perf_counter()
        fn()
        return statistics.median([one, time.perf_counter() - t0]), 2, 1
    inner = max(1, int(min_sample_time / one))
    samples = []
    start = time.perf_counter()
    while len(samples) < max_samples:
        t = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - t) / inner)
        if len(samples) >= min_samples and time.perf_counter() - start > budget:
            break
    return statistics.median(samples), len(samples), inner


# ------------------------------------------------------------------ gradient checks

def as_tuple(g):
    return tuple(g) if isinstance(g, (tuple, list)) else (g,)


def max_rel_err(a, b):
    """max |a - b| over max(|b|), over all gradient parts (0 when both are all-zero)."""
    worst = 0.0
    for x, y in zip(as_tuple(a), as_tuple(b), strict=True):
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        if x.shape != y.shape:
            return float("inf")
        scale = max(np.max(np.abs(y)) if y.size else 0.0, 1e-300)
        worst = max(worst, float(np.max(np.abs(x - y)) / scale) if x.size else 0.0)
    return worst


def fd_reference(case, data, n_coords=3, seed=0):
    """Central differences of the natural NumPy primal on ``n_coords`` random coordinates
    of each differentiated input: a list of (input position, index, value)."""
    rng = np.random.default_rng(seed)
    out = []
    for pos, (name, x) in enumerate(case.fd_inputs(data)):
        size = max(np.size(x), 1)
        for fi in rng.choice(size, size=min(n_coords, size), replace=False):
            idx = tuple(int(i) for i in np.unravel_index(fi, np.shape(x))) if np.ndim(x) else ()
            x0 = float(np.asarray(x)[idx]) if np.ndim(x) else float(x)
            h = 1e-5 * max(1.0, abs(x0))
            vals = []
            for s in (+1, -1):
                if np.ndim(x):
                    xp = np.array(x, dtype=float, copy=True)
                    xp[idx] = x0 + s * h
                else:
                    xp = x0 + s * h
                vals.append(float(case.fd_eval(data, {name: xp})))
            out.append((pos, idx, (vals[0] - vals[1]) / (2 * h)))
    return out


def fd_error(grads, reference):
    """Worst error of ``grads`` at the coordinates of ``reference`` (from fd_reference),
    relative to max(|finite difference|, the largest entry of that gradient part)."""
    grads = as_tuple(grads)
    worst = 0.0
    for pos, idx, fd in reference:
        g = np.asarray(grads[pos], dtype=float)
        scale = max(float(np.max(np.abs(g))) if g.size else 0.0, 1e-12)
        ad = float(g[idx]) if idx else float(g)
        worst = max(worst, abs(fd - ad) / max(abs(fd), scale))
    return worst


# ------------------------------------------------------------ fresh-process first call

def first_call_subprocess(case_key, impl, cache_dir=None, quick=False, timeout=600,
                          numba_cache_dir=None):
    """Run ``python -m benchmarks.firstcall`` and return its JSON (or {"error": ...}).

    Numba's cache of the generated module goes to ``numba_cache_dir`` (by default
    ``cache_dir``); srcdiff's helpers are cached in ``cache_dir`` whatever it is."""
    env = dict(os.environ)
    if cache_dir is not None:
        env["SRCDIFF_CACHE_DIR"] = cache_dir
    env["NUMBA_CACHE_DIR"] = numba_cache_dir or cache_dir or tempfile.mkdtemp(
        prefix="bench-numba-")
    cmd = [sys.executable, "-m", "benchmarks.firstcall", case_key, impl]
    if quick:
        cmd.append("--quick")
    try:
        out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True,
                             timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    for line in reversed(out.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    tail = (out.stderr or out.stdout).strip().splitlines()[-3:]
    return {"error": " | ".join(tail) or f"exit {out.returncode}"}


def memory_subprocess(case_key, impl, quick=False, timeout=600):
    """Peak memory of one gradient call (tracemalloc, after warm-up) in a fresh process."""
    env = dict(os.environ)
    env["SRCDIFF_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench-mem-")
    cmd = [sys.executable, "-m", "benchmarks.firstcall", case_key, impl, "--memory"]
    if quick:
        cmd.append("--quick")
    out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    for line in reversed(out.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    tail = (out.stderr or out.stdout).strip().splitlines()[-3:]
    return {"error": " | ".join(tail) or f"exit {out.returncode}"}


# --------------------------------------------------------------------- workloads

WORKLOADS = ("gmm", "lstm", "ode", "normdoubling", "vectorised")


def workload_module(name):
    import importlib
    return importlib.import_module(f"benchmarks.{name}")


def all_cases(quick=False, workloads=WORKLOADS):
    cases = []
    for name in workloads:
        cases.extend(workload_module(name).cases(quick))
    return cases


def find_case(key, quick=False):
    workload, _, _ = key.partition("/")
    for case in workload_module(workload).cases(quick):
        if case.key == key:
            return case
    raise KeyError(key)
