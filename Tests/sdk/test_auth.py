"""API keys: 401 without a known key, and each key's project sees only its own objects."""
import httpx
import json

import openai
import pytest


@pytest.fixture
def keyed(tmp_path, start_runnel):
    config = tmp_path / "runnel.json"
    config.write_text(json.dumps({"api_keys": [
        {"key": "sk-alpha-1", "project": "alpha"},
        {"key": "sk-alpha-2", "project": "alpha"},
        {"key": "sk-beta-1", "project": "beta"},
    ]}))
    return start_runnel("--config", str(config))


def test_missing_or_unknown_key_is_401(keyed):
    import httpx
    missing = httpx.get(f"{keyed.base_url}/assistants")
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "invalid_api_key"
    for key in ("sk-wrong", "sk-alpha-1x", "sk-alpha-", "SK-ALPHA-1"):
        with pytest.raises(openai.AuthenticationError) as error:
            keyed.client(api_key=key).beta.threads.create()
        assert error.value.status_code == 401
        assert error.value.body["code"] == "invalid_api_key"
        assert error.value.body["type"] == "invalid_request_error"


def test_projects_are_isolated(keyed):
    alpha, alpha_other, beta = keyed.client("sk-alpha-1"), keyed.client("sk-alpha-2"), keyed.client("sk-beta-1")
    assistant = alpha.beta.assistants.create(model="gpt-4o")
    thread = alpha.beta.threads.create(messages=[{"role": "user", "content": "secret"}])
    message_id = alpha.beta.threads.messages.list(thread.id).data[0].id

    assert alpha_other.beta.assistants.retrieve(assistant.id).id == assistant.id
    for call, noun, object_id in [
        (lambda: beta.beta.assistants.retrieve(assistant.id), "assistant", assistant.id),
        (lambda: beta.beta.assistants.update(assistant.id, name="x"), "assistant", assistant.id),
        (lambda: beta.beta.assistants.delete(assistant.id), "assistant", assistant.id),
        (lambda: beta.beta.threads.retrieve(thread.id), "thread", thread.id),
        (lambda: beta.beta.threads.delete(thread.id), "thread", thread.id),
        (lambda: beta.beta.threads.messages.list(thread.id), "thread", thread.id),
        (lambda: beta.beta.threads.messages.create(thread.id, role="user", content="x"), "thread", thread.id),
        (lambda: beta.beta.threads.messages.retrieve(message_id, thread_id=thread.id), "thread", thread.id),
    ]:
        with pytest.raises(openai.NotFoundError) as error:
            call()
        # Exactly the answer for an id that never existed.
        assert error.value.body == {"message": f"No {noun} found with id '{object_id}'.",
                                    "type": "invalid_request_error", "param": None, "code": None}
    assert beta.beta.assistants.list().data == []
    assert [a.id for a in alpha.beta.assistants.list()] == [assistant.id]
    assert alpha.beta.threads.retrieve(thread.id).id == thread.id


def test_keys_from_flags_and_env(start_runnel):
    server = start_runnel("--api-key", "flag-key-1", "--api-key", "flag-key-2")
    one, two = server.client("flag-key-1"), server.client("flag-key-2")
    assistant = one.beta.assistants.create(model="m")
    with pytest.raises(openai.NotFoundError):
        two.beta.assistants.retrieve(assistant.id)
    env_server = start_runnel(env={"RUNNEL_API_KEYS": "env-a, env-b"})
    env_server.client("env-b").beta.threads.create()
    with pytest.raises(openai.AuthenticationError):
        env_server.client("flag-key-1").beta.threads.create()


def test_without_keys_any_token_shares_one_project(runnel):
    assistant = runnel.client("anything").beta.assistants.create(model="m")
    assert runnel.client("something-else").beta.assistants.retrieve(assistant.id).id == assistant.id
    import httpx
    assert httpx.get(f"{runnel.base_url}/assistants/{assistant.id}").status_code == 200


def test_keys_never_reach_the_log(keyed):
    keyed.client("sk-alpha-1").beta.threads.create()
    with pytest.raises(openai.AuthenticationError):
        keyed.client("sk-not-a-real-key").beta.threads.create()
    keyed.stop()
    log = keyed.log_text()
    assert "listening on" in log
    for secret in ("sk-alpha-1", "sk-alpha-2", "sk-beta-1", "sk-not-a-real-key"):
        assert secret not in log


def test_thread_list_pages_one_projects_threads(keyed):
    """GET /v1/threads (Runnel's own, for the inspector) lists a project's threads, newest first."""
    alpha, beta = keyed.client(api_key="sk-alpha-1"), keyed.client(api_key="sk-beta-1")
    made = [alpha.beta.threads.create(metadata={"n": str(i)}).id for i in range(5)]
    hidden = beta.beta.threads.create().id
    headers = {"Authorization": "Bearer sk-alpha-2", "OpenAI-Beta": "assistants=v2"}
    first = httpx.get(f"{keyed.base_url}/threads", params={"limit": 3}, headers=headers, timeout=10).json()
    assert first["object"] == "list" and [t["id"] for t in first["data"]] == made[::-1][:3] and first["has_more"]
    rest = httpx.get(f"{keyed.base_url}/threads", params={"limit": 3, "after": first["last_id"]}, headers=headers, timeout=10).json()
    assert [t["id"] for t in rest["data"]] == made[::-1][3:] and not rest["has_more"]
    assert hidden not in {t["id"] for t in first["data"] + rest["data"]}
    bad = httpx.get(f"{keyed.base_url}/threads", params={"limit": 0}, headers=headers, timeout=10)
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "limit"
