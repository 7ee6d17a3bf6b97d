"""Find a function's source, parse it with gast, and resolve the names it reads."""
import builtins
import inspect
import textwrap
from dataclasses import dataclass

import gast

from ..errors import SourceUnavailableError


@dataclass
class Source:
    """A parsed function: its ``FunctionDef``, where it lives, and how to find its names."""
    fun: object
    node: object           # gast.FunctionDef
    filename: str
    first_line: int        # file line of the source's first line
    lines: list            # the source lines, for comments in generated code

    def file_line(self, node):
        return self.first_line + getattr(node, "lineno", 1) - 1

    def line_text(self, node):
        k = getattr(node, "lineno", 1) - 1
        return self.lines[k].strip() if 0 <= k < len(self.lines) else ""

    def lookup(self, name):
        """``(found, getter)`` for a free name: closure cell, then globals, then builtins."""
        code = self.fun.__code__
        if name in code.co_freevars:
            cell = self.fun.__closure__[code.co_freevars.index(name)]
            return True, lambda: cell.cell_contents
        namespace = self.fun.__globals__
        if name in namespace:
            return True, lambda: namespace[name]
        if hasattr(builtins, name):
            return True, lambda: getattr(builtins, name)
        return False, None


def _unavailable(fun, why, hint):
    name = getattr(fun, "__qualname__", None) or getattr(fun, "__name__", repr(fun))
    code = getattr(fun, "__code__", None)
    return SourceUnavailableError(why, filename=getattr(code, "co_filename", "<unknown>"),
                                  lineno=getattr(code, "co_firstlineno", 0), col=1,
                                  function=name, hint=hint)


def _lambda_node(tree, fun):
    """The one lambda in ``tree`` whose parameters match ``fun``'s, as a FunctionDef."""
    code = fun.__code__
    wanted = list(code.co_varnames[:code.co_argcount])
    found = [n for n in gast.walk(tree) if isinstance(n, gast.Lambda)
             and [a.id for a in n.args.args] == wanted]
    if len(found) != 1:
        return None
    lam = found[0]
    ret = gast.Return(value=lam.body)
    gast.copy_location(ret, lam.body)
    node = gast.FunctionDef(name="<lambda>", args=lam.args, body=[ret], decorator_list=[],
                            returns=None, type_comment=None, type_params=[])
    return gast.copy_location(node, lam)


def get_source(fun):
    """Parse ``fun``'s source; raise ``SourceUnavailableError`` saying what to do instead."""
    if not inspect.isfunction(fun):
        raise _unavailable(
            fun, f"callable without Python source ({type(fun).__name__})",
            "srcdiff differentiates Python functions it can read; wrap the call in a def, "
            "for example `def f(x): return np.sin(x)`")
    filename = fun.__code__.co_filename
    exec_made = filename in ("<string>", "<stdin>")   # linecache may hold another snippet
    try:
        if exec_made:
            raise OSError(filename)
        lines, first_line = inspect.getsourcelines(fun)
    except (OSError, TypeError):
        raise _unavailable(
            fun, "function whose source is not available",
            "it was defined in an interactive session or with exec; define it in a .py file") from None
    text = textwrap.dedent("".join(lines))
    try:
        tree = gast.parse(text)
    except SyntaxError:
        tree = None
    if fun.__name__ == "<lambda>":
        node = _lambda_node(tree, fun) if tree is not None else None
        if node is None:
            raise _unavailable(
                fun, "lambda whose source cannot be singled out",
                "define it with def (one lambda per line can be read, several cannot)")
    else:
        node = next((n for n in gast.walk(tree) if isinstance(n, gast.FunctionDef)
                     and n.name == fun.__name__), None) if tree is not None else None
        if node is None:
            raise _unavailable(fun, "function whose source cannot be parsed",
                               "define it with a plain def statement")
    code = fun.__code__
    wanted = list(code.co_varnames[:code.co_argcount + code.co_kwonlyargcount])
    args = node.args
    if [a.id for a in args.posonlyargs + args.args + args.kwonlyargs] != wanted:
        raise _unavailable(fun, "function whose source does not match its code",
                           "the file changed since it was imported; reload it")
    return Source(fun=fun, node=node, filename=fun.__code__.co_filename,
                  first_line=first_line, lines=text.splitlines())
