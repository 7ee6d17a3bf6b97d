"""Loading the optional peers, and the srcdiff builder every workload shares.

Each ``need_*`` returns the peer's module or raises ``Skip`` with the reason, so that a
missing peer becomes a "skipped" row instead of a crash.
"""
import importlib.metadata
import os

import numpy as np

from .harness import Built, Skip


def need_jax():
    try:
        import jax
    except Exception as exc:                       # not installed, or broken
        raise Skip(f"jax not importable ({type(exc).__name__}: {exc})") from None
    jax.config.update("jax_enable_x64", True)      # float64, as every other implementation
    return jax


def need_torch():
    try:
        import torch
    except Exception as exc:
        raise Skip(f"torch not importable ({type(exc).__name__}: {exc})") from None
    torch.set_default_dtype(torch.float64)
    return torch


def need_autograd():
    try:
        import autograd
        import autograd.numpy  # noqa: F401
    except Exception as exc:
        raise Skip(f"autograd not importable ({type(exc).__name__}: {exc})") from None
    return autograd


def versions():
    """Versions of everything the tables depend on ("-" when not installed)."""
    import platform
    out = {"python": platform.python_version()}
    for dist in ("numpy", "numba", "llvmlite", "scipy", "srcdiff", "jax", "jaxlib", "torch",
                 "autograd"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "-"
    return out


def blas_info():
    """NumPy's BLAS (threadpoolctl), and the OPENBLAS_* variables in force."""
    env = {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS_")}
    try:
        from threadpoolctl import threadpool_info
        info = [f"{d.get('internal_api')} {d.get('version')} "
                f"({d.get('architecture')}, {d.get('num_threads')} threads)"
                for d in threadpool_info() if d.get("user_api") == "blas"]
    except Exception:
        info = ["threadpoolctl not installed"]
    return "; ".join(info), env


# ------------------------------------------------------------------------- srcdiff

def srcdiff_built(fun, args, wrt):
    """The gradient of ``fun`` at ``args`` w.r.t. the indices ``wrt`` through
    ``srcdiff.grad``, and srcdiff's own compiled primal (the generated primal
    function, which Numba compiles as it compiles the adjoint)."""
    import srcdiff
    g = srcdiff.grad(fun, wrt=tuple(wrt))
    values = list(args)

    def grad():
        return g(*args)

    def primal():
        return g._program.primal(values)

    return Built(primal=primal, grad=grad,
                 info={"describe": lambda: describe(g), "prepare": lambda: g._program,
                       "compiled": lambda: g._program.compiled})


def srcdiff_vjp_built(fun, args, v):
    """``srcdiff.vjp(fun, *args)`` then ``pullback(v)``: both, per call."""
    import srcdiff
    values = list(args)

    def grad():
        _, pullback = srcdiff.vjp(fun, *args)
        return pullback(v)

    prog = {}

    def primal():
        if "p" not in prog:
            from srcdiff.program import program
            prog["p"] = program(fun, tuple(range(len(args))), True, "auto")
        return prog["p"].primal(values)

    def info():
        from srcdiff.program import program
        p = program(fun, tuple(i for i, a in enumerate(args)
                               if isinstance(a, np.ndarray) and a.dtype.kind == "f"), True, "auto")
        return {"mode": p.mode, "jitted": p.compiled.jitted if p.mode == "source" else False,
                "jit_reason": p.compiled.jit_reason if p.mode == "source" else None,
                "fallback_reason": p.fallback_reason}

    def program_of():
        from srcdiff.program import program
        return program(fun, tuple(i for i, a in enumerate(args)
                                  if isinstance(a, np.ndarray) and a.dtype.kind == "f"), True, "auto")

    return Built(primal=primal, grad=grad,
                 info={"describe": info, "prepare": program_of,
                       "compiled": lambda: program_of().compiled})


def describe(g):
    """What the table records about a srcdiff gradient."""
    try:
        mode = g.mode
    except Exception as exc:                      # the transform itself failed
        return {"mode": "error", "jitted": False, "jit_reason": None,
                "fallback_reason": f"{type(exc).__name__}: {exc}"}
    return {"mode": mode, "jitted": bool(g.jitted), "jit_reason": g.jit_reason,
            "fallback_reason": g.fallback_reason}
