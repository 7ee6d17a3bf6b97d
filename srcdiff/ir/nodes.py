"""The IR: a function in three-address form, each statement tied to its source line.

Atoms are the operands: a variable, a constant, a sequence or slice of atoms.
A statement assigns one primitive applied to atoms to a fresh variable (names are
assigned once: reassigned user names get versions, ``y``, ``y_1``, ...).
"""
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Var:
    name: str


@dataclass(frozen=True)
class Const:
    value: object
    source: str = None     # how to write it when repr() would not do ("np.pi")


@dataclass(frozen=True)
class Seq:
    items: tuple
    kind: str = "tuple"    # "tuple" or "list", written back as the user wrote it


@dataclass(frozen=True)
class Slice:
    lower: object
    upper: object
    step: object


def atom_vars(atom):
    """The variable names an atom reads."""
    if isinstance(atom, Var):
        return [atom.name]
    if isinstance(atom, Seq):
        return [n for item in atom.items for n in atom_vars(item)]
    if isinstance(atom, Slice):
        return [n for part in (atom.lower, atom.upper, atom.step) for n in atom_vars(part)]
    return []


@dataclass
class Loc:
    """Where a statement came from: file, line, the line's text, the function."""
    filename: str
    lineno: int
    text: str
    function: str = "?"
    col: int = 1


@dataclass
class Apply:
    """``target = prim(*args, **kwargs)``."""
    target: str
    prim: object           # a rules.Primitive, or an Opaque call
    args: list
    kwargs: dict
    loc: Loc
    callee: str = None     # the extra parameter carrying a callable that has no NumPy path
    operator: bool = False  # written as an operator (x / y), not a call (np.divide(x, y))

    def reads(self):
        atoms = list(self.args) + list(self.kwargs.values())
        return [n for a in atoms for n in atom_vars(a)]


@dataclass
class If:
    """``if cond: then else: orelse``.  A name both branches give a value ends each
    branch with an ``assign`` to one merged name (the SSA phi, as a copy)."""
    cond: object           # an atom
    then: list
    orelse: list
    loc: Loc
    merges: list = field(default_factory=list)   # the merged names each arm assigns last


@dataclass
class For:
    """``for index in range(start, stop, step): body``, or (index None)
    ``while cond: body`` where ``test`` computes ``cond`` at the start of each iteration.
    A loop with ``exit`` stops after the first iteration that leaves it true.

    A name the body reassigns that lived before the loop is *carried*: one IR name,
    set before the loop and again at the end of each iteration (an ``assign``).
    """
    index: str
    start: object          # atoms
    stop: object
    step: object
    body: list
    carried: list          # IR names of the carried values
    loc: Loc
    test: list = field(default_factory=list)
    cond: object = None
    exit: object = None    # an atom: leave the loop after an iteration that sets it (break)


def reads(stmts):
    """Every name ``stmts`` read, nested statements included."""
    names = set()
    for stmt in stmts:
        if isinstance(stmt, If):
            names |= set(atom_vars(stmt.cond)) | reads(stmt.then) | reads(stmt.orelse)
        elif isinstance(stmt, For):
            names |= {n for a in (stmt.start, stmt.stop, stmt.step, stmt.cond, stmt.exit)
                      for n in atom_vars(a)}
            names |= reads(stmt.test) | reads(stmt.body)
        else:
            names |= set(stmt.reads())
    return names


def applies(body):
    """Every Apply in ``body``, branches and loops included, in source order."""
    for stmt in body:
        if isinstance(stmt, If):
            yield from applies(stmt.then)
            yield from applies(stmt.orelse)
        elif isinstance(stmt, For):
            yield from applies(stmt.test)
            yield from applies(stmt.body)
        else:
            yield stmt


@dataclass
class Opaque:
    """A call to something with no rule: fine on constants, an error on active values."""
    name: str              # the name it is passed into generated code under
    obj: object
    label: str = None      # how the user wrote it: "np.sinc"


@dataclass
class Function:
    """A lowered function: parameters, body, the returned atom, and where it came from."""
    name: str
    params: list           # parameter names, in call order
    body: list             # Apply and If statements
    result: object         # the returned atom
    result_loc: Loc
    filename: str
    lineno: int
    free_values: dict = field(default_factory=dict)  # extra parameter -> getter of its value
    namer: object = None                             # hands out further names
    numbers: set = field(default_factory=set)        # IR names known to hold numbers
