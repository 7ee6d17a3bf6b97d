"""The rule table at run time: each rule's template, compiled into a Python function.

The source transform inlines a rule's body into generated code; the tape compiles the
same body (``emit.templates.expand``) into a function of the rule's own parameters,
keeping only the outputs a node needs.  One rule, one body, both modes.
"""
import ast
import inspect
import textwrap

import numpy as np

from .. import runtime
from ..emit.templates import expand, reads_by_value, template

_COMPILED = {}       # (id of the rule function, selected outputs) -> function
_VALUE_READS = {}    # (id of the rule function, selected outputs) -> parameters read by value



def vjp_function(rule, selected):
    """A function ``(g, ans, *params) -> tuple`` of the outputs ``selected`` (indices
    into ``rule.wrt``), compiled from the rule's template."""
    key = (id(rule.fn), tuple(selected))
    fn = _COMPILED.get(key)
    if fn is None:
        fn = _COMPILED[key] = _compile(rule, tuple(selected))
    return fn


def _compile(rule, selected):
    counter = iter(range(1 << 30))
    lets, outputs = expand(rule, {p: ast.Name(p, ast.Load()) for p in _params(rule)}, selected,
                           lambda base: f"_{base}_{next(counter)}")
    signature = ast.parse("def _(): pass").body[0]
    signature.args = _rule_args(rule)
    signature.name = f"vjp_{rule.fn.__name__}"
    result = ast.Tuple([outputs[k] for k in selected], ast.Load())
    signature.body = lets + [ast.Return(result)]
    module = ast.fix_missing_locations(ast.Module([signature], type_ignores=[]))
    namespace = {"np": np, **{name: getattr(runtime, name) for name in runtime.__all__}}
    exec(compile(module, f"<rule {rule.fn.__module__}.{rule.fn.__name__}>", "exec"), namespace)
    return namespace[signature.name]


def _rule_args(rule):
    tree = ast.parse(textwrap.dedent(inspect.getsource(rule.fn)))
    return tree.body[0].args


def _params(rule):
    return template(rule.fn, len(rule.wrt)).params


def value_reads(rule, slots):
    """The rule's parameters (``ans`` included) whose values, not only their shapes, the
    outputs for ``slots`` ((param, part) pairs) read: an in-place change to one of them
    before backward would make the gradient wrong."""
    selected = tuple(sorted({rule.wrt.index(param) for param, _ in slots}))
    key = (id(rule.fn), selected)
    if key not in _VALUE_READS:
        lets, outputs = expand(rule, {p: ast.Name(p, ast.Load()) for p in _params(rule)},
                               selected, lambda base: base)
        reads = set()
        for expr in [let.value for let in lets] + list(outputs.values()):
            reads |= reads_by_value(expr)
        _VALUE_READS[key] = reads & set(_params(rule))
    return _VALUE_READS[key]
