#!/usr/bin/env python3
"""Checks every request body chatan sent in its conformance test (the files that
`tests/tests/integration/conformance.rs` writes, one JSON body a line) against the
providers' published schemas extracted into `schemas/` by `extract.py`.

    check.py target/test-scratch/conformance

Needs `jsonschema` (PyPI). Fails, naming the body and the schema's complaint, if any
body does not validate, or if a file the test should have written is missing or empty.
"""

import json
import pathlib
import sys

import jsonschema

HERE = pathlib.Path(__file__).resolve().parent

# Which schema each file's bodies must validate against: (fixture, key).
CHECKS = {
    "openai-chat.jsonl": ("openai.json", "chat"),
    "openai-batch-input.jsonl": ("openai.json", "batch_line"),
    "openai-batch-create.jsonl": ("openai.json", "batch_create"),
    "anthropic-messages.jsonl": ("anthropic-0.125.0.json", "messages"),
    # A generator told its model takes no sampling parameters sends what the SDK's
    # newest types allow, which hold none.
    "anthropic-messages-no-sampling.jsonl": ("anthropic-2.17.0.json", "messages"),
    "anthropic-batch-create.jsonl": ("anthropic-0.125.0.json", "batch_create"),
}


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    folder = pathlib.Path(sys.argv[1])
    failures = 0
    for name, (fixture, key) in CHECKS.items():
        path = folder / name
        lines = path.read_text().splitlines() if path.exists() else []
        if not lines:
            print(f"{path}: missing or empty (run `cargo test -p tests --test integration conformance`)")
            failures += 1
            continue
        schema = json.loads((HERE / "schemas" / fixture).read_text())[key]
        validator = jsonschema.Draft202012Validator(schema)
        bad = 0
        for number, line in enumerate(lines, 1):
            body = json.loads(line)
            errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
            if errors:
                bad += 1
                failures += 1
                error = errors[0]
                where = "/".join(str(p) for p in error.absolute_path) or "(the body)"
                print(f"{name}:{number}: {where}: {error.message[:300]}")
        print(f"{name}: {len(lines) - bad} of {len(lines)} bodies valid against {fixture} {key}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
