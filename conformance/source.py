"""Source text of spec functions, for standalone reproducers."""
from __future__ import annotations

import ast
import builtins
import dis
import inspect
import textwrap
import types
from collections.abc import Callable

__all__ = ["function_source", "free_globals"]


def _lambda_source(function: types.FunctionType) -> str:
    code = function.__code__
    filename = inspect.getsourcefile(function)
    if filename is None:
        raise OSError("no source file")
    with open(filename, encoding="utf-8") as handle:
        text = handle.read()
    tree = ast.parse(text)
    positions = [p for p in code.co_positions() if None not in p and (p[1], p[3]) > (p[0], p[2])]
    lines = {p[0] for p in positions}
    names = list(code.co_varnames[:code.co_argcount + code.co_kwonlyargcount])
    best = None
    for node in ast.walk(tree):
        if not isinstance(node, ast.Lambda):
            continue
        args = node.args
        node_names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
        if node_names != names or node.lineno > min(lines, default=node.lineno):
            continue
        inside = all((node.lineno, node.col_offset) <= (p[0], p[2]) and (p[1], p[3]) <= (node.end_lineno,
                     node.end_col_offset) for p in positions)
        if inside and node.lineno <= code.co_firstlineno <= node.end_lineno:
            best = node
    if best is None:
        raise OSError(f"cannot locate the lambda of {function!r}")
    return ast.get_source_segment(text, best)


def function_source(function: Callable, name: str = "fn") -> str:
    """Python source binding ``name`` to ``function``: a lambda assignment or a renamed ``def``.

    Works for lambdas written in a spec file, for ``def`` functions and for functions made by ``func``/
    ``method``/``binary``. Raises OSError when the source cannot be recovered (e.g. defined in a REPL).
    """
    generated = getattr(function, "__conformance_source__", None)
    if generated is not None:
        return f"{name} = {generated}"
    if function.__name__ == "<lambda>":
        segment = _lambda_source(function)
        return f"{name} = ({segment})" if "\n" in segment else f"{name} = {segment}"
    source = textwrap.dedent(inspect.getsource(function))
    tree = ast.parse(source)
    definition = tree.body[0]
    definition.decorator_list = []
    definition.name = name
    return ast.unparse(definition)


def free_globals(function: Callable) -> set[str]:
    """Global names ``function`` (and nested code) loads that are not builtins: must be empty for a spec fn."""
    found: set[str] = set()
    stack = [function.__code__]
    while stack:
        code = stack.pop()
        for instruction in dis.get_instructions(code):
            if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME") and not hasattr(builtins, instruction.argval):
                found.add(instruction.argval)
        stack.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
    found.update(function.__code__.co_freevars)
    return found
