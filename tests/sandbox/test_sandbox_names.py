"""The sandbox's class names are its own: none equals a class name of the product, so a reader or a
stack trace never mistakes the emulator for the client.

"The product" is every class defined in ``mcp_livechat`` outside ``sandbox/``, every class name the
product imports from a third-party module (the MCP SDK's ``AccessToken``, Authlib's ``OAuthError``),
and every class defined in those third-party modules (the SDK's ``RefreshToken`` beside its
``AccessToken``). All three are read from the source with ``ast``, so a new class on either side is
checked without editing this test.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

import mcp_livechat
from mcp_livechat import sandbox

PACKAGE = Path(mcp_livechat.__file__).parent
SANDBOX = Path(sandbox.__file__).parent


def _classes(tree: ast.AST) -> set[str]:
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}


def _sandbox_classes() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted(SANDBOX.rglob("*.py")):
        for name in _classes(ast.parse(path.read_text(encoding="utf-8"))):
            found.setdefault(name, str(path.relative_to(PACKAGE.parent)))
    return found


def _third_party(module: str) -> bool:
    top = module.split(".")[0]
    return top != "mcp_livechat" and top not in sys.stdlib_module_names


def _module_classes(module: str) -> set[str]:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        return set()
    return _classes(ast.parse(Path(spec.origin).read_text(encoding="utf-8")))


def _product_classes() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if SANDBOX in path.parents:
            continue
        where = str(path.relative_to(PACKAGE.parent))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for name in _classes(tree):
            found.setdefault(name, where)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.level == 0
                and node.module
                and _third_party(node.module)
            ):
                for alias in node.names:
                    if alias.name[:1].isupper():
                        found.setdefault(alias.name, f"{node.module} (imported by {where})")
                for name in _module_classes(node.module):
                    found.setdefault(name, f"{node.module} (imported from by {where})")
    return found


def test_no_sandbox_class_shares_a_name_with_the_product() -> None:
    product = _product_classes()
    clashes = {name: (where, product[name]) for name, where in _sandbox_classes().items() if name in product}
    assert not clashes, "rename these sandbox classes: " + "; ".join(
        f"{name} ({mine}) vs {theirs}" for name, (mine, theirs) in sorted(clashes.items())
    )


def test_the_walk_sees_both_trees() -> None:
    """The check above is only as good as its inputs: the product's own, imported and library
    classes are all found, and so are the sandbox's."""
    product = _product_classes()
    assert {"Runtime", "TokenStore", "Principal", "ApiError", "Chat", "Agent"} <= set(product)
    assert {"AccessToken", "OAuthError", "RefreshToken"} <= set(product)
    assert {"Emulator", "TokenLedger", "Requester", "WebApiFault", "ChatRecord", "Sandbox"} <= set(
        _sandbox_classes()
    )


def test_the_public_face_is_unchanged() -> None:
    assert sorted(sandbox.__all__) == [
        "Clock",
        "FaultInjector",
        "Sandbox",
        "SandboxTransport",
        "Stats",
        "constants",
        "serve",
    ]
    sb = sandbox.Sandbox(seed=7)
    assert isinstance(sb.clock, sandbox.Clock)
    assert isinstance(sb.stats, sandbox.Stats)
    assert isinstance(sb.faults, sandbox.FaultInjector)
    assert sb.state.chats and sb.state.agents
