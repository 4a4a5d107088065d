"""Assistants through the official SDK, exactly as users call it."""
import openai
import pytest


def test_create_retrieve_update_delete(client):
    assistant = client.beta.assistants.create(
        model="gpt-4o",
        name="Math Tutor",
        instructions="You are a personal math tutor.",
        tools=[{"type": "code_interpreter"}, {"type": "function", "function": {
            "name": "get_weather", "description": "Weather", "parameters": {"type": "object", "properties": {}}}}],
        metadata={"team": "blue"},
        temperature=0.2,
        top_p=0.9,
        response_format={"type": "json_object"},
    )
    assert assistant.id.startswith("asst_")
    assert assistant.object == "assistant"
    assert assistant.name == "Math Tutor"
    assert assistant.tools[1].function.name == "get_weather"
    assert assistant.metadata == {"team": "blue"}
    assert assistant.temperature == 0.2 and assistant.top_p == 0.9

    fetched = client.beta.assistants.retrieve(assistant.id)
    assert fetched.model_dump() == assistant.model_dump()

    updated = client.beta.assistants.update(assistant.id, name="Algebra Tutor", description=None, metadata={"team": "red"})
    assert updated.name == "Algebra Tutor"
    assert updated.instructions == "You are a personal math tutor."
    assert updated.metadata == {"team": "red"}
    assert client.beta.assistants.retrieve(assistant.id).name == "Algebra Tutor"

    deleted = client.beta.assistants.delete(assistant.id)
    assert deleted.deleted is True and deleted.object == "assistant.deleted" and deleted.id == assistant.id
    with pytest.raises(openai.NotFoundError) as error:
        client.beta.assistants.retrieve(assistant.id)
    assert error.value.body["message"] == f"No assistant found with id '{assistant.id}'."


def test_defaults_match_openai(client):
    assistant = client.beta.assistants.create(model="gpt-4o")
    raw = client.beta.assistants.with_raw_response.retrieve(assistant.id).http_response.json()
    assert raw["name"] is None and raw["description"] is None and raw["instructions"] is None
    assert raw["tools"] == [] and raw["metadata"] == {} and raw["tool_resources"] == {}
    assert raw["temperature"] == 1.0 and raw["top_p"] == 1.0 and raw["response_format"] == "auto"


def test_list_pages_with_cursors_in_both_orders(client):
    created = [client.beta.assistants.create(model="gpt-4o", name=f"a{i}").id for i in range(7)]
    ascending = [a.id for a in client.beta.assistants.list(order="asc", limit=2)]
    assert ascending == created
    descending = [a.id for a in client.beta.assistants.list(limit=3)]
    assert descending == created[::-1]
    page = client.beta.assistants.list(order="asc", limit=3)
    assert [a.id for a in page.data] == created[:3] and page.has_more is True
    raw = client.beta.assistants.with_raw_response.list(order="asc", limit=3).http_response.json()
    assert raw["object"] == "list" and raw["first_id"] == created[0] and raw["last_id"] == created[2]
    before = client.beta.assistants.list(order="asc", before=created[5], limit=2)
    assert [a.id for a in before.data] == created[3:5]
    last = client.beta.assistants.list(order="asc", after=created[5], limit=5)
    assert [a.id for a in last.data] == created[6:] and last.has_more is False


@pytest.mark.parametrize("kwargs, param, code", [
    ({"name": "x" * 257}, "name", "string_above_max_length"),
    ({"description": "x" * 513}, "description", "string_above_max_length"),
    ({"instructions": "x" * 256001}, "instructions", "string_above_max_length"),
    ({"temperature": 2.5}, "temperature", "decimal_above_max_value"),
    ({"top_p": 1.5}, "top_p", "decimal_above_max_value"),
    ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata", "object_above_max_properties"),
    ({"metadata": {"k" * 65: "v"}}, None, "string_above_max_length"),
    ({"metadata": {"actual": "v" * 513}}, "metadata.actual", "string_above_max_length"),
    ({"tools": [{"type": "code_interpreter"}] * 129}, "tools", "array_above_max_length"),
    ({"tools": [{"type": "function", "function": {"name": "bad name!"}}]}, "tools[0].function.name", "invalid_value"),
    ({"tools": [{"type": "browser"}]}, "tools[0].type", "invalid_value"),
    ({"extra_body": {"reasoning": "x"}}, "reasoning", "unknown_parameter"),
])
def test_validation_names_the_parameter(client, kwargs, param, code):
    with pytest.raises(openai.BadRequestError) as error:
        client.beta.assistants.create(model="gpt-4o", **kwargs)
    assert error.value.status_code == 400
    assert error.value.body["type"] == "invalid_request_error"
    assert error.value.body["code"] == code
    if param is not None:
        assert error.value.body["param"] == param
    assert error.value.body["message"]


def test_model_is_required(runnel):
    import httpx
    response = httpx.post(f"{runnel.base_url}/assistants", json={"name": "x"})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "message": "Missing required parameter: 'model'.", "type": "invalid_request_error",
        "param": "model", "code": "missing_required_parameter"}


def test_limit_out_of_range(client):
    for limit in (0, 101):
        with pytest.raises(openai.BadRequestError) as error:
            client.beta.assistants.list(limit=limit)
        assert error.value.body["param"] == "limit"
