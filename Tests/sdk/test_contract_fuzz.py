"""A contract fuzz: schemathesis generates requests from OpenAI's OpenAPI document for every
operation Runnel implements and checks each answer: no server error, the documented status codes,
content types and response schemas. Real objects are supplied, so operations on existing ids reach
their logic instead of stopping at 404."""
import os
import subprocess
import sys
import time

import pytest
import yaml

import contract_spec

CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance,status_code_conformance"
EXAMPLES_PER_OPERATION = 60


def fixture_objects(client):
    """An assistant with a function, a thread with a message and a finished run with its step, and
    a thread whose run waits for tool outputs."""
    function = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}
    assistant = client.beta.assistants.create(model="gpt-4o", name="contract", tools=[function])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hello contract"}])
    message = client.beta.threads.messages.list(thread.id).data[0]
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    step = client.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id).data[0]
    waiting = client.beta.threads.create(messages=[{"role": "user", "content": "/call lookup {}"}])
    waiting_run = client.beta.threads.runs.create_and_poll(thread_id=waiting.id, assistant_id=assistant.id)
    assert run.status == "completed" and waiting_run.status == "requires_action"
    file = client.files.create(file=("contract.txt", b"contract text to search"), purpose="assistants")
    store = client.vector_stores.create(name="contract", file_ids=[file.id])
    batch = client.vector_stores.file_batches.create_and_poll(vector_store_id=store.id, file_ids=[file.id])
    return {
        "files": [file.id],
        "vector_stores": [store.id],
        "batches": [batch.id],
        "assistants": [assistant.id],
        "threads": [thread.id, waiting.id],
        "messages": [message.id],
        "runs": [run.id, waiting_run.id],
        "steps": [step.id],
    }


def config_toml(objects) -> str:
    lines = []
    for name, ids in objects.items():
        lines += [f"[dictionaries.{name}]", "values = [" + ", ".join(f'"{i}"' for i in ids) + "]", ""]
    lines.append("[parameters]")
    bindings = {"path.assistant_id": "assistants", "body.assistant_id": "assistants", "path.thread_id": "threads",
                "path.message_id": "messages", "path.run_id": "runs", "path.step_id": "steps",
                "path.file_id": "files", "body.file_id": "files", "path.vector_store_id": "vector_stores",
                "path.batch_id": "batches"}
    for key, dictionary in bindings.items():
        lines.append(f'"{key}" = {{ dictionary = "{dictionary}", probability = 0.8 }}')
    return "\n".join(lines) + "\n"


def test_every_implemented_operation_honours_the_contract(start_runnel, tmp_path, report):
    source = contract_spec.locate()
    if source is None:
        pytest.skip("OpenAI's OpenAPI document (shared/openai-openapi.yaml beside a parent of the repository, "
                    "or RUNNEL_OPENAPI_SPEC) is not on this machine")
    server = start_runnel()
    objects = fixture_objects(server.client())
    spec = tmp_path / "runnel-contract.yaml"
    document = contract_spec.implemented_document(source)
    spec.write_text(yaml.safe_dump(document, sort_keys=False))
    config = tmp_path / "schemathesis.toml"
    config.write_text(config_toml(objects))
    seed = os.environ.get("RUNNEL_CONTRACT_SEED", "20261127")
    # Hypothesis describes a strategy's lambdas by parsing their source, which deep in a draw trips a
    # CPython 3.11 bug (gh-106905: "SystemError: AST constructor recursion depth mismatch"); the
    # description is only for display, so an unknown one is used instead of failing the run.
    launcher = "\n".join([
        "import sys",
        "import hypothesis.internal.lambda_sources as sources",
        "describe = sources._lambda_description",
        "def described(*args, **kwargs):",
        "    try:",
        "        return describe(*args, **kwargs)",
        "    except SystemError:",
        "        return 'lambda: <unknown>'",
        "sources._lambda_description = described",
        "from schemathesis.cli import schemathesis",
        "sys.exit(schemathesis())",
    ])
    command = [sys.executable, "-c", launcher, "--config-file", str(config), "--no-color", "run", str(spec),
               "--url", server.base_url, "--checks", CHECKS, "--max-examples", str(EXAMPLES_PER_OPERATION),
               "--phases", "examples,coverage,fuzzing,stateful", "--seed", seed, "--workers", "2",
               "--suppress-health-check", "all", "--report", "junit", "--report-dir", str(tmp_path / "report")]
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    cases = next((line.strip() for line in output.splitlines() if " generated, " in line), "no test cases reported")
    report(f"schemathesis (seed {seed}, up to {EXAMPLES_PER_OPERATION} examples per operation and phase, "
           f"{len(document['paths'])} paths) in {elapsed:.0f} s: {cases}")
    assert result.returncode == 0, output[-20000:]
    assert "Server error" not in output and server.process.poll() is None
