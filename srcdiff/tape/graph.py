"""A picture of the graph behind a tensor: Graphviz DOT text, and an image if Graphviz
is installed."""
import shutil
import subprocess

from .node import AccumulateGrad


def _label(node):
    if isinstance(node, AccumulateGrad):
        shape = tuple(node.variable.shape)
        return f"AccumulateGrad\\nleaf {shape}"
    shape = getattr(node, "shape", None)
    return node.name() + (f"\\n{tuple(shape)}" if shape is not None else "")


def to_dot(tensor):
    """The graph that ``tensor.backward()`` would walk, as Graphviz DOT text.

    Nodes carry PyTorch's names and the shapes of what they computed; leaves show as
    AccumulateGrad with their shape.

    >>> import srcdiff
    >>> x = srcdiff.tensor([1.0, 2.0], requires_grad=True)
    >>> print(srcdiff.to_dot((x * 2).sum()))
    digraph srcdiff {
      node [shape=box, fontname="monospace"];
      n0 [label="output (), float64", shape=ellipse];
      n1 [label="SumBackward0\\n()"];
      n0 -> n1 [dir=back];
      n2 [label="MulBackward0\\n(2,)"];
      n1 -> n2 [dir=back];
      n3 [label="AccumulateGrad\\nleaf (2,)"];
      n2 -> n3 [dir=back];
    }
    """
    lines = ["digraph srcdiff {", '  node [shape=box, fontname="monospace"];',
             f'  n0 [label="output {tuple(tensor.shape)}, {tensor.dtype}", shape=ellipse];']
    root = tensor.grad_fn if tensor.grad_fn is not None else tensor._accumulator()
    if root is None:
        return "\n".join(lines + ["}"])
    ids = {root: 1}
    lines += [f'  n1 [label="{_label(root)}"];', "  n0 -> n1 [dir=back];"]
    stack = [root]
    while stack:
        node = stack.pop()
        for nxt, _ in node.next_functions:
            if nxt is None:
                continue
            if nxt not in ids:
                ids[nxt] = len(ids) + 1
                lines.append(f'  n{ids[nxt]} [label="{_label(nxt)}"];')
                stack.append(nxt)
            lines.append(f"  n{ids[node]} -> n{ids[nxt]} [dir=back];")
    return "\n".join(lines + ["}"])


def render_graph(tensor, path, format="png"):  # noqa: A002  (Graphviz's word)
    """Draw the graph behind ``tensor`` into ``path`` with Graphviz's ``dot`` command.

    Raises RuntimeError saying how to install Graphviz when ``dot`` is not on PATH;
    ``to_dot`` needs nothing.
    """
    dot = shutil.which("dot")
    if dot is None:
        raise RuntimeError("Graphviz's `dot` command is not installed: install graphviz "
                           "(apt install graphviz, brew install graphviz), or write "
                           "srcdiff.to_dot(tensor) to a .dot file and render it elsewhere")
    subprocess.run([dot, f"-T{format}", "-o", str(path)], input=to_dot(tensor), text=True,
                   check=True)
    return path
