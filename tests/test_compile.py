"""Stage 4: generated files in the cache, Numba compilation, the Python fallback, the disk cache."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import srcdiff
from srcdiff import runtime
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


HELPERS_SCRIPT = textwrap.dedent("""
    import importlib, os, sys
    import numpy as np, srcdiff
    from numba.core import event
    from srcdiff.compile.jit import compiled_with

    helpers = {str(path) for path in compiled_with()}
    user = importlib.import_module(sys.argv[1])
    with event.install_recorder("numba:compile") as rec:
        g = srcdiff.grad(user.loss, wrt=(0, 1))
        print(g(np.linspace(0.1, 1.0, 5), 2.0))
    files = [os.path.realpath(e.data["dispatcher"].py_func.__code__.co_filename)
             for _, e in rec.buffer if e.is_start]
    print(g.jitted, sum(f in helpers for f in files), sum(f not in helpers for f in files))
""")

LOSS = "import numpy as np\n\n\ndef loss(x, w):\n    return np.sum(np.tanh(x * w) * x)\n"


def test_a_new_function_in_a_new_process_loads_the_helpers_compiled_before(tmp_path):
    # a generated module's own cache is keyed on its text: a new (or edited) function
    # compiles again, but the helpers it calls come from the helpers' disk cache
    (tmp_path / "user_code.py").write_text(HELPERS_SCRIPT)
    for name in ("first", "second"):
        (tmp_path / f"{name}.py").write_text(LOSS)
    env = {"SRCDIFF_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    runs = [subprocess.run([sys.executable, "user_code.py", name], cwd=tmp_path, env=env,
                           capture_output=True, text=True, check=True).stdout.split("\n")
            for name in ("first", "second")]
    assert runs[0][0] == runs[1][0]                   # the same gradient
    jitted, helpers, others = runs[0][1].split()
    assert jitted == "True" and int(helpers) > 3 and int(others) >= 1
    jitted, helpers, others = runs[1][1].split()
    assert jitted == "True" and helpers == "0" and int(others) >= 1
    folders = [p.name for p in (tmp_path / "cache").iterdir() if p.name.startswith("helpers-")]
    assert len(folders) == 1


def test_the_helpers_cache_folder_is_named_by_everything_they_are_compiled_from():
    import hashlib

    from srcdiff.compile import helper_cache, jit
    from srcdiff.compile.cache import cache_dir
    locator = helper_cache.HelperCacheLocator.from_function(
        runtime.unbroadcast, runtime.__file__)
    assert locator.get_cache_path() == str(cache_dir() / (
        "helpers-" + hashlib.sha256(jit.compile_salt().encode()).hexdigest()[:16]))
    # the user's functions (and the generated modules) are cached by Numba's locators
    assert helper_cache.HelperCacheLocator.from_function(loss, __file__) is None


def test_the_cache_key_changes_with_the_helpers_source():
    # Numba's disk cache of a generated module does not notice the helpers compiled into
    # it changing: their source is part of the module's name in the cache
    import hashlib
    import pathlib

    from srcdiff.compile import jit
    package = pathlib.Path(srcdiff.__file__).parent
    source = b"".join((package / name).read_bytes() for name in
                      ("runtime.py", "compile/numba_runtime.py", "compile/vector_math.py"))
    assert hashlib.sha256(source).hexdigest()[:16] in jit.compile_salt()
    path = program(loss, (0,), True).compiled.path
    assert path.name.split("_")[-1][:-3] == hashlib.sha256(
        (jit.compile_salt() + "\0" + path.read_text()).encode()).hexdigest()[:16]


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


def scaled_pick(x, i, scale):
    return x[i] * scale


def test_compiled_passes_called_directly_keep_the_users_errors_and_numbas_fallback():
    # once forward and backward have compiled, vjp calls Numba's dispatchers past
    # Compiled; what they raise is still told apart: an error of the compiled code is the
    # user's (raised, jit kept), a failure to compile new types runs the module as Python
    x = np.array([1.0, 2.0, 3.0])
    for _ in range(2):                 # the second pullback sets up the direct calls
        y, pullback = srcdiff.vjp(scaled_pick, x, 1, 2.0)
        np.testing.assert_allclose(pullback(1.0)[0], [0.0, 2.0, 0.0])
    prog = program(scaled_pick, (0, 2), True, "auto")
    assert prog._compiled_passes is not None and prog.compiled.jitted
    with pytest.raises(IndexError):
        srcdiff.vjp(scaled_pick, x, 7, 2.0)
    assert prog.compiled.jitted and prog.compiled.jit_reason is None
    # an index Numba cannot type (a Python object with __index__): Python from then on
    class Index:
        def __index__(self):
            return 2
    y, pullback = srcdiff.vjp(scaled_pick, x, Index(), 2.0)
    assert y == 6.0 and not prog.compiled.jitted and prog.compiled.jit_reason
    np.testing.assert_allclose(pullback(1.0)[0], [0.0, 0.0, 2.0])
    y, pullback = srcdiff.vjp(scaled_pick, x, 1, 2.0)       # Python now, the same numbers
    np.testing.assert_allclose(pullback(1.0)[0], [0.0, 2.0, 0.0])


def test_saves_into_srcdiffs_cache_wait_for_the_index_lock(tmp_path, monkeypatch):
    # two processes adding entries to one index at once could both take its next data
    # file, one entry then naming the other's code: a save holds the index's lock
    import fcntl
    import threading

    from numba.core import caching

    from srcdiff.compile import helper_cache  # noqa: F401  (wraps the save)
    monkeypatch.setenv("SRCDIFF_CACHE_DIR", str(tmp_path))
    index = caching.IndexDataCacheFile(str(tmp_path), "helper", "stamp")
    with open(tmp_path / "helper.nbi.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)         # another process saving
        saving = threading.Thread(target=index.save, args=("key", b"code"))
        saving.start()
        saving.join(0.5)
        assert saving.is_alive() and index.load("key") is None
        fcntl.flock(lock, fcntl.LOCK_UN)
    saving.join(10)
    assert not saving.is_alive() and index.load("key") == b"code"
