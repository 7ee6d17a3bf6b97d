"""srcdiff against its peers: run every workload, check the gradients, print the tables.

    python benchmarks/run.py                      # everything (about 15 minutes on 2 cores)
    python benchmarks/run.py --quick              # smaller repeats, no memory runs
    python benchmarks/run.py --only gmm --only ode/   # a subset (substring of WORKLOAD/CASE)
    python benchmarks/run.py --impl srcdiff --impl jax
    python benchmarks/run.py --markdown docs/benchmarks.md   # what `make bench` does

Implementations: srcdiff (the natural NumPy primal), srcdiff-rewritten (where the
natural primal fails, the smallest edit that gets through, labelled), numba-hand (a
hand-written reverse-mode adjoint compiled by Numba), jax (jit(grad), float64), torch
(eager, float64), autograd.  A peer that is not installed is skipped.

For each case: steady-state primal and gradient times (median after warm-up), every
gradient against every other and against central differences on a few coordinates,
the first call in a fresh process (transform + compile + one run) and, for srcdiff, a
second fresh process that reuses the on-disk cache (SRCDIFF_CACHE_DIR), and a third
that finds only the helpers compiled (as a new or edited function does).
"""
import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from benchmarks import harness, peers  # noqa: E402
from benchmarks.harness import IMPLS, Skip  # noqa: E402

ORDER = ("srcdiff", "srcdiff-rewritten") + IMPLS[1:]
LOAD = {"start": 0.0, "end": 0.0}
READING_START = "<!-- reading:start -->"
READING_END = "<!-- reading:end -->"


# ------------------------------------------------------------------------ formatting

def fmt_time(s):
    if s is None:
        return "–"
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if s < 1.0:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def fmt_ratio(r):
    if r is None:
        return "–"
    if r >= 100:
        return f"{r:,.0f}×"
    if r >= 10:
        return f"{r:.1f}×"
    return f"{r:.2f}×"


def fmt_err(e):
    return "–" if e is None else f"{e:.1e}"


def one_line(text, n=160):
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


# ------------------------------------------------------------------------- running

