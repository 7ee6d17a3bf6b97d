"""The reverse sweep: from a function's IR to its adjoint IR.

Statements are visited last to first; each active one becomes a block that
sends its result's cotangent to its active operands through the primitive's rule.
Names are assigned once in the IR, so no value needs storing: the forward pass
keeps every value the adjoint reads alive and hands them over.
"""
from dataclasses import dataclass, field

from ..ir.analysis import activity, bind, unsupported
from ..ir.nodes import Const, For, If, Seq, Var, atom_vars


@dataclass
class Contribution:
    """``adjoint[var] += rule output for param`` (for element ``part`` of a sequence)."""
    var: str
    param: str
    part: int = None


@dataclass
class Block:
    """The adjoint of one IR statement: the rule's inputs and where its outputs go."""
    stmt: object
    bindings: dict
    contributions: list


@dataclass
class BranchBlock:
    """The adjoint of an If: the branch taken in the forward pass, reversed."""
    stmt: object
    then: list
    orelse: list


@dataclass
class LoopBlock:
    """The adjoint of a For: its iterations run backwards, each restored, then reversed."""
    stmt: object
    body: list


@dataclass
class Adjoint:
    fn: object
    wrt: list                      # IR parameter names, in the order gradients are returned
    active: set
    seed: str                      # the cotangent of the result: the backward's last parameter
    blocks: list = field(default_factory=list)
    adjoint_names: dict = field(default_factory=dict)


def _check_required(stmt, bindings):
    for param, allowed in stmt.prim.rule.require.items():
        atom = bindings.get(param, Const(None))
        if not (isinstance(atom, Const) and atom.value in allowed):
            raise unsupported(stmt.loc, f"{stmt.prim.name} with {param}={getattr(atom, 'value', atom)!r}",
                              f"its derivative rule supports {param} in {allowed} only")


def reverse(fn, wrt):
    """The adjoint IR of ``fn`` with respect to the IR parameters ``wrt``."""
    if isinstance(fn.result, Seq):
        raise unsupported(fn.result_loc, "return of a tuple",
                          "return one array; differentiate each output separately")
    active = activity(fn, wrt)
    namer = fn.namer
    result_var = fn.result.name if isinstance(fn.result, Var) else None
    seed = namer.adjoint(result_var) if result_var else namer.fresh("dout")
    adj = Adjoint(fn=fn, wrt=list(wrt), active=active, seed=seed)
    if result_var in active:
        adj.adjoint_names[result_var] = seed
    adj.blocks = _reverse_body(fn.body, adj)
    return adj


def _reverse_body(body, adj):
    blocks = []
    for stmt in reversed(body):
        if isinstance(stmt, If):
            then, orelse = _reverse_body(stmt.then, adj), _reverse_body(stmt.orelse, adj)
            if then or orelse:
                blocks.append(BranchBlock(stmt, then, orelse))
        elif isinstance(stmt, For):
            body = _reverse_body(stmt.body, adj)
            if body:
                blocks.append(LoopBlock(stmt, body))
        elif stmt.target in adj.active:
            blocks.append(_block(stmt, adj))
    return blocks


def _block(stmt, adj):
    bindings = bind(stmt)
    _check_required(stmt, bindings)
    rule = stmt.prim.rule
    active = adj.active
    contributions = []
    for param in rule.wrt:
        atom = bindings.get(param)
        if param == rule.sequence and isinstance(atom, Seq):
            contributions += [Contribution(item.name, param, k) for k, item in enumerate(atom.items)
                              if isinstance(item, Var) and item.name in active]
        elif param == rule.sequence:
            raise unsupported(stmt.loc, f"{stmt.prim.name} of a value that is not a list or "
                              "tuple written in the call",
                              "write the sequence out in the call: np.stack([a, b])")
        elif isinstance(atom, Var) and atom.name in active:
            contributions.append(Contribution(atom.name, param))
        elif any(n in active for n in atom_vars(atom)):
            raise unsupported(stmt.loc, f"a sequence of differentiable values passed to "
                              f"{stmt.prim.name}", "make it an array first: np.array([a, b])")
    for c in contributions:
        if c.var not in adj.adjoint_names:
            adj.adjoint_names[c.var] = adj.fn.namer.adjoint(c.var)
    return Block(stmt, bindings, contributions)
