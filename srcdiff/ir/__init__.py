"""Stage 1's output: the IR, its analyses and its printer."""