def run_case(case, impls, opts):
    print(f"\n== {case.key}: {case.title}", flush=True)
    data = case.make()
    res = {"key": case.key, "title": case.title, "kind": case.kind, "impls": {}}
    grads = {}
    for impl in case.builders:
        if impls and not any(impl == i or impl.startswith(i + " ") for i in impls):
            continue
        row = res["impls"].setdefault(impl, {})
        t0 = time.perf_counter()
        try:
            built = case.builders[impl](data)
        except Skip as exc:
            row["skipped"] = str(exc)
            print(f"  {impl:18s} skipped: {exc}", flush=True)
            continue
        except Exception as exc:
            row["error"] = f"{type(exc).__name__}: {one_line(exc, 400)}"
            print(f"  {impl:18s} error while building: {row['error']}", flush=True)
            continue
        row["note"] = built.note
        try:
            g = built.grad()
            grads[impl] = tuple(np.array(x, dtype=float) for x in harness.as_tuple(g))
            row["in_process_first_s"] = time.perf_counter() - t0
        except Exception as exc:
            row["error"] = f"{type(exc).__name__}: {one_line(exc, 400)}"
        if "describe" in built.info:
            row.update(built.info["describe"]())
        if "error" in row:
            print(f"  {impl:18s} error: {row['error']}", flush=True)
            continue
        for what, fn in (("primal", built.primal), ("grad", built.grad)):
            try:
                med, n, inner = harness.time_call(fn, budget=opts.budget,
                                                  min_samples=3 if opts.quick else 5,
                                                  warmed=(what == "grad"))
                row[f"{what}_s"] = med
                row[f"{what}_samples"] = f"{n}x{inner}"
            except Exception as exc:
                row[f"{what}_error"] = f"{type(exc).__name__}: {one_line(exc, 300)}"
        print(f"  {impl:18s} primal {fmt_time(row.get('primal_s')):>10s}  "
              f"grad {fmt_time(row.get('grad_s')):>10s}  "
              + (f"mode={row.get('mode')} jitted={row.get('jitted')}" if "mode" in row else ""),
              flush=True)

    # agreement: every pair, and central differences on a few coordinates
    names = list(grads)
    pairs = {}
    for a in names:
        for b in names:
            if a < b:
                pairs[f"{a} vs {b}"] = harness.max_rel_err(grads[a], grads[b])
    res["pairs"] = pairs
    ref = "numba-hand" if "numba-hand" in grads else (names[0] if names else None)
    try:
        fd = harness.fd_reference(case, data)
    except Exception as exc:
        fd = None
        res["fd_error"] = f"{type(exc).__name__}: {one_line(exc)}"
    for impl, g in grads.items():
        row = res["impls"][impl]
        row["err_vs_ref"] = harness.max_rel_err(g, grads[ref]) if impl != ref else 0.0
        row["err_vs_others"] = max((v for k, v in pairs.items() if impl in k.split(" vs ")),
                                   default=0.0)
        if fd is not None:
            row["fd_err"] = harness.fd_error(g, fd)
    res["reference"] = ref

    # first calls in fresh processes
    if not opts.no_first_call:
        for impl, row in res["impls"].items():
            if "skipped" in row:
                continue
            if (impl.split()[0] in ("torch", "autograd") and row.get("grad_s", 0) > 1.0):
                row["cold"] = {"first_call_s": row.get("in_process_first_s"),
                               "note": "no compilation: the in-process first call"}
                continue
            cache = tempfile.mkdtemp(prefix="bench-cache-")
            try:
                cold = harness.first_call_subprocess(case.key, impl, cache, opts.quick)
                row["cold"] = cold
                if impl.startswith("srcdiff") and "error" not in cold:
                    row["warm"] = harness.first_call_subprocess(case.key, impl, cache, opts.quick)
                    # a new (or edited) function: its module compiles, the helpers load
                    module_cache = tempfile.mkdtemp(prefix="bench-numba-")
                    row["new_function"] = harness.first_call_subprocess(
                        case.key, impl, cache, opts.quick, numba_cache_dir=module_cache)
                    shutil.rmtree(module_cache, ignore_errors=True)
            finally:
                shutil.rmtree(cache, ignore_errors=True)
            print(f"  {impl:18s} first call {fmt_time(row['cold'].get('first_call_s'))}"
                  + (f", second process {fmt_time(row['warm'].get('first_call_s'))}"
                     if "warm" in row else "")
                  + (f"  [{row['cold']['error']}]" if "error" in row["cold"] else ""), flush=True)

    # peak memory of one gradient call (D-LSTM: srcdiff against the hand-written adjoint)
    if case.workload == "lstm" and not opts.no_memory:
        res["memory"] = {}
        for impl in ("srcdiff", "srcdiff-rewritten", "numba-hand"):
            row = res["impls"].get(impl)
            if row and "grad_s" in row:
                res["memory"][impl] = harness.memory_subprocess(case.key, impl, opts.quick)
                print(f"  {impl:18s} peak memory {res['memory'][impl]}", flush=True)
    return res


# ------------------------------------------------------------------------ the tables

def srcdiff_row(res):
    """The srcdiff row the targets use: the natural primal if it ran, else the rewrite."""
    for impl in ("srcdiff", "srcdiff-rewritten"):
        row = res["impls"].get(impl)
        if row and "grad_s" in row:
            return impl, row
    return None, None


