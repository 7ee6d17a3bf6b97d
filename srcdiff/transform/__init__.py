"""Stage 2: the reverse sweep, from IR to adjoint IR."""
