"""code_interpreter in runs: Runnel runs the model's code in the thread's sandboxed session,
records and streams the step as OpenAI did, and turns figures and written files into Files."""
import json
import os
import subprocess
import tempfile
import time

import pytest
from openai import AssistantEventHandler

from retrieval_support import upload


@pytest.fixture(params=["echo", "openai"])
def backend(request):
    return request.param


@pytest.fixture
def python():
    path = os.environ.get("RUNNEL_CODE_PYTHON")
    if not path:
        pytest.skip("RUNNEL_CODE_PYTHON is unset (scripts/test.sh builds it with scripts/code-python.sh)")
    return path


@pytest.fixture
def client(start_runnel, python):
    return start_runnel(env={"RUNNEL_CODE_INTERPRETER_PYTHON": python}).client()


def code_message(code):
    return "/call code_interpreter " + json.dumps({"code": code})


PLOT = """import pandas as pd, matplotlib.pyplot as plt
total = sum(range(10))
pd.DataFrame({"n": [1, 2, 3]}).to_csv("/mnt/data/numbers.csv", index=False)
plt.plot([1, 4, 9])
print("total", total)"""


class Recorder(AssistantEventHandler):
    def __init__(self):
        super().__init__()
        self.created, self.deltas, self.done, self.images = [], [], [], []

    def on_tool_call_created(self, tool_call):
        self.created.append(tool_call)

    def on_tool_call_delta(self, delta, snapshot):
        self.deltas.append(delta)

    def on_tool_call_done(self, tool_call):
        self.done.append(tool_call)

    def on_image_file_done(self, image_file):
        self.images.append(image_file.file_id)


def test_a_streamed_run_computes_plots_writes_and_keeps_its_variables(client):
    assistant = client.beta.assistants.create(model="gpt-4o", tools=[{"type": "code_interpreter"}])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": code_message(PLOT)}])
    handler = Recorder()
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id, event_handler=handler) as stream:
        stream.until_done()
        run = stream.get_final_run()
    assert run.status == "completed", run.last_error

    # Streamed as the SDK accumulates it: the call, its code in pieces, then its outputs.
    assert [c.type for c in handler.created] == ["code_interpreter"] and handler.created[0].code_interpreter.input == ""
    pieces = [d.code_interpreter.input for d in handler.deltas if d.code_interpreter.input]
    assert len(pieces) > 1 and "".join(pieces) == PLOT
    # The SDK reports the last call again at every later step's end; it is the one call.
    done = handler.done[0]
    assert {d.id for d in handler.done} == {handler.created[0].id}
    assert done.code_interpreter.input == PLOT
    logs, image = done.code_interpreter.outputs
    assert logs.type == "logs" and logs.logs == "total 45\n"
    assert image.type == "image" and handler.images == [image.image.file_id]

    steps = client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id, order="asc").data
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    call = steps[0].step_details.tool_calls[0]
    assert call.type == "code_interpreter" and call.code_interpreter.input == PLOT
    assert [o.type for o in call.code_interpreter.outputs] == ["logs", "image"]

    message = client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data[0]
    figure, text = message.content
    assert figure.type == "image_file" and figure.image_file.file_id == image.image.file_id
    assert "total 45" in text.text.value
    [link] = text.text.annotations
    assert link.type == "file_path" and link.text == "sandbox:/mnt/data/numbers.csv"
    assert text.text.value[link.start_index:link.end_index] == link.text

    csv = client.files.retrieve(link.file_path.file_id)
    assert csv.purpose == "assistants_output" and csv.filename == "numbers.csv"
    assert client.files.content(csv.id).read() == b"n\n1\n2\n3\n"
    png = client.files.content(image.image.file_id).read()
    assert png.startswith(b"\x89PNG") and client.files.retrieve(image.image.file_id).purpose == "assistants_output"

    # The thread's session keeps its variables for the next run.
    client.beta.threads.messages.create(thread_id=thread.id, role="user", content=code_message("print(total * 2)"))
    again = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert again.status == "completed"
    step = client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=again.id, order="asc").data[0]
    assert step.step_details.tool_calls[0].code_interpreter.outputs[0].logs == "90\n"


def test_files_from_tool_resources_and_attachments_are_in_the_session(client):
    sales = upload(client, "sales.csv", b"amount\n3\n4\n")
    notes = upload(client, "notes.txt", b"from an attachment")
    assistant = client.beta.assistants.create(model="gpt-4o", tools=[{"type": "code_interpreter"}],
                                              tool_resources={"code_interpreter": {"file_ids": [sales.id]}})
    code = 'import pandas as pd\nprint(pd.read_csv("/mnt/data/sales.csv").amount.sum(), open("/mnt/data/notes.txt").read())'
    thread = client.beta.threads.create(messages=[{
        "role": "user", "content": code_message(code),
        "attachments": [{"file_id": notes.id, "tools": [{"type": "code_interpreter"}]}]}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed", run.last_error
    step = client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id, order="asc").data[0]
    assert step.step_details.tool_calls[0].code_interpreter.outputs[0].logs == "7 from an attachment\n"


def test_errors_and_endless_code_come_back_as_logs(start_runnel, python):
    client = start_runnel("--code-call-timeout", "2", env={"RUNNEL_CODE_INTERPRETER_PYTHON": python}).client()
    assistant = client.beta.assistants.create(model="gpt-4o", tools=[{"type": "code_interpreter"}])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": code_message("kept = 1\n1 / 0")}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    logs = client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id, order="asc").data[0] \
        .step_details.tool_calls[0].code_interpreter.outputs[0].logs
    assert "ZeroDivisionError" in logs
    client.beta.threads.messages.create(thread_id=thread.id, role="user", content=code_message("while True:\n    pass"))
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    logs = client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id, order="asc").data[0] \
        .step_details.tool_calls[0].code_interpreter.outputs[0].logs
    assert "KeyboardInterrupt" in logs


def test_without_a_sandbox_a_run_forcing_the_tool_fails_and_other_runs_work(start_runnel):
    client = start_runnel(env={"RUNNEL_CODE_INTERPRETER_PYTHON": "/nonexistent/python3"}).client()
    assistant = client.beta.assistants.create(model="gpt-4o", tools=[{"type": "code_interpreter"}])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "plot something"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id,
                                                   tool_choice={"type": "code_interpreter"})
    assert run.status == "failed" and run.last_error.code == "server_error"
    assert "code interpreter is unavailable" in run.last_error.message and "/nonexistent/python3" in run.last_error.message
    # Not offered to the model, so a run that does not force it answers without it.
    other = client.beta.threads.create(messages=[{"role": "user", "content": code_message("print(1)")}])
    run = client.beta.threads.runs.create_and_poll(thread_id=other.id, assistant_id=assistant.id)
    assert run.status == "completed"
    steps = client.beta.threads.runs.steps.list(thread_id=other.id, run_id=run.id).data
    assert [s.type for s in steps] == ["message_creation"]


def test_a_starting_server_removes_sessions_a_killed_one_left(start_runnel, python, tmp_path):
    gone = subprocess.Popen(["true"])
    gone.wait()
    left = os.path.join(tempfile.gettempdir(), f"runnel-code-{gone.pid}")
    os.makedirs(os.path.join(left, "session", "data"), exist_ok=True)
    start_runnel(env={"RUNNEL_CODE_INTERPRETER_PYTHON": python})
    # The sweep runs with the sandbox probe, once the server listens.
    deadline = time.monotonic() + 10
    while os.path.exists(left) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(left)