def case_table(res):
    impls = res["impls"]
    sname, srow = srcdiff_row(res)
    hand = impls.get("numba-hand", {})
    lines = [f"### {res['title']}", "",
             "| implementation | first call, fresh process | 2nd process (cached) | primal | "
             "gradient | grad / own primal | grad / Numba primal | grad / srcdiff grad | "
             "err vs hand-written | FD err | notes |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    notes = []
    for impl, row in impls.items():
        if "skipped" in row:
            lines.append(f"| {impl} | skipped | | | | | | | | | {one_line(row['skipped'], 80)} |")
            continue
        cold = row.get("cold", {})
        warm = row.get("warm", {})
        g, p = row.get("grad_s"), row.get("primal_s")
        note = []
        if row.get("note"):
            note.append(row["note"])
        if "mode" in row:
            if row["mode"] == "source":
                note.append("source, compiled" if row.get("jitted") else "source, **runs as Python**")
            else:
                note.append(f"**{row['mode']}**")
            for key in ("fallback_reason", "jit_reason"):
                if row.get(key):
                    notes.append(f"{impl}: `.{key}`: {one_line(row[key], 600)}")
                    note.append(f"`.{key}` [{len(notes)}]")
        if "error" in row:
            notes.append(f"{impl}: raised {one_line(row['error'], 600)}")
            note.append(f"**raised** [{len(notes)}]")
        if "error" in cold:
            notes.append(f"{impl} (fresh process): {one_line(cold['error'], 300)}")
        cells = [
            impl,
            fmt_time(cold.get("first_call_s")),
            fmt_time(warm.get("first_call_s")) if warm else "",
            fmt_time(p), fmt_time(g),
            fmt_ratio(g / p) if g and p else "–",
            fmt_ratio(g / hand["primal_s"]) if g and hand.get("primal_s") else "–",
            fmt_ratio(g / srow["grad_s"]) if g and srow else "–",
            fmt_err(row.get("err_vs_ref")) if impl != "numba-hand" else "(reference)",
            fmt_err(row.get("fd_err")),
            "; ".join(note),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    if res.get("pairs"):
        worst = max(res["pairs"].items(), key=lambda kv: kv[1])
        lines.append(f"All {len([r for r in impls.values() if 'grad_s' in r])} gradients "
                     f"agree to {worst[1]:.1e} (worst pair: {worst[0]}).")
        lines.append("")
    if srow is not None and sname != "srcdiff":
        lines.append(f"Ratios against srcdiff use `{sname}`.")
        lines.append("")
    for i, n in enumerate(notes, 1):
        lines.append(f"[{i}] {n}  ")
    if notes:
        lines.append("")
    return "\n".join(lines)


def first_call_table(results):
    lines = ["| case | implementation | import | transform | Numba compile (grad's one pass; vjp: "
             "forward / backward) "
             "| first call, cold | new function, helpers cached | 2nd process: first call "
             "| 2nd process incl. import |", "|---|---|---:|---:|---|---:|---:|---:|---:|"]
    for res in results:
        for impl in ("srcdiff", "srcdiff-rewritten"):
            row = res["impls"].get(impl)
            if not row or "cold" not in row:
                continue
            cold, warm, new = row["cold"], row.get("warm", {}), row.get("new_function", {})
            timers = cold.get("numba_timers") or {}
            passes = ("grad",) if "grad" in timers else ("forward", "backward")
            comp = " / ".join(f"{fmt_time(timers[k].get('compiler_lock'))}"
                              for k in passes if k in timers) or "–"
            total_warm = (warm.get("import_s", 0) + warm["first_call_s"]
                          if "first_call_s" in warm else None)
            lines.append(f"| {res['title']} | {impl} | {fmt_time(cold.get('import_s'))} | "
                         f"{fmt_time(cold.get('transform_s'))} | {comp} | "
                         f"{fmt_time(cold.get('first_call_s'))}"
                         f"{' (' + one_line(cold['error'], 60) + ')' if 'error' in cold else ''} | "
                         f"{fmt_time(new.get('first_call_s'))} | "
                         f"{fmt_time(warm.get('first_call_s'))} | {fmt_time(total_warm)} |")
    return "\n".join(lines)


def memory_table(results):
    lines = []
    for res in results:
        mem = res.get("memory")
        if not mem:
            continue
        if not lines:
            lines = ["| case | implementation | peak traced memory of one gradient call |",
                     "|---|---|---:|"]
        for impl, m in mem.items():
            val = f"{m['peak_bytes'] / 2**20:.2f} MiB" if "peak_bytes" in m else m.get("error", "?")
            lines.append(f"| {res['title']} | {impl} | {val} |")
    return "\n".join(lines)


def targets(results):
    """(target, measured, verdict) rows, computed from this run's numbers."""
    by = {r["key"]: r for r in results}
    rows = []

    def verdict(ok):
        return "met" if ok else "**missed**"

    def grad(res, impl):
        return res["impls"].get(impl, {}).get("grad_s")

    for key, res in by.items():
        wl = key.split("/")[0]
        sname, srow = srcdiff_row(res)
        label = f"{res['title']}" + (f" ({sname})" if sname and sname != "srcdiff" else "")
        if srow is None:
            if wl in ("gmm", "lstm", "ode", "normdoubling", "vectorised"):
                rows.append((f"{res['title']}: srcdiff runs", "raised", "**missed**"))
            continue
        sg, sp = srow["grad_s"], srow.get("primal_s")
        if wl in ("gmm", "lstm", "ode"):
            if sp:
                rows.append((f"{label}: gradient ≤ 3× srcdiff's compiled primal",
                             fmt_ratio(sg / sp), verdict(sg / sp <= 3)))
            h = grad(res, "numba-hand")
            if h:
                rows.append((f"{label}: gradient ≤ 1.3× hand-written Numba adjoint",
                             fmt_ratio(sg / h), verdict(sg / h <= 1.3)))
        if wl in ("lstm", "ode"):
            jax_rows = {i: r["grad_s"] for i, r in res["impls"].items()
                        if i.startswith("jax") and r.get("grad_s")}
            if jax_rows:
                best = min(jax_rows, key=jax_rows.get)
                j = jax_rows[best]
                rows.append((f"{label}: faster than JAX's best rewrite",
                             f"srcdiff {fmt_time(sg)}, JAX {fmt_time(j)} (`{best}`)",
                             verdict(sg < j)))
        if wl == "ode":
            for peer in ("torch", "autograd"):
                p = grad(res, peer)
                if p:
                    rows.append((f"{label}: ≥ 1,000× faster than {peer}", fmt_ratio(p / sg),
                                 verdict(p / sg >= 1000)))
        if wl == "normdoubling":
            rows.append((f"{label}: ≤ 5 µs per call (vjp + pullback)", fmt_time(sg),
                         verdict(sg <= 5e-6)))
        if wl == "vectorised":
            peers_g = {p: grad(res, p) for p in ("numba-hand", "jax", "torch", "autograd")
                       if grad(res, p)}
            if peers_g:
                best = min(peers_g, key=peers_g.get)
                rows.append((f"{label}: within 1.5× of the fastest peer ({best})",
                             fmt_ratio(sg / peers_g[best]), verdict(sg <= 1.5 * peers_g[best])))
        if wl == "gmm":
            cold = srow.get("cold", {}).get("first_call_s")
            warm = srow.get("warm", {}).get("first_call_s")
            if cold is not None:
                rows.append((f"{label}: cold first call ≤ 3 s", fmt_time(cold), verdict(cold <= 3)))
            if warm is not None:
                rows.append((f"{label}: second process (on-disk cache) ≤ 0.5 s",
                             fmt_time(warm) + " (+ " + fmt_time(srow['warm'].get('import_s'))
                             + " import)", verdict(warm <= 0.5)))
        if wl == "lstm" and res.get("memory"):
            mem = res["memory"]
            s = mem.get(sname, {}).get("peak_bytes")
            h = mem.get("numba-hand", {}).get("peak_bytes")
            if s and h:
                rows.append((f"{label}: peak memory of the gradient vs hand-written",
                             f"{s / 2**20:.2f} MiB vs {h / 2**20:.2f} MiB ({s / h:.1f}×)",
                             "reported"))
    return rows


def targets_table(results):
    lines = ["| target | measured | verdict |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in targets(results)]
    return "\n".join(lines)


def machine():
    model = "?"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "platform": platform.platform()}


def srcdiff_revision():
    """The commit srcdiff was measured at, and whether srcdiff/ had uncommitted edits."""
    repo = harness.REPO
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo,
                              capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "srcdiff"], cwd=repo,
                               capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"
    return head + (" with uncommitted edits in srcdiff/" if dirty else "")


def render_markdown(results, opts, elapsed):
    m = machine()
    v = getattr(opts, "saved_versions", None) or peers.versions()
    blas, env = getattr(opts, "saved_blas", None) or peers.blas_info()
    out = ["# Benchmarks: srcdiff against JAX, PyTorch, autograd and hand-written Numba", "",
           "Generated by `make bench` (`benchmarks/run.py"
           + (" --quick" if opts.quick else "") + "`); the tables below are this run's "
           "numbers, the reading after them is written by hand. Timings are medians after "
           "warm-up, in one process; first calls are measured in fresh processes. Gradients "
           "are float64 everywhere.", "",
           "## Machine and versions", "",
           f"- CPU: {m['cpu']}, {m['cores']} cores; {m['platform']}",
           "- " + ", ".join(f"{k} {val}" for k, val in v.items()),
           f"- NumPy's BLAS: {blas}; OPENBLAS_* in force: {env or 'none'}",
           f"- srcdiff measured at commit {srcdiff_revision()}",
           f"- run took {elapsed / 60:.1f} min; load average (1 min) at start "
           f"{LOAD['start']:.2f}, at end {LOAD['end']:.2f} (other processes on this 2-core "
           "machine disturb the timings)", "",
           "Columns: *first call* is transform + compile + one gradient in a fresh process "
           "(imports excluded; with an empty srcdiff cache); *2nd process* is the same in a "
           "second fresh process that reuses srcdiff's on-disk cache; *grad / own primal* "
           "divides by each implementation's own primal (srcdiff: its generated primal, "
           "compiled by Numba; JAX: jit of the primal; torch and autograd: the eager primal); "
           "*grad / Numba primal* divides by the hand-written Numba primal; *err vs "
           "hand-written* is max |g - g_ref| / max |g_ref|; *FD err* compares with central "
           "differences of the natural NumPy primal on 3 coordinates per input.", "",
           "## Targets", "", targets_table(results), "",
           "## Results", ""]
    for res in results:
        out += [case_table(res), ""]
    out += ["## First call: where the time goes (srcdiff)", "", first_call_table(results), ""]
    mem = memory_table(results)
    if mem:
        out += ["## Peak memory", "", mem, ""]
    return "\n".join(out)


def write_markdown(path, text):
    reading = (f"{READING_START}\n## Reading\n\n(Written by hand after a full run.)\n"
               f"{READING_END}\n")
    if os.path.exists(path):
        old = open(path).read()
        if READING_START in old and READING_END in old:
            reading = old[old.index(READING_START):old.index(READING_END) + len(READING_END)] + "\n"
    with open(path, "w") as f:
        f.write(text.rstrip() + "\n\n" + reading)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", action="append", default=[],
                    help="run cases whose WORKLOAD/CASE key contains this (repeatable)")
    ap.add_argument("--impl", action="append", default=[], choices=ORDER,
                    help="run only these implementations (repeatable; `jax` includes its "
                         "variants)")
    ap.add_argument("--quick", action="store_true", help="short timings, no memory runs")
    ap.add_argument("--no-first-call", action="store_true", help="skip the fresh-process runs")
    ap.add_argument("--no-memory", action="store_true", help="skip the D-LSTM memory runs")
    ap.add_argument("--markdown", help="write the report there (keeps its hand-written reading)")
    ap.add_argument("--json", help="write the raw results there")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--render", metavar="JSON",
                    help="no run: write --markdown from the results a run saved with --json")
    opts = ap.parse_args(argv)
    opts.budget = 0.3 if opts.quick else 1.5
    if opts.render:
        saved = json.load(open(opts.render))
        LOAD.update(saved["load"])
        opts.quick = saved["quick"]
        opts.saved_versions, opts.saved_blas = saved.get("versions"), saved.get("blas")
        write_markdown(opts.markdown, render_markdown(saved["results"], opts, saved["elapsed"]))
        print(f"wrote {opts.markdown}")
        return 0
    if opts.quick:
        opts.no_memory = True
    workloads = [w for w in harness.WORKLOADS
                 if not opts.only or any(p.split("/")[0] in w for p in opts.only)]
    cases = harness.all_cases(opts.quick, workloads)
    if opts.only:
        cases = [c for c in cases if any(p in c.key for p in opts.only)]
    if opts.list:
        for c in cases:
            print(c.key, "-", c.title)
        return 0
    m = machine()
    print(f"{m['cpu']}, {m['cores']} cores; " + ", ".join(f"{k} {v}" for k, v in
                                                           peers.versions().items()))
    print("BLAS:", *peers.blas_info())
    start = time.perf_counter()
    LOAD["start"] = os.getloadavg()[0]
    results = [run_case(c, set(opts.impl), opts) for c in cases]
    LOAD["end"] = os.getloadavg()[0]
    elapsed = time.perf_counter() - start
    print()
    print("## Targets\n\n" + targets_table(results) + "\n")
    for res in results:
        print(case_table(res) + "\n")
    print("## First call (srcdiff)\n\n" + first_call_table(results) + "\n")
    mem = memory_table(results)
    if mem:
        print("## Peak memory\n\n" + mem + "\n")
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump({"results": results, "load": LOAD, "quick": opts.quick,
                       "elapsed": elapsed, "versions": peers.versions(),
                       "blas": peers.blas_info()}, f, indent=1, default=str)
    if opts.markdown:
        write_markdown(opts.markdown, render_markdown(results, opts, elapsed))
        print(f"wrote {opts.markdown}")
    print(f"total {elapsed / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
