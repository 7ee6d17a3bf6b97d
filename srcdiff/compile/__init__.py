"""Stage 4: write generated modules to the cache, import them, compile with Numba."""
