"""Tool schemas: generated from signatures and result models through `CompactJsonSchema`, and
shipped precomputed in `schemas.json` so that a start-up does not generate them again.

`schemas.json` is derived, never hand-written: `tests/tools/test_catalogue.py` regenerates every
schema and fails when the file differs (`UPDATE_SNAPSHOTS=1` rewrites it). At start-up the file
is used only if its key, a hash of the sources that shape the schemas and of the pydantic and
MCP versions, matches this installation; otherwise every schema is generated as before.
"""

from __future__ import annotations

import hashlib
import json
import logging
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

logger = logging.getLogger("mcp_livechat.tools")

FILE = Path(__file__).with_name("schemas.json")
_PACKAGE = Path(__file__).resolve().parents[1]
# What shapes a schema: the toolset modules (signatures, argument types), the result models, the
# wire models some results reuse, this generator; and the libraries that render them. (A module
# missing here still cannot ship a stale file: the catalogue test regenerates and compares.)
_SOURCES = (
    *(f"tools/{name}.py" for name in ("chats", "customers", "agents", "account", "supervisor", "admin")),
    *(f"tools/{name}.py" for name in ("reports", "args", "spec", "shapes", "schemas")),
    "models.py",
    "livechat/types.py",
    "livechat/report_types.py",
)
_LIBRARIES = ("pydantic", "pydantic-core", "mcp")


class Schemas(NamedTuple):
    input: dict[str, Any]
    output: dict[str, Any]


class CompactJsonSchema(GenerateJsonSchema):
    """pydantic's JSON schema without the redundancy a model does not need to read.

    Validation is unchanged (arguments are validated against the real model, which still
    accepts null for `T | None`); only the advertised schema is smaller. `null` is left out
    because results drop their nulls and arguments may be omitted; a value that is sent as null
    says so in its own schema (`models.AgentCell`).
    """

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        out = super().model_schema(schema)
        out.pop("title", None)
        if out.get("additionalProperties") is False:
            del out["additionalProperties"]  # extras are refused at validation; readers need not be told
        return out

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        out = super().default_schema(schema)
        if "default" in out and out["default"] is None:
            del out["default"]
        return out

    def union_schema(self, schema: core_schema.UnionSchema) -> JsonSchemaValue:
        out = super().union_schema(schema)
        options = out.get("anyOf")
        if isinstance(options, list) and options and all(o.get("type") == "string" for o in options):
            # e.g. a day or a time: one `type`, the formats as alternatives
            out["anyOf"] = [{k: v for k, v in o.items() if k != "type"} for o in options]
            out = {"type": "string", **out}
        return out

    def generate(self, schema: CoreSchema, mode: JsonSchemaMode = "validation") -> JsonSchemaValue:
        return inline_single_use_defs(super().generate(schema, mode))


def inline_single_use_defs(schema: JsonSchemaValue) -> JsonSchemaValue:
    """Put each `$defs` entry referenced exactly once in place of its `$ref` (fewer bytes, and no
    `$ref` for a client's validator to resolve); shared and recursive ones stay in `$defs`."""
    defs = schema.get("$defs")
    if not isinstance(defs, dict) or not defs:
        return schema
    counts: dict[str, int] = {}

    def count(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                counts[ref[8:]] = counts.get(ref[8:], 0) + 1
            for value in node.values():
                count(value)
        elif isinstance(node, list):
            for value in node:
                count(value)

    count(schema)
    single = {
        name for name, n in counts.items() if n == 1 and name in defs and not _refers_to(defs[name], name)
    }

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref[8:] in single:
                rest = {k: inline(v) for k, v in node.items() if k != "$ref"}
                return {**inline(defs[ref[8:]]), **rest}
            return {k: inline(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    out = inline(schema)
    kept = {name: inline(d) for name, d in defs.items() if name not in single}
    if kept:
        out["$defs"] = kept
    return dict(out)


def _refers_to(node: Any, name: str) -> bool:
    if isinstance(node, dict):
        return node.get("$ref") == f"#/$defs/{name}" or any(_refers_to(v, name) for v in node.values())
    if isinstance(node, list):
        return any(_refers_to(v, name) for v in node)
    return False


def key() -> str:
    """A hash of everything the schemas depend on, in this installation."""
    digest = hashlib.sha256()
    for pattern in _SOURCES:
        for path in sorted(_PACKAGE.glob(pattern)):
            digest.update(path.relative_to(_PACKAGE).as_posix().encode() + b"\0" + path.read_bytes())
    for library in _LIBRARIES:
        try:
            digest.update(f"{library}={metadata.version(library)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(library.encode())
    return digest.hexdigest()


def load() -> dict[str, Schemas]:
    """The precomputed schemas, or nothing when they do not match this installation."""
    try:
        data = json.loads(FILE.read_text(encoding="utf-8"))
        if data.get("key") != key():
            logger.debug("precomputed tool schemas do not match the sources: generating them")
            return {}
        return {name: Schemas(entry["input"], entry["output"]) for name, entry in data["tools"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def render(entries: dict[str, Schemas]) -> str:
    """The file's content for these schemas (deterministic: sorted keys, one line per tool)."""
    lines = [f'{json.dumps(name)}: {json.dumps({"input": s.input, "output": s.output})}'
             for name, s in sorted(entries.items())]  # fmt: skip
    return '{"key": ' + json.dumps(key()) + ', "tools": {\n' + ",\n".join(lines) + "\n}}\n"
