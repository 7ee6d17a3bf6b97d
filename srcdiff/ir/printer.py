"""Text dumps of the IR and the adjoint IR, for people reading what srcdiff built."""
from .nodes import Const, For, If, Opaque, Seq, Slice, Var


def atom(a):
    if isinstance(a, Var):
        return a.name
    if isinstance(a, Const):
        return a.source or repr(a.value)
    if isinstance(a, Seq):
        inner = ", ".join(atom(i) for i in a.items)
        if a.kind == "list":
            return f"[{inner}]"
        return f"({inner},)" if len(a.items) == 1 else f"({inner})"
    if isinstance(a, Slice):
        parts = [("" if isinstance(p, Const) and p.value is None else atom(p))
                 for p in (a.lower, a.upper, a.step)]
        return ":".join(parts).rstrip(":") or ":"
    return repr(a)


def apply_text(stmt):
    prim = stmt.prim
    name = prim.name if not isinstance(prim, Opaque) else f"opaque {prim.name}"
    args = [atom(a) for a in stmt.args] + [f"{k}={atom(v)}" for k, v in stmt.kwargs.items()]
    return f"{stmt.target} = {name}({', '.join(args)})"


def _rows(rows):
    width = max([len(text) for text, _ in rows] + [0]) + 2
    return "\n".join(f"{text:<{width}}# line {line}" if line else text for text, line in rows)


def _exit_rows(loop, indent):
    return [(f"{indent}    if {atom(loop.exit)}: break", loop.loc.lineno)] if loop.exit else []


def _body_rows(body, indent):
    rows = []
    for s in body:
        if isinstance(s, For) and s.index is None:
            rows.append((f"{indent}while:  carried ({', '.join(s.carried)})", s.loc.lineno))
            rows += _body_rows(s.test, indent + "    ")
            rows.append((f"{indent}    if not {atom(s.cond)}: break", s.loc.lineno))
            rows += _body_rows(s.body, indent + "    ")
            rows += _exit_rows(s, indent)
        elif isinstance(s, For):
            bounds = ", ".join(atom(a) for a in (s.start, s.stop, s.step))
            rows.append((f"{indent}for {s.index} in range({bounds}):  "
                         f"carried ({', '.join(s.carried)})", s.loc.lineno))
            rows += _body_rows(s.body, indent + "    ") or [(indent + "    pass", None)]
            rows += _exit_rows(s, indent)
        elif isinstance(s, If):
            rows.append((f"{indent}if {atom(s.cond)}:", s.loc.lineno))
            rows += _body_rows(s.then, indent + "    ") or [(indent + "    pass", None)]
            if s.orelse:
                rows.append((f"{indent}else:", None))
                rows += _body_rows(s.orelse, indent + "    ")
        else:
            rows.append((indent + apply_text(s), s.loc.lineno))
    return rows


def dump_function(fn):
    """The IR of a lowered function, one statement a line with its source line."""
    params = ", ".join(fn.params + list(fn.free_values))
    rows = [(f"def {fn.name}({params}):", fn.lineno)] + _body_rows(fn.body, "    ")
    rows.append((f"    return {atom(fn.result)}", fn.result_loc.lineno))
    return _rows(rows)


def _block_rows(adj, blocks, indent):
    rows = []
    for block in blocks:
        stmt = block.stmt
        if isinstance(stmt, For):
            rows.append((f"{indent}{'for ' + stmt.index if stmt.index else 'while'} reversed:"
                         "  (values of each iteration restored)", stmt.loc.lineno))
            rows += _block_rows(adj, block.body, indent + "    ")
            continue
        if isinstance(stmt, If):
            rows.append((f"{indent}if {atom(stmt.cond)}:  (branch taken forward)", stmt.loc.lineno))
            rows += _block_rows(adj, block.then, indent + "    ") or [(indent + "    pass", None)]
            rows.append((f"{indent}else:", None))
            rows += _block_rows(adj, block.orelse, indent + "    ") or [(indent + "    pass", None)]
            continue
        for c in block.contributions:
            part = f"[{c.part}]" if c.part is not None else ""
            rows.append((f"{indent}{adj.adjoint_names[c.var]} += vjp {stmt.prim.name}"
                         f".{c.param}{part}(g={adj.adjoint_names.get(stmt.target, '0')}, "
                         f"ans={stmt.target})", stmt.loc.lineno))
    return rows


def dump_adjoint(adj):
    """The adjoint IR: which rule sends which cotangent where, in reverse order."""
    rows = [(f"adjoint {adj.fn.name} wrt ({', '.join(adj.wrt)}) "
             f"seed {adj.seed} active {{{', '.join(sorted(adj.active))}}}", adj.fn.lineno)]
    rows += _block_rows(adj, adj.blocks, "    ")
    for p in adj.wrt:
        rows.append((f"    return {adj.adjoint_names.get(p, '0')} for {p}", None))
    return _rows(rows)
