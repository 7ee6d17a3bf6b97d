"""Stage 1: read a function's source, resolve its names, lower it to IR."""
