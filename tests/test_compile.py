"""Stage 4: generated files in the cache, Numba compilation, the Python fallback, the disk cache."""
import subprocess
import sys
import textwrap

import numpy as np

import srcdiff
from srcdiff.compile.cache import cache_dir
from srcdiff.program import program


def loss(x):
    y = x + 2
    z = y * y * 3
    return z.mean()


def row_means(x):
    # a tuple of axes: Numba's np.sum takes one axis, so this runs as Python
    m = np.sum(x, axis=(1,)) / 3.0
    return np.sum(m * m)


def test_generated_module_is_a_file_in_the_cache_dir():
    prog = program(loss, (0,), True)
    path = prog.compiled.path
    assert path.parent == cache_dir() and path.read_text() == prog.source
    assert path.name.startswith("srcdiff_loss_")


def test_jitted_after_first_call():
    g = srcdiff.grad(loss)
    g(np.ones(3))
    assert g.jitted and g.jit_reason is None


def test_fallback_to_python_keeps_the_gradient_and_the_reason():
    g = srcdiff.grad(row_means)
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(g(x), np.repeat(2 * x.mean(axis=1) / 3, 3).reshape(2, 3))
    assert g.jitted is False
    assert "mean" in g.jit_reason
    np.testing.assert_allclose(g(x), np.repeat(2 * x.mean(axis=1) / 3, 3).reshape(2, 3))


def test_jit_false_runs_python():
    g = srcdiff.grad(loss, jit=False)
    np.testing.assert_allclose(g(np.ones(2)), 9.0)
    assert g.jitted is False and "jit=False" in g.jit_reason


def test_python_and_numba_runs_agree_on_the_same_source():
    x = np.random.default_rng(0).standard_normal((3, 4))
    g_py = srcdiff.grad(loss, jit=False)(x)
    g_nb = srcdiff.grad(loss, jit=True)(x)
    np.testing.assert_allclose(g_nb, g_py, rtol=1e-14)


SCRIPT = textwrap.dedent("""
    import numpy as np, srcdiff
    from srcdiff.program import program

    def f(x):
        return np.sum(np.tanh(x) * x)

    g = srcdiff.grad(f)
    g(np.ones(3))                                     # the one-pass f_grad
    srcdiff.vjp(f, np.ones(3))[1](1.0)                # f_forward, then f_backward
    ds = [program(f, (0,), True).compiled._dispatchers[n]
          for n in ("f_grad", "f_forward", "f_backward")]
    print(g.jitted, sum(sum(d.stats.cache_hits.values()) for d in ds),
          sum(sum(d.stats.cache_misses.values()) for d in ds))
""")


def test_second_process_reuses_the_numba_disk_cache(tmp_path):
    (tmp_path / "user_code.py").write_text(SCRIPT)
    env = {"SRCDIFF_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    runs = [subprocess.run([sys.executable, "user_code.py"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, check=True).stdout.split()
            for _ in range(2)]
    assert runs[0] == ["True", "0", "3"]          # grad, forward and backward compiled
    assert runs[1] == ["True", "3", "0"]          # loaded from disk, not compiled


def test_the_cache_key_changes_with_the_helpers_source():
    # Numba's disk cache of a generated module does not notice the helpers compiled into
    # it changing: their source is part of the module's name in the cache
    import hashlib
    import pathlib

    from srcdiff.compile import jit
    package = pathlib.Path(srcdiff.__file__).parent
    source = b"".join((package / name).read_bytes() for name in
                      ("runtime.py", "compile/numba_runtime.py", "compile/vector_math.py"))
    assert hashlib.sha256(source).hexdigest()[:16] in jit._salt()
    path = program(loss, (0,), True).compiled.path
    assert path.name.split("_")[-1][:-3] == hashlib.sha256(
        (jit._salt() + "\0" + path.read_text()).encode()).hexdigest()[:16]


WRITES_SCRIPT = textwrap.dedent("""
    import numpy as np, srcdiff
    from numba.core import event

    def f(x, w):
        out = np.zeros((3, x.shape[0]))
        for i in range(3):
            out[i] = x * w[i]
            out[i, 1:] = out[i, :-1] * 0.5
        return np.sum(out * out)

    with event.install_recorder("numba:compile") as rec:
        g = srcdiff.grad(f, wrt=(0, 1))(np.ones(4), np.arange(3.0))
    names = [str(e.data["dispatcher"]) for _, e in rec.buffer if e.is_start]
    print(any("f_grad" in n for n in names), any("shape_context" in n for n in names))
""")


def test_writes_of_arrays_do_not_compile_numbas_shape_error_message(tmp_path):
    # Numba's a[i] = v with an array v compiles a formatted error message: 2-3 s of a
    # cold first call; generated code writes arrays with write_at, a loop (in a fresh
    # process and cache, so that the compile events happen)
    (tmp_path / "user_code.py").write_text(WRITES_SCRIPT)
    env = {"SRCDIFF_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "user_code.py"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["True", "False"]


def mismatched(a, b):
    c = a @ b
    return np.sum(c)


def test_tracebacks_point_at_real_lines_of_the_generated_file():
    import traceback
    g = srcdiff.grad(mismatched, jit=False)
    try:
        g(np.ones((2, 3)), np.ones((2, 3)))
    except ValueError as exc:
        frames = traceback.extract_tb(exc.__traceback__)
    else:
        raise AssertionError("a shape mismatch must raise")
    generated = [f for f in frames if f.filename == str(g._program.compiled.path)]
    # (grad's one pass makes a stand-in of c's shape, which checks as the product would)
    assert generated and generated[-1].line in ("c = a @ b", "c = matmul_stand_in(a, b)")
