"""The package's structure: no import cycle anywhere (checked with grimp, which import-linter uses)."""

from __future__ import annotations

import grimp


def test_no_module_is_part_of_an_import_cycle() -> None:
    graph = grimp.build_graph("mcp_livechat")
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            if graph.chain_exists(importer=imported, imported=module):
                chain = graph.find_shortest_chain(importer=imported, imported=module) or ()
                cycles.append(f"{module} -> {' -> '.join(chain)}")
    assert not cycles, "import cycles:\n" + "\n".join(cycles[:10])


def test_only_the_seam_imports_the_sdk() -> None:
    """An SDK upgrade touches the seam only: every other module (new ones included) stays off `mcp`."""
    graph = grimp.build_graph("mcp_livechat", include_external_packages=True)
    seam = {
        "mcp_livechat.tools.adapter",
        "mcp_livechat.tools.prompts",
        "mcp_livechat.tools.protocol",
        "mcp_livechat.server",
        "mcp_livechat.http_app",
        "mcp_livechat.stdio_app",
        "mcp_livechat.cli",
    }
    importers = {m for m in graph.find_modules_that_directly_import("mcp") if m.startswith("mcp_livechat")}
    assert importers <= seam, sorted(importers - seam)
