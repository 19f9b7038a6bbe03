"""Reading the product's own source, for the tests that check who may write what."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PRODUCT = BASE_DIR / "whatsapp"


def product_modules(*, exclude: tuple[str, ...] = ()) -> Iterator[tuple[str, ast.Module]]:
    """(path relative to the repository, parsed module) for every product module."""
    for path in sorted(PRODUCT.rglob("*.py")):
        relative = path.relative_to(BASE_DIR).as_posix()
        if "/migrations/" in relative or relative in exclude:
            continue
        yield relative, ast.parse(path.read_text(), filename=relative)


def root_name(node: ast.AST) -> str | None:
    """`Instance` for `Instance.objects.filter(...).update`, the name a call chain starts from."""
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            node = node.value
        elif isinstance(node, ast.Name):
            return node.id
        else:
            return None


def update_calls(tree: ast.Module) -> Iterator[tuple[ast.Call, str | None, set[str]]]:
    """Every `<chain>.update(...)` call: the call, the chain's root name, the keyword names."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "update"
        ):
            names = {kw.arg for kw in node.keywords if kw.arg}
            yield node, root_name(node.func.value), names
