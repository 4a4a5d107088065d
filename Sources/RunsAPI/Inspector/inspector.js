"use strict";
// Runnel's inspector: the same /v1 API and key as any client. Everything shown is set as text,
// never as markup, since message content and tool output come from users and models.

const state = { key: "", assistant: null, thread: null, run: null, threadsAfter: null, streaming: false };
const $ = (id) => document.getElementById(id);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === "class") node.className = value;
    else if (name === "on") for (const [event, handler] of Object.entries(value)) node.addEventListener(event, handler);
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child ?? "");
  return node;
}

function say(text, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

function headers(json) {
  const result = { "OpenAI-Beta": "assistants=v2" };
  if (state.key) result.Authorization = "Bearer " + state.key;
  if (json) result["Content-Type"] = "application/json";
  return result;
}

async function api(method, path, body) {
  const response = await fetch("/v1" + path, { method, headers: headers(body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = new Error(data?.error?.message || `${response.status} ${response.statusText}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

const time = (seconds) => seconds ? new Date(seconds * 1000).toLocaleString() : "";
const short = (text, length = 60) => text.length > length ? text.slice(0, length - 1) + "…" : text;

function textOf(message) {
  return (message.content || []).map((part) => part.type === "text" ? part.text.value
    : part.type === "image_file" ? `[image ${part.image_file.file_id}]`
    : part.type === "image_url" ? `[image ${part.image_url.url}]` : `[${part.type}]`).join("\n");
}

function select(list, item) {
  for (const node of list.children) node.classList.toggle("selected", node === item);
}

// MARK: Browsing

async function connect() {
  state.assistant = state.thread = state.run = null;
  $("threads").replaceChildren();
  try {
    await loadAssistants();
    state.threadsAfter = null;
    await loadThreads();
    say(state.key ? "Connected with the key given." : "Connected.");
  } catch (error) {
    say(error.status === 401 ? "This server needs an API key: enter one above." : error.message, true);
  }
}

async function loadAssistants() {
  const page = await api("GET", "/assistants?limit=100");
  $("assistants").replaceChildren(...page.data.map((assistant) => {
    const item = el("li", { "data-id": assistant.id, title: assistant.id },
      assistant.name || assistant.id, el("span", { class: "meta" }, assistant.model));
    item.addEventListener("click", () => { state.assistant = assistant; select($("assistants"), item); });
    return item;
  }));
  const first = $("assistants").firstElementChild;
  if (first && !state.assistant) first.click();
}

async function loadThreads() {
  const page = await api("GET", "/threads?limit=30" + (state.threadsAfter ? "&after=" + state.threadsAfter : ""));
  for (const thread of page.data) $("threads").append(threadItem(thread));
  state.threadsAfter = page.last_id;
  $("more-threads").hidden = !page.has_more;
}

function threadItem(thread) {
  const item = el("li", { "data-id": thread.id, title: thread.id }, thread.id, el("span", { class: "meta" }, time(thread.created_at)));
  item.addEventListener("click", () => openThread(thread, item));
  return item;
}

async function openThread(thread, item) {
  state.thread = thread;
  select($("threads"), item);
  $("thread-title").textContent = "Thread " + thread.id;
  await refreshThread();
}

async function refreshThread() {
  if (!state.thread) return;
  const id = state.thread.id;
  const [messages, runs] = await Promise.all([api("GET", `/threads/${id}/messages?order=asc&limit=100`),
    api("GET", `/threads/${id}/runs?limit=100`)]);
  $("messages").replaceChildren(...messages.data.map((message) => messageNode(message.role, textOf(message), message.id)));
  $("messages").scrollTop = $("messages").scrollHeight;
  $("runs").replaceChildren(...runs.data.map((run) => {
    const item = el("li", { "data-id": run.id }, run.id, el("span", { class: "meta status-" + run.status }, run.status));
    item.addEventListener("click", () => openRun(run.id, item));
    return item;
  }));
}

function messageNode(role, text, id) {
  return el("div", { class: "message " + role, ...(id ? { "data-id": id } : {}) }, el("span", { class: "role" }, role), text);
}

// MARK: A run: summary, steps, timeline

async function openRun(runID, item) {
  if (item) select($("runs"), item);
  const run = await api("GET", `/threads/${state.thread.id}/runs/${runID}`);
  await showRun(run, true);
  // A run still executing is joined over its event stream (Runnel's own endpoint: OpenAI's API
  // has none), and shown as it goes.
  if (!isFinal(run.status) && run.status !== "requires_action" && !state.streaming) {
    state.streaming = true;
    try {
      await stream("GET", `/threads/${state.thread.id}/runs/${runID}/events`);
    } catch (error) {
      say(error.message, true);
    } finally {
      state.streaming = false;
    }
  }
}

const isFinal = (status) => ["completed", "failed", "cancelled", "expired", "incomplete"].includes(status);

async function showRun(run, withTimeline) {
  state.run = run;
  $("run-id").textContent = run.id;
  const usage = run.usage ? `${run.usage.prompt_tokens} prompt + ${run.usage.completion_tokens} completion = ${run.usage.total_tokens}` : "—";
  const rows = [["status", run.status], ["assistant", run.assistant_id], ["model", run.model], ["usage", usage],
    ["created", time(run.created_at)], ["started", time(run.started_at)],
    ["ended", time(run.completed_at || run.failed_at || run.cancelled_at || run.expired_at)]];
  if (run.last_error) rows.push(["error", `${run.last_error.code}: ${run.last_error.message}`]);
  if (run.incomplete_details) rows.push(["incomplete", run.incomplete_details.reason]);
  if (run.required_action) rows.push(["requires", run.required_action.submit_tool_outputs.tool_calls.map((call) => call.function.name).join(", ")]);
  $("run-summary").replaceChildren(...rows.flatMap(([name, value]) =>
    [el("dt", {}, name), el("dd", name === "status" ? { id: "run-status", class: "status-" + value } : {}, value || "—")]));
  const steps = await api("GET", `/threads/${run.thread_id}/runs/${run.id}/steps?order=asc&limit=100`).catch(() => ({ data: [] }));
  $("steps").replaceChildren(...steps.data.map(stepNode));
  if (withTimeline) showStoredTimeline(run, steps.data);
}

function stepNode(step) {
  const node = el("li", { "data-id": step.id }, el("strong", {}, step.type.replace("_", " ")), " ",
    el("span", { class: "status-" + step.status }, step.status));
  if (step.usage) node.append(el("span", { class: "meta" }, ` ${step.usage.total_tokens} tokens`));
  if (step.step_details.type === "message_creation") node.append(el("div", { class: "meta" }, step.step_details.message_creation.message_id));
  for (const call of step.step_details.tool_calls || []) {
    if (call.type === "function") {
      node.append(el("div", {}, `${call.function.name}(…)`), el("pre", {}, call.function.arguments),
        el("pre", { class: "output" }, call.function.output ?? "(waiting for its output)"));
    } else if (call.type === "code_interpreter") {
      node.append(el("div", {}, "code_interpreter"), el("pre", {}, call.code_interpreter.input),
        ...call.code_interpreter.outputs.map((output) => el("pre", { class: "output" },
          output.type === "logs" ? output.logs : `[image ${output.image.file_id}]`)));
    } else if (call.type === "file_search") {
      node.append(el("div", {}, `file_search: ${(call.file_search.results || []).length} results`));
    }
  }
  return node;
}

// A finished run's timeline comes from its stored timestamps (whole seconds).
function showStoredTimeline(run, steps) {
  const entries = [[run.created_at, "created"], [run.started_at, "started"]];
  for (const step of steps) {
    entries.push([step.created_at, `step ${step.type} created`]);
    const ended = step.completed_at || step.failed_at || step.cancelled_at || step.expired_at;
    if (ended) entries.push([ended, `step ${step.type} ${step.status}`]);
  }
  const ended = run.completed_at || run.failed_at || run.cancelled_at || run.expired_at;
  if (ended) entries.push([ended, run.status]);
  $("timeline").replaceChildren(...entries.filter(([at]) => at).sort((a, b) => a[0] - b[0]).map(([at, what]) =>
    el("li", {}, el("span", { class: "at" }, `+${at - run.created_at} s`), what)));
}

// MARK: Sending a message and watching its run's stream

async function send(event) {
  event.preventDefault();
  const text = $("prompt").value.trim();
  if (!text || state.streaming) return;
  if (!state.assistant) return say("Select an assistant first (or create one with the API).", true);
  state.streaming = true;
  $("send").disabled = true;
  try {
    let path, body;
    if (state.thread) {
      await api("POST", `/threads/${state.thread.id}/messages`, { role: "user", content: text });
      path = `/threads/${state.thread.id}/runs`;
      body = { assistant_id: state.assistant.id, stream: true };
    } else {
      path = "/threads/runs";
      body = { assistant_id: state.assistant.id, stream: true, thread: { messages: [{ role: "user", content: text }] } };
    }
    $("prompt").value = "";
    $("messages").append(messageNode("user", text));
    await stream("POST", path, body);
    say("Run finished.");
  } catch (error) {
    say(error.message, true);
  } finally {
    state.streaming = false;
    $("send").disabled = false;
  }
}

async function stream(method, path, body) {
  const response = await fetch("/v1" + path, { method, headers: headers(body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) {
    const data = await response.json().catch(() => null);
    throw new Error(data?.error?.message || `${response.status} ${response.statusText}`);
  }
  const started = performance.now();
  $("timeline").replaceChildren();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const bubbles = {};
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message", data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data += line.slice(5).trimStart();
      }
      if (data) await onEvent(name, data, started, bubbles);
    }
  }
  await refreshThread();
  if (state.run) await showRun(state.run, false);
}

async function onEvent(name, data, started, bubbles) {
  if (name !== "thread.message.delta" && name !== "thread.run.step.delta") {
    $("timeline").append(el("li", {}, el("span", { class: "at" }, `+${Math.round(performance.now() - started)} ms`), name));
  }
  if (data === "[DONE]") return;
  const object = JSON.parse(data);
  if (name === "error") throw new Error(object.message || "the stream ended with an error");
  if (name === "thread.created") {
    state.thread = object;
    $("thread-title").textContent = "Thread " + object.id;
    const item = threadItem(object);
    $("threads").prepend(item);
    select($("threads"), item);
  } else if (name.startsWith("thread.run.") && !name.startsWith("thread.run.step.")) {
    state.run = object;
    $("run-id").textContent = object.id;
    $("run-summary").replaceChildren(el("dt", {}, "status"), el("dd", { id: "run-status", class: "status-" + object.status }, object.status));
  } else if (name === "thread.message.created" && object.role === "assistant") {
    bubbles[object.id] = messageNode("assistant", "", object.id);
    bubbles[object.id].classList.add("streaming");
    $("messages").append(bubbles[object.id]);
  } else if (name === "thread.message.delta") {
    // A run joined midway streams into the message already shown with what it had so far.
    const bubble = bubbles[object.id] ??= joinedBubble(object.id);
    for (const part of object.delta.content || []) if (part.type === "text") bubble.append(part.text.value || "");
    $("messages").scrollTop = $("messages").scrollHeight;
  } else if (name === "thread.message.completed" && bubbles[object.id]) {
    bubbles[object.id].classList.remove("streaming");
  }
}

function joinedBubble(id) {
  const shown = [...$("messages").children].find((node) => node.dataset.id === id);
  const bubble = shown || messageNode("assistant", "", id);
  bubble.classList.add("streaming");
  if (!shown) $("messages").append(bubble);
  return bubble;
}

// MARK: Wiring

$("key-form").addEventListener("submit", (event) => { event.preventDefault(); state.key = $("key").value.trim(); connect(); });
$("composer").addEventListener("submit", send);
$("more-threads").addEventListener("click", () => loadThreads().catch((error) => say(error.message, true)));
$("new-thread").addEventListener("click", () => {
  state.thread = null;
  select($("threads"), null);
  $("thread-title").textContent = "New thread";
  $("messages").replaceChildren();
  $("runs").replaceChildren();
});
connect();
