"""Stage 3: naming, and Python source from the IR and the adjoint IR."""
