"""Numba's on-disk cache for srcdiff's own compiled helpers, shared by every generated module.

A generated module's compiled code is cached with the module's file (``cache.py``),
so a new or edited function compiles from scratch in a new process.  Most of that
time (two thirds, for the GMM objective) went to compiling the helpers it calls:
``unbroadcast``, ``scatter_add_to``, the stacks, each once per argument type.  With
this cache a helper is compiled once per machine and argument type, and every later
function loads it.

The helpers' cache lives in srcdiff's cache directory, in a folder named by a digest
of the helpers' source, srcdiff's and Numba's versions and the compile options
(``jit.compile_salt``): Numba's own locator keys a cached function on its file alone,
and would hand back a helper compiled before a change to another file it calls.
"""
import functools
import hashlib
import pathlib

try:
    import fcntl
except ImportError:          # Windows: no lock, so no shared cache of the helpers
    fcntl = None

from numba.core import caching
from numba.extending import overload as numba_overload
from numba.extending import register_jitable as numba_register_jitable

from .cache import cache_dir

# Numba's internals (CacheImpl is _CacheImpl in older Numbas); without them the helpers
# compile again in every process
_CacheImpl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None)
_CacheLocator = getattr(caching, "_CacheLocator", None)


@functools.cache
def _folder():
    from .jit import compile_salt
    return "helpers-" + hashlib.sha256(compile_salt().encode()).hexdigest()[:16]


@functools.cache
def _helper_files():
    from .jit import compiled_with
    return set(compiled_with())


if _CacheLocator is not None:
    class HelperCacheLocator(_CacheLocator):
        """Numba's cache locator for functions defined in srcdiff's helper files."""

        def __init__(self, py_func):
            self._lineno = py_func.__code__.co_firstlineno

        def get_cache_path(self):
            return str(cache_dir() / _folder())

        def get_source_stamp(self):
            return _folder()                 # the folder's name already says which source

        def get_disambiguator(self):
            return str(self._lineno)

        @classmethod
        def from_function(cls, py_func, py_file):
            if pathlib.Path(py_file).resolve() in _helper_files():
                return cls(py_func)
            return None                      # the user's and Numba's functions: Numba's locators


def _one_at_a_time(save):
    """Numba's ``IndexDataCacheFile.save`` holding a lock on the index, for the caches in
    srcdiff's directory.  Two processes saving two entries of one index at once (pytest
    workers compiling one helper for two argument types) can take the same data file,
    and leave one entry of the index naming the other's code: Numba would then load
    code compiled for other types."""
    @functools.wraps(save)
    def locked(self, key, data):
        if not str(self._cache_path).startswith(str(cache_dir())):
            return save(self, key, data)
        with open(self._index_path + ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                return save(self, key, data)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
    locked.srcdiff_locked = True
    return locked


def _install():
    """Put the helpers' locator first in Numba's list: the options the helpers' njit
    gets, ``{"cache": True}``, or none without Numba's caching internals (or a way to
    lock a file)."""
    locators = getattr(_CacheImpl, "_locator_classes", None)
    index = getattr(caching, "IndexDataCacheFile", None)
    if _CacheLocator is None or not isinstance(locators, list) or fcntl is None \
            or not callable(getattr(index, "save", None)):
        return {}
    if not getattr(index.save, "srcdiff_locked", False):
        index.save = _one_at_a_time(index.save)
    if HelperCacheLocator not in locators:
        locators.insert(0, HelperCacheLocator)
    return {"cache": True}


# importing this module installs the locator, before the helpers' decorators run
JIT_OPTIONS = _install()


def overload(fn, **options):
    """Numba's ``overload``, its compiled code kept in the helpers' disk cache."""
    return numba_overload(fn, jit_options=JIT_OPTIONS, **options)


def register_jitable(fn):
    """Numba's ``register_jitable``, its compiled code kept in the helpers' disk cache."""
    return numba_register_jitable(**JIT_OPTIONS)(fn) if JIT_OPTIONS else numba_register_jitable(fn)
