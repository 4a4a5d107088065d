"""GET /metrics: Prometheus text that promtool accepts, counters that move with a run, and who may read it."""
import json
import os
import re
import shutil
import socket
import subprocess

import httpx
import pytest


def scrape(server, port=None, key=None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    # The metrics port is plain HTTP; the API port may be HTTPS.
    base = f"http://127.0.0.1:{port}" if port else server.base_url.removesuffix("/v1")
    return httpx.get(f"{base}/metrics", headers=headers, timeout=10)


def samples(text: str) -> dict:
    """`name{labels}` -> value, for every sample line."""
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            found[name] = float(value)
    return found


def total(found: dict, name: str, **labels) -> float:
    """The sum over the series of `name` whose labels include `labels`."""
    wanted = [f'{key}="{value}"' for key, value in labels.items()]
    return sum(value for series, value in found.items()
               if re.match(re.escape(name) + r"(\{|$)", series) and all(label in series for label in wanted))


def promtool_check(text: str):
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing: the test command installs Debian's prometheus package")
        pytest.skip("promtool is not installed (Debian's prometheus package)")
    checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.single_node
def test_a_run_moves_the_counters_and_promtool_accepts_the_output(runnel, client):
    before = samples(scrape(runnel).text)
    assistant = client.beta.assistants.create(model="gpt-4o")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "count these words please"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
        stream.until_done()
    response = scrape(runnel)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    after = samples(response.text)

    def moved(name, **labels):
        return total(after, name, **labels) - total(before, name, **labels)

    assert moved("runnel_runs_created_total") == 2
    assert moved("runnel_runs_finished_total", status="completed") == 2
    assert moved("runnel_http_requests_total", route="/v1/threads/{thread_id}/runs", method="POST", status="200") == 2
    assert moved("runnel_http_requests_total", route="/v1/assistants", method="POST", status="200") == 1
    assert moved("runnel_http_request_duration_seconds_count", route="/v1/threads/{thread_id}/runs", method="POST") == 2
    assert moved("runnel_model_calls_total", outcome="ok") == 2
    assert moved("runnel_model_tokens_total", kind="completion") > 0
    assert moved("runnel_run_duration_seconds_count") == 2
    assert moved("runnel_run_time_to_first_token_seconds_count") == 2
    assert moved("runnel_database_operation_duration_seconds_count", operation="write") > 0
    assert total(after, "runnel_http_connections_open") >= 1
    assert "runnel_sse_streams_open" in after and "runnel_runs_executing" in after and "runnel_runs_queued" in after
    # Labels are route templates: no id of any object ever becomes a label.
    for object_id in (assistant.id, thread.id, run.id):
        assert object_id not in response.text
    promtool_check(response.text)


@pytest.mark.single_node
def test_an_unknown_path_is_one_label_not_one_per_path(runnel):
    for index in range(5):
        httpx.get(f"{runnel.base_url}/nothing/{index}", timeout=10)
    text = scrape(runnel).text
    assert total(samples(text), "runnel_http_requests_total", route="unmatched", status="404") == 5
    assert "/v1/nothing" not in text


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.single_node
def test_with_api_keys_only_the_metrics_key_or_the_metrics_port_reads_metrics(start_runnel):
    port = free_port()
    server = start_runnel("--api-key", "project-key", "--metrics-key", "scrape-key", "--metrics-port", str(port))
    assert scrape(server).status_code == 401
    refused = scrape(server, key="project-key")
    assert refused.status_code == 401
    assert set(refused.json()["error"]) == {"message", "type", "param", "code"}
    assert scrape(server, key="scrape-key").status_code == 200
    assert scrape(server, port=port).status_code == 200
    # The metrics port serves metrics and health, and none of the API.
    other = httpx.get(f"http://127.0.0.1:{port}/v1/threads", timeout=10)
    assert other.status_code == 404 and other.json()["error"]["type"] == "invalid_request_error"
    assert "project-key" not in server.log_text() and "scrape-key" not in server.log_text()


@pytest.mark.single_node
def test_with_api_keys_and_no_metrics_key_a_project_key_is_refused(start_runnel):
    server = start_runnel("--api-key", "project-key")
    refused = scrape(server, key="project-key")
    assert refused.status_code == 403
    assert "--metrics-port" in refused.json()["error"]["message"]


@pytest.mark.single_node
def test_metrics_off_is_not_a_route(start_runnel):
    server = start_runnel("--metrics", "off")
    assert scrape(server).status_code == 404


@pytest.mark.single_node
def test_json_logs_have_a_line_per_request_and_per_run_transition_and_no_secrets(start_runnel):
    server = start_runnel("--api-key", "sk-secret-project-key", "--log-format", "json")
    client = server.client(api_key="sk-secret-project-key")
    assistant = client.beta.assistants.create(model="gpt-4o")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "a confidential sentence"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    server.stop()
    lines = [json.loads(line) for line in server.log_text().splitlines() if line.strip()]
    requests = [line for line in lines if line["message"] == "request"]
    created = [line for line in requests if line["route"] == "/v1/threads/{thread_id}/runs" and line["method"] == "POST"]
    assert len(created) == 1
    assert created[0]["level"] == "info" and created[0]["status"] == 200
    assert created[0]["request_id"].startswith("req_") and created[0]["bytes"] > 0 and created[0]["duration_ms"] >= 0
    transitions = [line["status"] for line in lines if line.get("run_id") == run.id and "status" in line and line["message"] != "request"]
    assert transitions[0] == "queued" and transitions[-1] == "completed" and "in_progress" in transitions
    assert all(line.get("thread_id") == thread.id for line in lines if line.get("run_id") == run.id)
    text = server.log_text()
    assert "sk-secret-project-key" not in text and "confidential" not in text
