"""Cotangents of array reads added in place (srcdiff/emit/accumulate.py): only where the
array is one no other name sees.  End to end, the corpus checks the numbers."""
from srcdiff.emit.accumulate import accumulate_in_place

SCATTER = "dx = dx + scatter_add(x, i, g)"
IN_PLACE = "dx = scatter_add_to(dx, i, g)"


def rewritten(body):
    lines = ["    " + line for line in body.strip("\n").splitlines()]
    return [line.strip() for line in accumulate_in_place(lines)]


def test_a_fresh_accumulator_takes_the_sum_in_place():
    assert IN_PLACE in rewritten(f"dx = zeros_like(x)\n{SCATTER}\n{SCATTER}")
    assert rewritten(f"dx = dy * 2.0\n# a comment\n{SCATTER}")[-1] == IN_PLACE


def test_an_array_another_name_sees_is_left_alone():
    for body in (f"dx = zeros_like(x)\ndz = dx\n{SCATTER}",          # dz sees it
                 f"dx = dout\n{SCATTER}",                             # the caller's array
                 f"dx = unbroadcast(dy, x)\n{SCATTER}",               # may be dy itself
                 f"dx = zeros_like(x)\nv = dx[0:2]\n{SCATTER}",       # a view of it
                 f"{SCATTER}"):                                       # a parameter
        assert IN_PLACE not in rewritten(body), body


def test_branches_and_loops_keep_what_holds_on_every_path():
    skipped_arm = f"dx = zeros_like(x)\nif c:\n    dx = dy\n{SCATTER}"
    assert IN_PLACE not in rewritten(skipped_arm)
    both_arms = f"if c:\n    dx = zeros_like(x)\nelse:\n    dx = dy + 1.0\n{SCATTER}"
    assert rewritten(both_arms)[-1] == IN_PLACE
    aliased_later = f"dx = zeros_like(x)\nfor k in range(3):\n    {SCATTER}\n    d = dx"
    assert IN_PLACE not in rewritten(aliased_later)        # the second pass would see d
    kept = f"dx = zeros_like(x)\nfor k in range(3):\n    {SCATTER}\n    d = dx * 2.0"
    assert IN_PLACE in rewritten(kept)


def test_a_while_loop_is_a_loop_too():
    aliased_later = (f"dx = zeros_like(x)\nwhile True:\n    if c:\n        break\n"
                     f"    {SCATTER}\n    d = dx")
    assert IN_PLACE not in rewritten(aliased_later)        # the second pass would see d
