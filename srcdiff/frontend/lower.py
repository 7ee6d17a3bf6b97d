"""Lower a fenced gast function to IR: three-address form, one name per value.

Names are resolved here, once, to the objects they stand for: ``xp.sin`` with
``import numpy as xp`` becomes the primitive ``np.sin``.  The user's own global
values (arrays, numbers) become extra parameters of the generated code, read
afresh at every call; module constants (``np.pi``) are written in place.
"""
import inspect
import math
import os
import sysconfig
import types

import gast
import numpy as np

from .. import rules, runtime
from ..emit.naming import RESERVED, Namer
from ..ir.nodes import Apply, Const, Function, If, Loc, Opaque, Seq, Slice, Var, atom_vars
from . import jumps
from .fence import Fence, _is_docstring
from .liveness import Liveness
from .loops import LoopLocal, Loops
from .sharing import Sharing
from .source import get_source

BINOPS = {gast.Add: np.add, gast.Sub: np.subtract, gast.Mult: np.multiply,
          gast.Div: np.true_divide, gast.Pow: np.power, gast.MatMult: np.matmul,
          gast.Mod: np.mod, gast.FloorDiv: np.floor_divide}
UNARYOPS = {gast.USub: np.negative, gast.UAdd: np.positive, gast.Not: np.logical_not}
COMPARE = {gast.Lt: np.less, gast.LtE: np.less_equal, gast.Gt: np.greater,
           gast.GtE: np.greater_equal, gast.Eq: np.equal, gast.NotEq: np.not_equal}
_STACKING = {id(np.array), id(np.asarray)}
_TUPLE_ONLY = {id(np.concatenate), id(np.stack)}   # Numba takes a tuple of arrays, not a list
_SEQUENCE_TAKING = {id(np.array), id(np.concatenate), id(np.stack)}
# results that may share memory with their first argument
_VIEWS = {id(np.reshape), id(np.transpose), id(np.ravel), id(np.asarray)}


class _Unresolved:
    """A name chain that is not a plain object (a local's attribute, say)."""


def _is_plain_value(value):
    return isinstance(value, (bool, int, float, complex, str, type(None), np.number))


