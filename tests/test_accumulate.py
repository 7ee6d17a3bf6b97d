"""Cotangents updated in place (srcdiff/emit/accumulate.py): sums of reads and zeroing of
writes, only where the array is one no other name sees.  The corpus checks the numbers."""
import numpy as np
import pytest

import srcdiff
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


ZEROING = "db = assign_at(db_1, i, 0.0)"
READER = "dv = unbroadcast(db_1[i], v)"


def test_a_fresh_cotangent_is_zeroed_in_place_after_its_part_is_read():
    assert rewritten(f"db_1 = dy * 2.0\n{ZEROING}\n{READER}\nz = db") == [
        "db_1 = dy * 2.0", "dv = unbroadcast(copy_of(db_1[i]), v)", "db = zero_at(db_1, i)",
        "z = db"]
    # no reader (the written value was not differentiated): zeroed all the same
    assert rewritten(f"db_1 = zeros_like(b)\n{ZEROING}")[-1] == "db = zero_at(db_1, i)"


def test_a_cotangent_another_name_sees_or_read_later_is_copied():
    for body in (f"db_1 = dout\n{ZEROING}\n{READER}",                 # the caller's array
                 f"db_1 = dy * 2.0\nw = db_1\n{ZEROING}\n{READER}\nz = w",   # w sees it
                 f"db_1 = dy * 2.0\n{ZEROING}\n{READER}\nz = db_1",   # read after
                 f"db_1 = dy * 2.0\np = db_1[0:2]\n{ZEROING}\n{READER}"):   # a view of it
        assert "zero_at" not in " ".join(rewritten(body)), body


def test_an_array_handed_to_a_name_nothing_else_reads_stays_fresh():
    moved = f"dx = zeros_like(x)\nda = dx\n{SCATTER.replace('dx', 'da')}"
    assert rewritten(moved)[-1] == IN_PLACE.replace("dx", "da")
    kept = f"dx = zeros_like(x)\nda = dx\n{SCATTER.replace('dx', 'da')}\nz = dx"
    assert IN_PLACE.replace("dx", "da") not in rewritten(kept)


def rows_written(x):
    s = np.zeros((2, 3))
    for i in range(2):
        s[i] = x * (i + 1.0)
    return np.sum(s * s)


@pytest.mark.parametrize("jit", [False, True])
def test_zeroing_in_place_keeps_the_part_it_read(jit):
    # the row's cotangent is read (a view), then the row zeroed: without the copy, the
    # value's cotangent would read the zeros
    g = srcdiff.grad(rows_written, jit=jit)
    assert "zero_at(" in g.source and "copy_of(" in g.source
    x = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(g(x), 10.0 * x, rtol=1e-14)


def test_only_plain_zeroing_and_plain_moves_count():
    # zero_at writes 0.0: a write of -0.0 keeps its copy; a store into an element moves
    # nothing into the array stored into
    assert "zero_at" not in " ".join(rewritten("db_1 = dy * 2.0\ndb = assign_at(db_1, i, -0.0)"))
    stored = "dx = zeros_like(x)\nst[k] = dx\nst = st + scatter_add(a, i, g)"
    assert "scatter_add_to" not in " ".join(rewritten(stored))
