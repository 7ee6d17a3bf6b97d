"""Reject what the source transform does not handle, up front, with line, column and a rewrite."""
import gast

from ..errors import UnsupportedError
from .jumps import always_returns

_IN_PLACE = "write through one name and one index: b[i, j] = v"

# node type -> (construct, hint)
REJECTED = {
    gast.BoolOp: ("`and` / `or`", "use np.logical_and / np.logical_or, or np.where"),
    gast.Try: ("try/except", "move error handling outside the differentiated function"),
    gast.With: ("`with` block", "move it outside the differentiated function"),
    gast.Raise: ("`raise`", "check inputs before calling the differentiated function"),
    gast.Assert: ("`assert`", "check inputs before calling the differentiated function"),
    gast.FunctionDef: ("nested function", "define it at module level"),
    gast.Lambda: ("lambda inside the function", "define it at module level with def"),
    gast.ClassDef: ("class definition", "define it at module level"),
    gast.ListComp: ("list comprehension", "build the array with NumPy operations"),
    gast.SetComp: ("set comprehension", "build the array with NumPy operations"),
    gast.DictComp: ("dict comprehension", "use arrays instead of dicts"),
    gast.GeneratorExp: ("generator expression", "build the array with NumPy operations"),
    gast.Dict: ("dict", "use separate variables or arrays"),
    gast.Set: ("set", "use arrays"),
    gast.Yield: ("`yield`", "return an array instead of generating values"),
    gast.YieldFrom: ("`yield from`", "return an array instead of generating values"),
    gast.Await: ("`await`", "differentiate a synchronous function"),
    gast.Global: ("`global` statement", "pass the value as an argument"),
    gast.Nonlocal: ("`nonlocal` statement", "pass the value as an argument"),
    gast.Delete: ("`del`", "leave the name alone; it is freed on return"),
    gast.Starred: ("starred argument `*args`", "pass the arguments one by one"),
    gast.NamedExpr: ("assignment expression `:=`", "assign on a line of its own"),
    gast.JoinedStr: ("f-string", "format strings outside the differentiated function"),
    gast.Import: ("import inside the function", "import at module level"),
    gast.ImportFrom: ("import inside the function", "import at module level"),
}


class Fence:
    """Walks a function once and raises on the first construct the transform refuses."""

    def __init__(self, source):
        self.source = source

    def error(self, node, construct, hint):
        return UnsupportedError(
            construct, filename=self.source.filename, lineno=self.source.file_line(node),
            col=getattr(node, "col_offset", 0) + 1, function=self.source.fun.__name__, hint=hint)

    def check(self):
        fn = self.source.node
        args = fn.args
        if args.vararg or args.kwarg:
            raise self.error(fn, "`*args` / `**kwargs` parameters",
                             "list the parameters by name")
        body = [s for s in fn.body if not _is_docstring(s)]
        for stmt in body:
            self._statement(stmt)
            for node in gast.walk(stmt):
                rejected = REJECTED.get(type(node))
                if rejected:
                    raise self.error(node, *rejected)
                if isinstance(node, gast.Return) and node.value is None:
                    raise self.error(node, "`return` without a value",
                                     "return the value to differentiate")
        if not always_returns(body):
            raise self.error(fn, "a path through the function that ends without `return value`",
                             "end every path with `return value`, or return once on the "
                             "last line")

    def _statement(self, stmt):
        if isinstance(stmt, (gast.Assign, gast.AugAssign, gast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, gast.Assign) else [stmt.target]
            for target in targets:
                if isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name):
                    continue                     # b[i] = v: a write into the array b
                for node in gast.walk(target):
                    if isinstance(node, (gast.Subscript, gast.Attribute)):
                        raise self.error(node, "assignment into an attribute or nested item",
                                         _IN_PLACE)
            if isinstance(stmt, gast.AnnAssign) and stmt.value is None:
                raise self.error(stmt, "annotation without a value", "assign a value")
        elif isinstance(stmt, gast.Expr):
            raise self.error(stmt, "expression statement",
                             "assign its value to a name or remove it; side effects "
                             "inside a differentiated function are not kept")
        elif isinstance(stmt, gast.If):
            for inner in stmt.body + stmt.orelse:
                self._statement(inner)
        elif isinstance(stmt, (gast.For, gast.While)):
            if stmt.orelse:
                raise self.error(stmt, f"`{type(stmt).__name__.lower()} ... else`",
                                 "test a flag after the loop")
            for inner in stmt.body:
                self._statement(inner)
        elif not isinstance(stmt, (gast.Return, gast.Pass, gast.Break, gast.Continue)):
            rejected = REJECTED.get(type(stmt), (f"`{type(stmt).__name__}` statement", ""))
            raise self.error(stmt, *rejected)


def _is_docstring(stmt):
    return (isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Constant)
            and isinstance(stmt.value.value, str))
