"""The part of OpenAI's OpenAPI document that Runnel implements, made checkable as a contract.

The document is read where the project keeps it (`shared/openai-openapi.yaml` beside a parent of
the repository, or `RUNNEL_OPENAPI_SPEC`), never copied into the repository. Every change made to
it here is listed by name below, with the reason: nothing else is relaxed.
"""
import os
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]

# The operations Runnel serves: assistants, threads, messages, runs and run steps; files and
# vector stores.
IMPLEMENTED_PREFIXES = ("/assistants", "/threads", "/files", "/vector_stores")

# The document's own quirks: OpenAI answered an empty page with null `first_id`/`last_id`, as
# Runnel does, though the schema types them as strings (see openai-contract.md §2.6).
KNOWN_QUIRKS = [
    ("ListAssistantsResponse", "first_id"), ("ListAssistantsResponse", "last_id"),
    ("ListMessagesResponse", "first_id"), ("ListMessagesResponse", "last_id"),
    ("ListRunsResponse", "first_id"), ("ListRunsResponse", "last_id"),
    ("ListRunStepsResponse", "first_id"), ("ListRunStepsResponse", "last_id"),
    ("ListFilesResponse", "first_id"), ("ListFilesResponse", "last_id"),
    ("ListVectorStoresResponse", "first_id"), ("ListVectorStoresResponse", "last_id"),
    ("ListVectorStoreFilesResponse", "first_id"), ("ListVectorStoreFilesResponse", "last_id"),
]

# The document lists `evals` among the purposes a file may be uploaded with, but not among the
# purposes a File object may have; Runnel answers with the purpose it was given.
EXTRA_ENUM_VALUES = [("OpenAIFile", "purpose", "evals")]

# A file's content is its own bytes, served with the type its name implies; the document says JSON.
ANY_CONTENT_TYPE = [("/files/{file_id}/content", "get")]

# Error answers OpenAI gave but its document leaves out (every operation declares only 200/429).
ADDED_RESPONSES = {
    "400": "The request is invalid (OpenAI's error envelope).",
    "404": "No such object (OpenAI's error envelope).",
    "413": "The upload is larger than the server takes (OpenAI's error envelope).",
}

# With `stream: true` the answer is Server-Sent Events, which the document does not describe; the
# streams are checked event by event by the SDK suites instead, so the contract fuzz sends
# `stream` false or leaves it out.
STREAMING_REQUESTS = ["CreateRunRequest", "CreateThreadAndRunRequest", "SubmitToolOutputsRunRequest"]


def honour_nullable(node):
    """The document is OpenAPI 3.1, where `nullable` is not a keyword, yet some schemas still say
    `nullable: true` (3.0 style); they are rewritten as "this or null" so null answers are allowed."""
    if isinstance(node, list):
        return [honour_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = dict(node)
    if any(part == {"nullable": True} for part in node.get("allOf", [])):
        node["allOf"] = [part for part in node["allOf"] if part != {"nullable": True}]
        node["nullable"] = True
    node = {key: honour_nullable(value) for key, value in node.items()}
    if node.pop("nullable", False) is True:
        return {"anyOf": [node, {"type": "null"}]}
    return node


def locate() -> Path | None:
    explicit = os.environ.get("RUNNEL_OPENAPI_SPEC")
    if explicit:
        return Path(explicit)
    for ancestor in ROOT.parents:
        candidate = ancestor / "shared" / "openai-openapi.yaml"
        if candidate.exists():
            return candidate
    return None


def implemented_document(source: Path) -> dict:
    document = yaml.safe_load(source.read_text())
    paths = {path: operations for path, operations in document["paths"].items() if path.startswith(IMPLEMENTED_PREFIXES)}
    for operations in paths.values():
        for method, operation in operations.items():
            if method not in ("get", "post", "delete"):
                continue
            for status, description in ADDED_RESPONSES.items():
                operation["responses"].setdefault(status, {
                    "description": description,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
                })
    schemas = document["components"]["schemas"]
    for schema_name, field in KNOWN_QUIRKS:
        schemas[schema_name]["properties"][field] = {"anyOf": [schemas[schema_name]["properties"][field], {"type": "null"}]}
    for schema_name, field, value in EXTRA_ENUM_VALUES:
        schemas[schema_name]["properties"][field]["enum"].append(value)
    for path, method in ANY_CONTENT_TYPE:
        paths[path][method]["responses"]["200"]["content"] = {"*/*": {"schema": {}}}
    for schema_name in STREAMING_REQUESTS:
        schemas[schema_name]["properties"]["stream"] = {"anyOf": [{"type": "boolean", "enum": [False]}, {"type": "null"}]}
    document["paths"] = paths
    document["servers"] = [{"url": "/v1"}]
    return honour_nullable(document)
