"""check_grad: compare srcdiff's derivatives with central finite differences."""
import numpy as np

from .api import _check_differentiable, _params, _unwrap, _wrt_indices, vjp


def _numeric(fun, values, index, cotangent, eps):
    """Central differences of ``sum(cotangent * fun(...))`` w.r.t. argument ``index``."""
    base = values[index]
    scalar = np.ndim(base) == 0
    x = np.array(base, dtype=float)
    out = np.zeros(x.shape)
    for pos in np.ndindex(x.shape):
        totals = []
        for step in (eps, -eps):
            shifted = x.copy()
            shifted[pos] += step
            args = list(values)
            args[index] = float(shifted) if scalar else shifted.astype(np.asarray(base).dtype)
            totals.append(np.sum(cotangent * np.asarray(fun(*args), dtype=float)))
        out[pos] = (totals[0] - totals[1]) / (2 * eps)
    return out


def check_grad(fun, *args, wrt=0, eps=1e-6, tol=1e-5, mode="auto", jit=True, seed=0):
    """Check ``fun``'s derivatives at ``args`` against central finite differences.

    For a non-scalar output a random cotangent ``v`` is drawn and ``v . f`` is
    checked.  The error of each entry is ``|analytic - numeric| / max(1, |numeric|)``.
    Returns the largest; raises AssertionError naming the worst entry if it exceeds
    ``tol``.  The arguments are not modified.

    >>> import numpy as np, srcdiff
    >>> def f(x):
    ...     return np.sum(np.sin(x) * x)
    >>> srcdiff.check_grad(f, np.array([0.5, 1.5])) < 1e-5
    True
    """
    fun = _unwrap(fun)
    values = [np.array(a) if isinstance(a, np.ndarray) else a for a in args]
    indices = _wrt_indices(fun, wrt)
    names = _params(fun)[1]
    for i in indices:
        _check_differentiable(values[i], names[i] if i < len(names) else str(i), i, "check_grad")
    out, pullback = vjp(fun, *values, mode=mode, jit=jit)
    rng = np.random.default_rng(seed)
    cotangent = 1.0 if np.ndim(out) == 0 else rng.standard_normal(np.shape(out))
    analytic = pullback(cotangent)
    worst = (0.0, None)
    for i in indices:
        numeric = _numeric(fun, values, i, cotangent, eps)
        got = np.asarray(analytic[i], dtype=float)
        err = np.abs(got - numeric) / np.maximum(1.0, np.abs(numeric))
        if err.size and not np.all(np.isfinite(err)):
            raise AssertionError(f"check_grad: non-finite derivative for argument {i}: "
                                 f"analytic {got}, numeric {numeric}")
        if err.size and err.max() >= worst[0]:
            pos = tuple(int(k) for k in np.unravel_index(np.argmax(err), err.shape))
            worst = (float(err.max()), (i, pos, float(got[pos]), float(numeric[pos])))
    if worst[0] > tol:
        i, pos, a, n = worst[1]
        raise AssertionError(f"check_grad: argument {i}, entry {pos}: srcdiff gives {a!r}, "
                             f"finite differences give {n!r} (error {worst[0]:.3g} > tol {tol:g})")
    return worst[0]
