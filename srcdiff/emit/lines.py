"""The generated lines of one function read back as statements, for passes over the text.

Code generation writes a function as indented lines with a comment heading each source
line; the passes that rewrite it afterwards (``accumulate``, ``fuse``) need its
statements and its ``if``/``else``/``for``/``while`` structure, which these give.
"""
import ast


def parse_line(line):
    """One generated line as a statement (an opener with ``pass`` for its body); None
    for comments and blank lines."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    if text == "else:":
        return ast.Pass()
    if text.endswith(":"):
        text += " pass"
    return ast.parse(text).body[0]


def _blocks(lines, start, indent):
    """The structured form of ``lines[start:]`` at ``indent`` and deeper: (line index,
    statement, child items or None, whether it is an ``else:``), until the indentation
    drops below ``indent``; and the index where it stopped."""
    items, k = [], start
    while k < len(lines):
        line = lines[k]
        stmt = parse_line(line)
        if stmt is None:
            k += 1
            continue
        depth = len(line) - len(line.lstrip())
        if depth < indent:
            break
        if isinstance(stmt, (ast.If, ast.For, ast.While)) or line.strip() == "else:":
            children, end = _blocks(lines, k + 1, depth + 1)
            items.append((k, stmt, children, line.strip() == "else:"))
            k = end
            continue
        items.append((k, stmt, None, False))
        k += 1
    return items, k


def line_blocks(lines):
    """The structured form of ``lines``: (line index, statement, children or None, else?)."""
    return _blocks(lines, 0, 0)[0]
