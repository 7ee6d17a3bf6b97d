"""Generated modules live as files in a cache directory and are imported from there.

Tracebacks and pdb then show real lines, and Numba's on-disk cache (which keys on
the file) lets a second process skip compilation.  A file's name carries a digest
of its text, so a changed function gets a new file and a stale one is never used.
"""
import hashlib
import importlib.util
import os
import sys
import tempfile
from pathlib import Path


def cache_dir():
    """``$SRCDIFF_CACHE_DIR``, else ``~/.cache/srcdiff`` (a temporary folder if unwritable)."""
    root = os.environ.get("SRCDIFF_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "srcdiff")
    path = Path(root)
    try:
        path.mkdir(parents=True, exist_ok=True)
        if os.access(path, os.W_OK):
            return path
    except OSError:
        pass
    path = Path(tempfile.gettempdir()) / f"srcdiff-{os.getuid() if hasattr(os, 'getuid') else 0}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_module(text, stem, salt=""):
    """Write ``text`` to the cache (once; the name is content-addressed) and return its path.

    ``salt`` (compile options, versions) enters the name too, so that Numba's cache of
    a file compiled under other options is never picked up.
    """
    digest = hashlib.sha256((salt + "\0" + text).encode()).hexdigest()[:16]
    path = cache_dir() / f"srcdiff_{stem}_{digest}.py"
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    return path


def import_path(path, module_name):
    """Import the file at ``path`` as a fresh module called ``module_name``."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module
