#!/usr/bin/env python3
"""Extracts the JSON Schemas that chatan's request bodies are checked against
(`check.py`), from the providers' own published definitions, into `schemas/`.

* OpenAI: the `CreateChatCompletionRequest` and `CreateBatchRequest` schemas of OpenAI's
  OpenAPI spec (github.com/openai/openai-openapi, `openapi.yaml`), every `$ref` they
  reach copied under `$defs`; and a batch input line: the spec's `BatchRequestInput`
  (kept in the spec until June 2025, commit e1cb7a8; pass that version with
  `--openai-lines`), whose `body` is documented as the request to `url` and is checked
  here as a `CreateChatCompletionRequest`.

      extract.py openai path/to/openapi.yaml --openai-lines path/to/older/openapi.yaml

* Anthropic: the request types of the `anthropic` Python SDK (installed in the running
  Python), turned into JSON Schema by pydantic: `MessageCreateParamsNonStreaming` and
  `BatchCreateParams`. The API refuses parameters it does not know ("Extra inputs are
  not permitted"), so the top-level message parameters are closed
  (`additionalProperties: false`). SDK 0.125.0 is the last whose types hold
  `temperature`, `top_p` and `top_k`; 2.x, for the newest models, holds none.

      extract.py anthropic            # writes schemas/anthropic-<version>.json

`--check` compares instead of writing, and fails if the extraction differs from the
committed file (CI runs it for Anthropic, whose SDK comes from PyPI; the OpenAI spec
is not on a registry CI reaches, so its file is checked against the spec by hand, with
the commit recorded in the file).
"""

import argparse
import json
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
SCHEMAS = HERE / "schemas"


def git_commit(path):
    """The commit of the git checkout holding `path`, if it is in one."""
    try:
        out = subprocess.run(
            ["git", "-C", str(pathlib.Path(path).parent), "log", "-1", "--format=%H", "--", str(path)],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.CalledProcessError):
        return None


def closure(components, name, out):
    """Copies schema `name` and every schema it reaches by `$ref` into `out`."""
    if name in out:
        return
    schema = components[name]
    out[name] = schema
    for ref in refs(schema):
        closure(components, ref, out)


def refs(node):
    """The component names `node` refers to."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/components/schemas/"):
                yield value.rsplit("/", 1)[1]
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def rewrite(node):
    """`node` with its `#/components/schemas/X` references as `#/$defs/X`."""
    if isinstance(node, dict):
        return {
            key: ("#/$defs/" + value.rsplit("/", 1)[1])
            if key == "$ref" and isinstance(value, str) and value.startswith("#/components/schemas/")
            else rewrite(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [rewrite(item) for item in node]
    return node


def standalone(components, name):
    """Schema `name` as a JSON Schema of its own: itself, with what it reaches in `$defs`."""
    reached = {}
    closure(components, name, reached)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": "#/$defs/" + name,
        "$defs": {key: rewrite(value) for key, value in sorted(reached.items())},
    }


def openai(spec_path, lines_path):
    import yaml

    spec = yaml.safe_load(pathlib.Path(spec_path).read_text())
    components = spec["components"]["schemas"]
    older = yaml.safe_load(pathlib.Path(lines_path).read_text())["components"]["schemas"]
    line = dict(older["BatchRequestInput"])
    properties = dict(line["properties"])
    # The line's body is the request to its `url` (the spec's own example, and the Batch
    # guide); chatan sends chat completions only.
    properties["body"] = {"$ref": "#/components/schemas/CreateChatCompletionRequest"}
    line["properties"] = properties
    line["required"] = ["custom_id", "method", "url", "body"]
    components = dict(components)
    components["BatchRequestInput"] = line
    return {
        "source": {
            "repository": "github.com/openai/openai-openapi",
            "file": "openapi.yaml",
            "commit": git_commit(spec_path),
            "batch_request_input_commit": git_commit(lines_path),
        },
        "chat": standalone(components, "CreateChatCompletionRequest"),
        "batch_create": standalone(components, "CreateBatchRequest"),
        "batch_line": standalone(components, "BatchRequestInput"),
    }


def close_top(schema, title):
    """Closes the object schema named `title` in `schema` (top level or in `$defs`)."""
    targets = [schema] + list(schema.get("$defs", {}).values())
    for target in targets:
        if target.get("title") == title and target.get("type") == "object":
            target["additionalProperties"] = False


def anthropic():
    import anthropic as sdk
    from anthropic.types.message_create_params import MessageCreateParamsNonStreaming
    from anthropic.types.messages.batch_create_params import BatchCreateParams
    import pydantic
    from pydantic import TypeAdapter

    messages = TypeAdapter(MessageCreateParamsNonStreaming).json_schema()
    close_top(messages, "MessageCreateParamsNonStreaming")
    batch = TypeAdapter(BatchCreateParams).json_schema()
    close_top(batch, "MessageCreateParamsNonStreaming")
    # The SDK sends `user_profile_id` as a header (its alias); it is no body field.
    for schema in [messages, batch]:
        for target in [schema] + list(schema.get("$defs", {}).values()):
            target.get("properties", {}).pop("user_profile_id", None)
    return {
        "source": {
            "package": "anthropic==" + sdk.__version__,
            "via": "pydantic==" + pydantic.VERSION + " TypeAdapter.json_schema",
        },
        "messages": messages,
        "batch_create": batch,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("provider", choices=["openai", "anthropic"])
    parser.add_argument("spec", nargs="?", help="OpenAI's openapi.yaml")
    parser.add_argument("--openai-lines", help="an openapi.yaml that still has BatchRequestInput")
    parser.add_argument("--check", action="store_true", help="compare with the committed file")
    args = parser.parse_args()
    if args.provider == "openai":
        if not args.spec or not args.openai_lines:
            parser.error("openai needs the spec and --openai-lines")
        extracted, path = openai(args.spec, args.openai_lines), SCHEMAS / "openai.json"
    else:
        extracted = anthropic()
        version = extracted["source"]["package"].split("==")[1]
        path = SCHEMAS / f"anthropic-{version}.json"
    text = json.dumps(extracted, indent=1, sort_keys=True) + "\n"
    if args.check:
        if not path.exists() or path.read_text() != text:
            print(f"{path} differs from what {extracted['source']} gives: run without --check", file=sys.stderr)
            return 1
        print(f"{path}: the same as {extracted['source']} gives")
        return 0
    SCHEMAS.mkdir(exist_ok=True)
    path.write_text(text)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
