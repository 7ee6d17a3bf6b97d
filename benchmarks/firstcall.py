"""One implementation's first gradient call, in a fresh process (run by the harness).

    python -m benchmarks.firstcall WORKLOAD/CASE IMPL [--quick] [--memory]

Prints one JSON line.  Without --memory: seconds to import the library, to build the
data, to transform (srcdiff only: the source transform, before any compilation), the
first gradient call (compilation + one run) and the second call.  With --memory: the
peak of memory traced (tracemalloc, which sees NumPy's and Numba's allocations) during
one gradient call after two warm-up calls.
"""
import json
import sys
import time
import tracemalloc


def _import_library(impl):
    if impl.startswith("srcdiff"):
        import srcdiff  # noqa: F401
    elif impl == "numba-hand":
        import numba  # noqa: F401
    elif impl == "jax":
        from .peers import need_jax
        need_jax()
    elif impl == "torch":
        from .peers import need_torch
        need_torch()
    elif impl == "autograd":
        from .peers import need_autograd
        need_autograd()


def _numba_timers(built):
    """Numba's compile timers per generated function (srcdiff), in seconds."""
    try:
        compiled = built.info["compiled"]()
    except Exception:
        return None
    out = {}
    for name, disp in (compiled._dispatchers or {}).items():
        for sig in disp.overloads:
            try:
                timers = (disp.get_metadata(sig) or {}).get("timers") or {}
            except Exception:                   # loaded from Numba's cache: no timers
                timers = {}
            out[name.rsplit("_", 1)[-1]] = {k: round(v, 3) for k, v in timers.items()}
    return out


def main(argv):
    key, impl = argv[0], argv[1]
    quick = "--quick" in argv
    memory = "--memory" in argv
    t0 = time.perf_counter()
    from .harness import Skip, find_case
    case = find_case(key, quick)
    try:
        _import_library(impl)
    except Skip as exc:
        print(json.dumps({"skipped": str(exc)}))
        return
    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    data = case.make()
    t_data = time.perf_counter() - t0
    result = {"import_s": t_import, "data_s": t_data}
    try:
        t0 = time.perf_counter()
        built = case.builders[impl](data)
        if "prepare" in built.info:
            built.info["prepare"]()              # the source transform, no compilation
            result["transform_s"] = time.perf_counter() - t0
        if memory:
            built.grad()
            built.grad()
            tracemalloc.start()
            built.grad()
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            result["peak_bytes"] = peak
        else:
            built.grad()
            result["first_call_s"] = time.perf_counter() - t0
            t1 = time.perf_counter()
            built.grad()
            result["second_call_s"] = time.perf_counter() - t1
            timers = _numba_timers(built) if "compiled" in built.info else None
            if timers and any(timers.values()):
                result["numba_timers"] = timers
    except Skip as exc:
        result = {"skipped": str(exc)}
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