class Lowerer(Loops, Sharing):
    """Lowers one function; a child Lowerer inlines a called user function into the
    same IR (same names, same statement list), resolving names in the callee's module."""

    def __init__(self, source, parent=None):
        self.source = source
        self.fence = Fence(source)
        self.fence.check()
        self.node = fn = jumps.rewrite(source.node)
        self.liveness = Liveness(fn)
        self.current = None       # the statement being lowered
        user_names = {n.id for n in gast.walk(fn) if isinstance(n, gast.Name)}
        self.versions = {}        # user's name -> current atom
        self.free_names = {}      # user's global name -> extra parameter
        self.iterated = {}        # roots of arrays loops iterate over -> the loop's line
        self.returning_after_loop = None   # the loop whose taken return is being lowered
        self.params = []
        self.parent, self.call_site = parent, None    # an inlined function's caller, and the call
        if parent is not None:
            self.namer, self.body = parent.namer, parent.body
            self.namer.user_names |= user_names
            self.free_values, self.view_base = parent.free_values, parent.view_base
            self.scalars, self.shapes = parent.scalars, parent.shapes
            self.index_copies = parent.index_copies
            self.iterated = parent.iterated
            self.inlining = parent.inlining + [source.fun]
            return
        self.namer = Namer(user_names)
        self.body = []
        self.free_values = {}     # extra parameter -> getter of the global value
        self.view_base = {}       # IR name -> the IR names whose memory it may share
        self.scalars = set()      # IR names known to hold numbers (never an array)
        self.shapes = set()       # IR names holding a shape tuple
        self.index_copies = set()  # IR names keeping a range index for after its loop
        self.inlining = [source.fun]
        args = fn.args
        for a in args.posonlyargs + args.args + args.kwonlyargs:
            name = self.namer.claim(a.id if a.id not in RESERVED else a.id + "_")
            self.versions[a.id] = Var(name)
            self.params.append(name)

    # -- helpers -------------------------------------------------------------
    def error(self, node, construct, hint=""):
        return self.fence.error(node, construct, hint)

    def loc(self, node):
        return Loc(self.source.filename, self.source.file_line(node), self.source.line_text(node),
                   self.source.fun.__name__, getattr(node, "col_offset", 0) + 1)

    def emit(self, prim, args, kwargs, node, target=None, callee=None):
        name = target or self.namer.temp()
        operator = isinstance(node, (gast.BinOp, gast.UnaryOp, gast.Compare))
        if (prim is rules.GETITEM or id(getattr(prim, "impl", None)) in _VIEWS) \
                and args and isinstance(args[0], Var):
            self.share(name, args[0])
        self.infer_number(name, prim, args)
        self.body.append(Apply(name, prim, list(args), dict(kwargs), self.loc(node), callee,
                               operator))
        return Var(name)

    def pass_in(self, func, obj):
        """An extra parameter carrying the callable ``obj`` into generated code."""
        name = self.namer.fresh(_dotted(func).replace(".", "_"))
        self.free_values[name] = (lambda o: lambda: o)(obj)
        return name

    def define(self, user_name):
        """A fresh IR name for a new value of the user's variable ``user_name``."""
        return self.namer.claim(user_name if user_name not in RESERVED else user_name + "_")

    # -- statements ----------------------------------------------------------
    def lower(self):
        fn = self.node
        result, result_node = None, None
        for stmt in fn.body:
            if isinstance(stmt, gast.Return):
                self.current = stmt
                result, result_node = self.expr(stmt.value, target=self.namer.fresh("out")), stmt
            else:
                self.statement(stmt)
        self.drop_unread_index_copies(result)
        return Function(
            name=self.source.fun.__name__.replace("<lambda>", "lambda_"), params=self.params,
            body=self.body, result=result, result_loc=self.loc(result_node),
            filename=self.source.filename, lineno=self.source.file_line(fn),
            free_values=self.free_values, namer=self.namer, numbers=self.scalars)

    def inline(self, node, fun, args, kwargs):
        """A call to a user function: its body, lowered in place with its arguments bound."""
        if fun in self.inlining:
            raise self.error(node, f"recursive call to `{fun.__name__}`",
                             "write the recursion as a loop")
        child = Lowerer(get_source(fun), parent=self)
        child.call_site = node
        try:
            bound = inspect.signature(fun).bind(*args, **kwargs)
        except TypeError as exc:
            raise self.error(node, f"call to `{fun.__name__}` with these arguments", str(exc)) from None
        bound.apply_defaults()
        for name, value in bound.arguments.items():
            if not isinstance(value, (Var, Const, Seq, Slice)):
                if _is_plain_value(value):
                    value = Const(value)
                else:
                    value = Var(child.pass_in(gast.Name(id=name, ctx=gast.Load(), annotation=None,
                                                        type_comment=None), value))
            child.versions[name] = value
        result = None
        for stmt in child.node.body:
            if isinstance(stmt, gast.Return):
                child.current = stmt
                result = child.expr(stmt.value)
            else:
                child.statement(stmt)
        return result

    def statement(self, stmt):
        if _is_docstring(stmt) or isinstance(stmt, gast.Pass):
            return
        self.current = stmt
        if isinstance(stmt, gast.Assign):
            for target in stmt.targets:
                self.assign(target, stmt.value)
        elif isinstance(stmt, gast.AnnAssign):
            self.assign(stmt.target, stmt.value)
        elif isinstance(stmt, gast.AugAssign):
            self.check_unshared(stmt, _base_name(stmt.target))
            read = _as_load(stmt.target)
            binop = gast.copy_location(gast.BinOp(left=read, op=stmt.op, right=stmt.value), stmt)
            self.assign(stmt.target, binop)
        elif isinstance(stmt, gast.If):
            self.branch(stmt, stmt.test, lambda: self.block(stmt.body),
                        lambda: self.block(stmt.orelse))
        elif isinstance(stmt, (gast.For, gast.While)):
            self.loop(stmt)

    def block(self, stmts):
        for stmt in stmts:
            self.statement(stmt)

    def branch(self, node, test, lower_then, lower_else):
        """Lower both arms into an If; names they leave different are merged by assigns."""
        cond = self.expr(test)
        before = dict(self.versions)
        arms = []
        for lower_arm in (lower_then, lower_else):
            self.versions = dict(before)
            outer, self.body = self.body, []
            lower_arm()
            arms.append((self.body, self.versions))
            self.body = outer
        (then_body, then_versions), (else_body, else_versions) = arms
        self.versions = dict(before)
        loc = self.loc(node)
        merges = []
        for user in sorted(set(then_versions) | set(else_versions)):
            t, e = then_versions.get(user), else_versions.get(user)
            if t is None or e is None:
                continue                   # bound on one path only: Python's rules apply
            if isinstance(t, LoopLocal) or isinstance(e, LoopLocal):
                self.versions[user] = t if isinstance(t, LoopLocal) else e   # read: refused
                continue
            if t == e:
                self.versions[user] = t
                continue
            merged = self.define(user)
            then_body.append(self.copy_to(merged, t, loc))
            else_body.append(self.copy_to(merged, e, loc))
            self.versions[user] = Var(merged)
            merges.append(merged)
        self.body.append(If(cond, then_body, else_body, loc, merges))
        return cond

    def write_item(self, target, value):
        """``b[i] = v``: a new version of b, a copy with v written at i."""
        user = target.value.id
        self.check_unshared(target, user)
        base = self.name(target.value)
        index = self.index(target.slice)
        written = self.expr(value)
        prim = rules.lookup(runtime.assign_at)
        self.versions[user] = self.emit(prim, [base, index, written], {}, target,
                                        self.define(user))

    def materialize(self, seq, node):
        """Nested lists holding values become arrays first: [[a, b], c] -> [np.array([a, b]), c]."""
        items = []
        for item in seq.items:
            if isinstance(item, Seq) and atom_vars(item):
                item = self.emit(rules.lookup(np.array), [self.materialize(item, node)], {}, node)
            items.append(item)
        return Seq(tuple(items), seq.kind)

    def assign(self, target, value):
        if isinstance(target, gast.Subscript):
            self.write_item(target, value)
            return
        loop = getattr(value, "returned_after_loop", None)
        if loop is not None and self.returning_after_loop is None:
            self.returning_after_loop = loop
            try:
                return self.assign(target, value)
            finally:
                self.returning_after_loop = None
        if isinstance(target, gast.Name):
            if isinstance(value, (gast.Name, gast.Constant, gast.Tuple, gast.List)):
                self.versions[target.id] = self.expr(value)     # an alias: no statement
            else:
                self.versions[target.id] = self.expr(value, target=self.define(target.id))
            return
        if isinstance(target, (gast.Tuple, gast.List)):
            atom = self.expr(value)
            if isinstance(atom, Var):            # n, d = x.shape: unpacked by index
                self.emit(rules.lookup(runtime.check_length), [atom, Const(len(target.elts))],
                          {}, target)
                atom = Seq(tuple(self.emit(rules.GETITEM, [atom, Const(k)], {}, target)
                                 for k in range(len(target.elts))))
            if not isinstance(atom, Seq) or len(atom.items) != len(target.elts):
                raise self.error(target, "unpacking of a value that is not a tuple of the same length",
                                 "assign each name on its own line")
            for elt, item in zip(target.elts, atom.items, strict=True):
                if not isinstance(elt, gast.Name):
                    raise self.error(elt, "nested unpacking target", "assign each name on its own line")
                self.versions[elt.id] = item
            return
        raise self.error(target, f"assignment to {type(target).__name__}")

    # -- expressions ---------------------------------------------------------
    def expr(self, node, target=None):
        if isinstance(node, gast.Constant):
            return Const(node.value)
        if isinstance(node, gast.Name):
            return self.name(node)
        if isinstance(node, (gast.Tuple, gast.List)):
            kind = "list" if isinstance(node, gast.List) else "tuple"
            return Seq(tuple(self.expr(e) for e in node.elts), kind)
        if isinstance(node, gast.BinOp):
            ufunc = BINOPS.get(type(node.op))
            if ufunc is None:
                raise self.error(node, f"operator {type(node.op).__name__}",
                                 "bitwise operators have no derivative")
            args = [self.expr(node.left), self.expr(node.right)]
            return self.emit(rules.lookup(ufunc), args, {}, node, target)
        if isinstance(node, gast.UnaryOp):
            operand = self.expr(node.operand)
            if isinstance(node.op, gast.USub) and isinstance(operand, Const) \
                    and isinstance(operand.value, (int, float)) and not operand.source:
                return Const(-operand.value)          # -1 is a literal, not an operation
            ufunc = UNARYOPS.get(type(node.op))
            if ufunc is None:
                raise self.error(node, f"operator {type(node.op).__name__}")
            return self.emit(rules.lookup(ufunc), [operand], {}, node, target)
        if isinstance(node, gast.Compare):
            if len(node.ops) != 1 or type(node.ops[0]) not in COMPARE:
                raise self.error(node, "chained or identity comparison",
                                 "compare two values at a time with < <= > >= == !=")
            args = [self.expr(node.left), self.expr(node.comparators[0])]
            return self.emit(rules.lookup(COMPARE[type(node.ops[0])]), args, {}, node, target)
        if isinstance(node, gast.Subscript):
            base = self.expr(node.value)
            return self.emit(rules.GETITEM, [base, self.index(node.slice)], {}, node, target)
        if isinstance(node, gast.Attribute):
            return self.attribute(node, target)
        if isinstance(node, gast.Call):
            return self.call(node, target)
        if isinstance(node, gast.IfExp):
            key = self.namer.temp()        # a hidden name both arms assign
            arm = lambda value: lambda: self.versions.__setitem__(key, self.expr(value))  # noqa: E731
            self.branch(node, node.test, arm(node.body), arm(node.orelse))
            result = self.versions.pop(key)
            if target and isinstance(result, Var):
                self.body.append(self.copy_to(target, result, self.loc(node)))
                return Var(target)
            return result
        raise self.error(node, f"expression {type(node).__name__}")

    def index(self, node):
        if isinstance(node, gast.Slice):
            part = lambda n: Const(None) if n is None else self.expr(n)  # noqa: E731
            return Slice(part(node.lower), part(node.upper), part(node.step))
        if isinstance(node, gast.Tuple):
            return Seq(tuple(self.index(e) for e in node.elts))
        if isinstance(node, gast.Constant) and node.value is Ellipsis:
            return Const(Ellipsis, source="...")
        return self.expr(node)

    def name(self, node):
        if node.id in self.versions:
            atom = self.versions[node.id]
            if isinstance(atom, LoopLocal) and atom.last is not None \
                    and self.returning_after_loop is not None \
                    and self.loc(self.returning_after_loop) == atom.loc:
                return atom.last
            if isinstance(atom, LoopLocal) and self.returning_after_loop is not None:
                raise self.error(node, f"`return` inside a loop of `{node.id}`, a name the loop "
                                 f"at line {atom.loc.lineno} first assigns",
                                 f"give {node.id} a value before the loop: a value returned "
                                 "from inside a loop is read after it, as the loop left it")
            if isinstance(atom, LoopLocal) and atom.inside:
                raise self.error(node, f"use of `{node.id}` before the loop at line "
                                 f"{atom.loc.lineno} assigns it (the previous iteration's value)",
                                 f"give {node.id} a value before the loop")
            if isinstance(atom, LoopLocal):
                raise self.error(node, f"use of `{node.id}` after the loop that first assigns it "
                                 f"(line {atom.loc.lineno})",
                                 f"give {node.id} a value before the loop")
            return atom
        value = self.resolve(node)
        if callable(value) or isinstance(value, types.ModuleType):
            raise self.error(node, f"use of `{node.id}` as a value",
                             "functions and modules can be called, not passed around")
        return self.free_value(node.id)

    def free_value(self, user_name):
        """The extra parameter that carries the user's global ``user_name``."""
        if user_name not in self.free_names:
            param = self.namer.claim(user_name if user_name not in RESERVED else user_name + "_")
            self.free_names[user_name] = param
            self.free_values[param] = self.source.lookup(user_name)[1]
        return Var(self.free_names[user_name])

    def resolve(self, node):
        """The object a name or attribute chain rooted at a global stands for."""
        if isinstance(node, gast.Name):
            if node.id in self.versions:
                return _Unresolved
            found, getter = self.source.lookup(node.id)
            if not found:
                raise self.error(node, f"undefined name `{node.id}`")
            return getter()
        if isinstance(node, gast.Attribute):
            base = self.resolve(node.value)
            if not isinstance(base, types.ModuleType):
                return _Unresolved          # an attribute or method of a value
            try:
                return getattr(base, node.attr)
            except AttributeError:
                raise self.error(node, f"attribute `{_dotted(node)}`",
                                 f"module {base.__name__} has no attribute {node.attr!r}") from None
        return _Unresolved

    def live_attribute(self, node):
        """A getter of the module attribute chain ``node`` (``params.W``), evaluated late."""
        path = _dotted(node).split(".")
        root = self.source.lookup(path[0])[1]

        def get():
            value = root()
            for attr in path[1:]:
                value = getattr(value, attr)
            return value
        return get

    def attribute(self, node, target):
        value = self.resolve(node)
        if value is _Unresolved:
            base = self.expr(node.value)
            if node.attr in rules.ATTRIBUTE_FUNCTIONS:
                prim = rules.lookup(rules.ATTRIBUTE_FUNCTIONS[node.attr])
                return self.emit(prim, [base], {}, node, target)
            if node.attr in rules.ATTRIBUTES:
                return self.emit(rules.ATTRIBUTES[node.attr], [base], {}, node, target)
            raise self.error(node, f"attribute `.{node.attr}` of an array",
                             "use the NumPy function instead")
        root_name, rest = _dotted(node).split(".", 1)
        root = self.source.lookup(root_name)[1]()
        if _is_plain_value(value) and root in (np, math):   # library constants: np.pi, math.e
            return Const(value, source=f"np.{rest}" if root is np else None)
        if _is_plain_value(value) or isinstance(value, np.ndarray):
            path = _dotted(node)
            if path not in self.free_names:
                self.free_names[path] = self.namer.fresh(path.replace(".", "_"))
                self.free_values[self.free_names[path]] = self.live_attribute(node)
            return Var(self.free_names[path])           # read afresh at each call
        raise self.error(node, f"use of `{_dotted(node)}` as a value",
                         "functions and modules can be called, not passed around")

    def call(self, node, target):
        for kw in node.keywords:
            if kw.arg is None:
                raise self.error(node, "`**kwargs` in a call", "pass keyword arguments by name")
        args = [self.expr(a) for a in node.args]
        kwargs = {kw.arg: self.expr(kw.value) for kw in node.keywords}
        func = node.func
        obj = self.resolve(func)
        if obj is _Unresolved:
            if not isinstance(func, gast.Attribute):
                raise self.error(node, f"call of the local value `{_dotted(func)}`",
                                 "call functions by their global name")
            method = func.attr
            if method not in rules.METHODS:
                raise self.error(node, f"method `.{method}()`",
                                 "call the NumPy function instead, e.g. np.f(x)")
            if method in rules.VARARG_METHODS and len(args) > 1:
                args = [Seq(tuple(args))]
            args = [self.expr(func.value)] + args
            obj = rules.METHODS[method]
        prim = rules.lookup(obj)
        if prim is not None and id(obj) in _STACKING and args and not isinstance(args[0], Seq):
            prim = rules.lookup(np.copy if obj is np.array else np.asarray)
        if id(obj) in _SEQUENCE_TAKING and args and isinstance(args[0], Seq):
            args[0] = self.materialize(args[0], node)
        if id(obj) in _TUPLE_ONLY and args and isinstance(args[0], Seq):
            args[0] = Seq(args[0].items, "tuple")
        if prim is None:
            if isinstance(obj, types.FunctionType) and not _is_library(obj):
                return self.inline(node, obj, args, kwargs)
            prim = Opaque(name=self.pass_in(func, obj), obj=obj, label=_dotted(func))
        elif prim.path is None and prim.infix is None and prim.attribute is None \
                and prim is not rules.GETITEM:
            return self.emit(prim, args, kwargs, node, target, callee=self.pass_in(func, obj))
        return self.emit(prim, args, kwargs, node, target)


_LIBRARY_DIRS = tuple(sorted({os.path.abspath(path) for key, path in sysconfig.get_paths().items()
                              if key in ("stdlib", "platstdlib", "purelib", "platlib")}))


def _is_library(fun):
    """A function installed with Python or a package (scipy, the standard library):
    called as it is, like a NumPy function without a rule, not inlined as your own code."""
    filename = os.path.abspath(fun.__code__.co_filename)
    return filename.startswith(_LIBRARY_DIRS) or os.sep + "site-packages" + os.sep in filename


def _base_name(target):
    return target.id if isinstance(target, gast.Name) else target.value.id


def _as_load(target):
    """``y`` or ``b[i]`` as read, for ``y += e`` and ``b[i] += e``."""
    if isinstance(target, gast.Name):
        return gast.Name(id=target.id, ctx=gast.Load(), annotation=None, type_comment=None)
    return gast.copy_location(gast.Subscript(value=_as_load(target.value), slice=target.slice,
                                             ctx=gast.Load()), target)


def _dotted(node):
    if isinstance(node, gast.Name):
        return node.id
    if isinstance(node, gast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return type(node).__name__


def lower(source):
    """The IR ``Function`` of a parsed source (raises UnsupportedError up front)."""
    return Lowerer(source).lower()
