"""The generated lines of one function read back as statements, for passes over the text.

Code generation writes a function as indented lines with a comment heading each source
line; the passes that rewrite it afterwards (``accumulate``, ``fuse``) need its
statements, its ``if``/``else``/``for``/``while`` structure and which names are
live where, which these give.
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


def names(node, ctx):
    """The names ``node`` reads (``ast.Load``) or binds (``ast.Store``)."""
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ctx)}


class _Liveness:
    """The names live after each simple statement (read later before being assigned)."""

    def __init__(self, lines):
        self.after = {}            # line index -> names live after it
        self.exits = []            # per enclosing loop: what is live where it may go next
        self.walk(line_blocks(lines), set(), True)

    def walk(self, items, live, record):
        """What is live before ``items``, given ``live`` after them."""
        arms = None
        for index, stmt, children, is_else in reversed(items):
            if is_else:
                arms = self.walk(children, live, record)
            elif isinstance(stmt, ast.If):
                then = self.walk(children, live, record)
                live = then | (arms if arms is not None else live) | names(stmt.test, ast.Load)
                arms = None
            elif children is not None:
                live = self.loop(stmt, children, live, record)
            else:
                if record:
                    self.after[index] = live
                if isinstance(stmt, (ast.Break, ast.Continue)):
                    live = live | self.exits[-1]    # either way out of the loop
                live = (live - names(stmt, ast.Store)) | names(stmt, ast.Load)
        return live

    def loop(self, stmt, body, live, record):
        head = set(live)             # live where the loop tests whether to go on
        while True:
            self.exits.append(head | live)
            start = self.walk(body, head, False)
            self.exits.pop()
            new = head | start
            if new == head:
                break
            head = new
        self.exits.append(head | live)
        self.walk(body, head, record)
        self.exits.pop()
        header = stmt.iter if isinstance(stmt, ast.For) else stmt.test
        return head | names(header, ast.Load)


def live_after(lines):
    """{line index: the names live after that simple statement}: read later, on some
    path, before being assigned again."""
    return _Liveness(lines).after
