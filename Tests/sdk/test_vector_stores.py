"""Vector stores, their files and batches, ingestion and search, through the official SDK."""
import signal
import time

import httpx
import openai
import pytest

from conftest import sdk_store
from retrieval_support import two_projects, pdf_with_text, upload, wait_for

HTML = b"<html><head><style>p {color: red}</style><script>var hidden = 'koala';</script></head>" \
       b"<body><h1>Penguins</h1><p>Penguins swim fast &amp; live in Antarctica.</p></body></html>"


def test_store_lifecycle_with_counts_expiry_and_metadata(client):
    text = upload(client, "fox.txt", b"The quick brown fox jumps over the lazy dog.")
    store = client.vector_stores.create(name="zoo", file_ids=[text.id], metadata={"team": "a"},
                                        expires_after={"anchor": "last_active_at", "days": 2})
    assert store.id.startswith("vs_") and store.object == "vector_store" and store.name == "zoo"
    assert store.metadata == {"team": "a"} and store.expires_after.days == 2
    assert store.expires_at == store.last_active_at + 2 * 86400
    assert store.file_counts.total == 1
    ready = wait_for(lambda: (s := client.vector_stores.retrieve(store.id)).status == "completed" and s)
    assert ready.file_counts.completed == 1 and ready.file_counts.in_progress == 0 and ready.usage_bytes > 0
    modified = client.vector_stores.update(store.id, name="zoo 2", metadata={"team": "b"}, expires_after=None)
    assert modified.name == "zoo 2" and modified.metadata == {"team": "b"} and modified.expires_at is None
    other = client.vector_stores.create(name="second")
    assert [s.id for s in client.vector_stores.list().data] == [other.id, store.id]
    assert [s.id for s in client.vector_stores.list(order="asc", limit=1).data] == [store.id]
    deleted = client.vector_stores.delete(store.id)
    assert deleted.deleted and deleted.object == "vector_store.deleted"
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.retrieve(store.id)
    # The file itself stays.
    assert client.files.retrieve(text.id).id == text.id


def test_invalid_settings_are_400(client):
    text = upload(client, "a.txt", b"a b c")
    store = client.vector_stores.create()
    bad = [
        lambda: client.vector_stores.create(chunking_strategy={"type": "static", "static": {"max_chunk_size_tokens": 50, "chunk_overlap_tokens": 0}}),
        lambda: client.vector_stores.create(chunking_strategy={"type": "static", "static": {"max_chunk_size_tokens": 400, "chunk_overlap_tokens": 201}}),
        lambda: client.vector_stores.create(chunking_strategy={"type": "bogus"}),
        lambda: client.vector_stores.create(expires_after={"anchor": "last_active_at", "days": 0}),
        lambda: client.vector_stores.files.create(vector_store_id=store.id, file_id=text.id, attributes={"x": [1]}),
        lambda: client.vector_stores.search(vector_store_id=store.id, query="a", max_num_results=51),
        lambda: client.vector_stores.search(vector_store_id=store.id, query=""),
        lambda: client.vector_stores.search(vector_store_id=store.id, query="a", filters={"type": "near", "key": "k", "value": 1}),
        lambda: client.vector_stores.search(vector_store_id=store.id, query="a", filters={"type": "in", "key": "k", "value": 1}),
        lambda: client.vector_stores.search(vector_store_id=store.id, query="a", ranking_options={"score_threshold": 2}),
    ]
    for call in bad:
        with pytest.raises(openai.BadRequestError) as error:
            call()
        assert error.value.body["message"]
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.create(vector_store_id=store.id, file_id="file-missing")
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.create(file_ids=["file-missing"])


def test_files_in_a_store_parse_chunk_and_fail_clearly(client):
    store = client.vector_stores.create()
    words = " ".join(f"w{i}" for i in range(250))
    cases = {
        "notes.md": (b"# Notes\n" + words.encode(), "completed"),
        "page.html": (HTML, "completed"),
        "data.json": (b'{"animal": "narwhal", "count": 3}', "completed"),
        "table.csv": (b"name,legs\nspider,8\n", "completed"),
        "code.py": (b"def walrus():\n    return 'tusks'\n", "completed"),
        "doc.pdf": (pdf_with_text("Okapis are shy forest giraffes"), "completed"),
        "broken.pdf": (b"%PDF-1.4 this is not really a pdf", "failed"),
        "photo.bin": (b"\x00\x01\x02", "failed"),
    }
    ids = {}
    for name, (data, _) in cases.items():
        file = upload(client, name, data)
        chunking = {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 50}} if name == "notes.md" else None
        created = client.vector_stores.files.create_and_poll(vector_store_id=store.id, file_id=file.id,
                                                             attributes={"name": name, "size": len(data)},
                                                             **({"chunking_strategy": chunking} if chunking else {}))
        ids[name] = file.id
        assert created.status == cases[name][1], (name, created.last_error)
        assert created.attributes == {"name": name, "size": len(data)}
    photo = client.vector_stores.files.retrieve(vector_store_id=store.id, file_id=ids["photo.bin"])
    assert photo.last_error.code == "unsupported_file" and ".bin" in photo.last_error.message
    broken = client.vector_stores.files.retrieve(vector_store_id=store.id, file_id=ids["broken.pdf"])
    assert broken.last_error.code == "invalid_file"
    notes = client.vector_stores.files.retrieve(vector_store_id=store.id, file_id=ids["notes.md"])
    assert notes.chunking_strategy.static.max_chunk_size_tokens == 100
    auto = client.vector_stores.files.retrieve(vector_store_id=store.id, file_id=ids["code.py"])
    assert auto.chunking_strategy.static.max_chunk_size_tokens == 800 and auto.chunking_strategy.static.chunk_overlap_tokens == 400

    # The parsed text reads back without the overlaps; markup, scripts and styles are gone.
    parsed = client.vector_stores.files.content(vector_store_id=store.id, file_id=ids["notes.md"])
    texts = [item.text for item in parsed]
    assert len(texts) == 5 and " ".join(" ".join(texts).split()) == "# Notes " + words
    page = " ".join(" ".join(item.text for item in client.vector_stores.files.content(vector_store_id=store.id, file_id=ids["page.html"])).split())
    assert page == "Penguins Penguins swim fast & live in Antarctica."
    pdf = " ".join(item.text for item in client.vector_stores.files.content(vector_store_id=store.id, file_id=ids["doc.pdf"]))
    assert "Okapis are shy forest giraffes" in pdf

    listed = client.vector_stores.files.list(vector_store_id=store.id, filter="failed")
    assert sorted(f.id for f in listed.data) == sorted([ids["photo.bin"], ids["broken.pdf"]])
    assert len(client.vector_stores.files.list(vector_store_id=store.id, filter="completed").data) == 6
    counts = client.vector_stores.retrieve(store.id).file_counts
    assert (counts.completed, counts.failed, counts.total) == (6, 2, 8)

    updated = client.vector_stores.files.update(vector_store_id=store.id, file_id=ids["code.py"], attributes={"lang": "python"})
    assert updated.attributes == {"lang": "python"}
    removed = client.vector_stores.files.delete(vector_store_id=store.id, file_id=ids["code.py"])
    assert removed.deleted and removed.object == "vector_store.file.deleted"
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.retrieve(vector_store_id=store.id, file_id=ids["code.py"])


def test_search_ranks_filters_and_thresholds(client):
    store = client.vector_stores.create()
    docs = {
        "fox.txt": (b"The quick brown fox jumps over the lazy dog. Foxes are clever animals.", {"kind": "mammal", "year": 2020}),
        "whale.txt": (b"Blue whales are the largest animals ever known to have lived.", {"kind": "mammal", "year": 2023}),
        "shark.txt": (b"Sharks are fish with skeletons of cartilage.", {"kind": "fish", "year": 2021}),
    }
    ids = {}
    for name, (data, attributes) in docs.items():
        file = upload(client, name, data)
        ids[name] = file.id
        client.vector_stores.files.create_and_poll(vector_store_id=store.id, file_id=file.id, attributes=attributes)

    page = client.vector_stores.search(vector_store_id=store.id, query="clever fox")
    assert page.search_query == ["clever fox"] and page.has_more is False and page.next_page is None
    assert page.data[0].file_id == ids["fox.txt"] and page.data[0].filename == "fox.txt"
    assert page.data[0].attributes == {"kind": "mammal", "year": 2020}
    assert page.data[0].content[0].type == "text" and "clever" in page.data[0].content[0].text
    assert all(0 <= r.score <= 1 for r in page.data) and page.data[0].score > 0.7

    animals = client.vector_stores.search(vector_store_id=store.id, query=["largest animals", "cartilage"], max_num_results=5)
    assert {r.filename for r in animals.data} == {"whale.txt", "fox.txt", "shark.txt"}
    assert len(client.vector_stores.search(vector_store_id=store.id, query="animals", max_num_results=1).data) == 1

    def found(**kwargs):
        return sorted(r.filename for r in client.vector_stores.search(vector_store_id=store.id, **kwargs).data)

    everything = "animals fish"
    assert found(query=everything, filters={"type": "eq", "key": "kind", "value": "fish"}) == ["shark.txt"]
    assert found(query=everything, filters={"type": "ne", "key": "kind", "value": "fish"}) == ["fox.txt", "whale.txt"]
    assert found(query=everything, filters={"type": "gte", "key": "year", "value": 2021}) == ["shark.txt", "whale.txt"]
    assert found(query=everything, filters={"type": "in", "key": "year", "value": [2020, 2021]}) == ["fox.txt", "shark.txt"]
    assert found(query=everything, filters={"type": "and", "filters": [
        {"type": "eq", "key": "kind", "value": "mammal"}, {"type": "lt", "key": "year", "value": 2022}]}) == ["fox.txt"]
    assert found(query=everything, filters={"type": "or", "filters": [
        {"type": "eq", "key": "kind", "value": "fish"}, {"type": "eq", "key": "year", "value": 2023}]}) == ["shark.txt", "whale.txt"]
    assert found(query=everything, filters={"type": "eq", "key": "missing", "value": 1}) == []
    strict = client.vector_stores.search(vector_store_id=store.id, query="quick brown fox lazy dog whales",
                                         ranking_options={"ranker": "auto", "score_threshold": 0.5})
    assert [r.filename for r in strict.data] == ["fox.txt"]
    assert client.vector_stores.search(vector_store_id=store.id, query="zebra").data == []

    # A deleted file leaves every store and the index at once.
    client.files.delete(ids["fox.txt"])
    assert found(query="clever fox") == []
    assert client.vector_stores.retrieve(store.id).file_counts.total == 2


def test_batches_create_upload_cancel_and_list(client, tmp_path):
    store = client.vector_stores.create()
    files = [upload(client, f"doc{i}.txt", f"document number {i} about otters".encode()) for i in range(3)]
    batch = client.vector_stores.file_batches.create_and_poll(vector_store_id=store.id, file_ids=[f.id for f in files],
                                                              attributes={"source": "batch"})
    assert batch.id.startswith("vsfb_") and batch.object == "vector_store.files_batch" and batch.status == "completed"
    assert batch.file_counts.completed == 3 and batch.file_counts.total == 3
    listed = client.vector_stores.file_batches.list_files(vector_store_id=store.id, batch_id=batch.id)
    assert sorted(f.id for f in listed.data) == sorted(f.id for f in files)
    assert all(f.attributes == {"source": "batch"} for f in listed.data)

    paths = []
    for index in range(2):
        path = tmp_path / f"up{index}.md"
        path.write_text(f"# Uploaded {index}\nbeavers build dams")
        paths.append(path)
    uploaded = client.vector_stores.file_batches.upload_and_poll(vector_store_id=store.id, files=[open(p, "rb") for p in paths])
    assert uploaded.status == "completed" and uploaded.file_counts.completed == 2

    per_file = client.vector_stores.file_batches.create(vector_store_id=store.id, files=[
        {"file_id": files[0].id, "attributes": {"n": 1}},
        {"file_id": files[1].id, "chunking_strategy": {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0}}},
    ])
    cancelled = client.vector_stores.file_batches.cancel(vector_store_id=store.id, batch_id=per_file.id)
    assert cancelled.status == "cancelled"
    counts = cancelled.file_counts
    assert counts.cancelled + counts.completed == 2 and counts.in_progress == 0
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.file_batches.retrieve(vector_store_id=store.id, batch_id="vsfb_missing")
    with pytest.raises(openai.BadRequestError):
        client.vector_stores.file_batches.create(vector_store_id=store.id, file_ids=[files[0].id],
                                                 files=[{"file_id": files[0].id}])


def test_polls_are_held_until_ingestion_ends(client, runnel):
    store = client.vector_stores.create()
    file = upload(client, "long.txt", (" ".join(f"word{i}" for i in range(200_000))).encode())
    client.vector_stores.files.create(vector_store_id=store.id, file_id=file.id)
    started = time.monotonic()
    response = httpx.get(f"{runnel.base_url}/vector_stores/{store.id}/files/{file.id}",
                         headers={"authorization": "Bearer k", "x-stainless-poll-helper": "true"})
    held = time.monotonic() - started
    body = response.json()
    assert body["status"] == "completed" or response.headers.get("openai-poll-after-ms") == "100"
    assert body["status"] == "completed" or held >= 1.5


def test_stores_are_invisible_to_other_projects(tmp_path, start_runnel):
    alpha, beta = two_projects(tmp_path, start_runnel)
    file = upload(alpha, "a.txt", b"alpha secret plans")
    store = alpha.vector_stores.create(file_ids=[file.id])
    assert beta.vector_stores.list().data == []
    for call in (lambda: beta.vector_stores.retrieve(store.id), lambda: beta.vector_stores.search(vector_store_id=store.id, query="secret"),
                 lambda: beta.vector_stores.files.list(vector_store_id=store.id),
                 lambda: beta.vector_stores.create(file_ids=[file.id]).id and None):
        with pytest.raises(openai.NotFoundError):
            call()
    mine = beta.vector_stores.create()
    with pytest.raises(openai.NotFoundError):
        beta.vector_stores.files.create(vector_store_id=mine.id, file_id=file.id)


def test_ingestion_interrupted_by_a_crash_finishes_after_restart(start_runnel, report):
    server = start_runnel()
    client = server.client()
    text = "\n".join(" ".join(f"line{i}word{j}" for j in range(20)) for i in range(100_000)).encode()
    file = upload(client, "big.txt", text)
    store = client.vector_stores.create(file_ids=[file.id])
    wait_for(lambda: server.sql("SELECT COUNT(*) FROM chunks WHERE file_id = ?", (file.id,))[0][0] > 0, timeout=60, interval=0.01)
    assert client.vector_stores.files.retrieve(vector_store_id=store.id, file_id=file.id).status == "in_progress"
    server.stop(signal.SIGKILL)
    restarted = start_runnel(database=server.database)
    client = restarted.client()
    started = time.monotonic()
    done = wait_for(lambda: (f := client.vector_stores.files.retrieve(vector_store_id=store.id, file_id=file.id)).status != "in_progress" and f,
                    timeout=120)
    report(f"ingestion killed mid-file ({len(text) >> 20} MiB, {sdk_store()}): completed {time.monotonic() - started:.1f} s after the restart")
    assert done.status == "completed", done.last_error
    rows = restarted.sql("SELECT COUNT(*), COUNT(DISTINCT seq) FROM chunks WHERE file_id = ?", (file.id,))
    assert rows[0][0] == rows[0][1] > 0
    hits = client.vector_stores.search(vector_store_id=store.id, query="line99999word5")
    assert hits.data and "line99999word5" in hits.data[0].content[0].text


def test_an_embedding_model_ranks_by_meaning_too(start_runnel, upstream):
    server = start_runnel("--backend", "openai", "--backend-url", upstream.url, "--embedding-model", "embed-small")
    client = server.client()
    store = client.vector_stores.create()
    for name, text in {"fox.txt": "Foxes are clever animals.", "whale.txt": "Whales are the largest animals.",
                       "shark.txt": "Sharks have skeletons of cartilage."}.items():
        file = upload(client, name, text.encode())
        assert client.vector_stores.files.create_and_poll(vector_store_id=store.id, file_id=file.id).status == "completed"
    embedded = [r for r in upstream.requests if r["path"] == "/v1/embeddings"]
    assert embedded and all(r["body"]["model"] == "embed-small" for r in embedded)
    assert server.sql("SELECT COUNT(*) FROM chunks WHERE embedding IS NULL") == [(0,)]
    page = client.vector_stores.search(vector_store_id=store.id, query="clever foxes", max_num_results=3)
    assert page.data[0].filename == "fox.txt" and page.data[0].score > 0.8 > page.data[1].score
    assert all(0 <= r.score <= 1 for r in page.data)
    assert any(r["body"]["input"] == ["clever foxes"] for r in upstream.requests if r["path"] == "/v1/embeddings")
    # The file_search tool embeds the model's query the same way.
    assistant = client.beta.assistants.create(model="gpt-4o", tools=[{"type": "file_search"}],
                                              tool_resources={"file_search": {"vector_store_ids": [store.id]}})
    thread = client.beta.threads.create(messages=[{"role": "user", "content": '/call file_search {"query": "largest whales"}'}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    assert any(r["body"]["input"] == ["largest whales"] for r in upstream.requests if r["path"] == "/v1/embeddings")


def test_an_embedding_model_needs_an_openai_backend(tmp_path):
    import subprocess
    from conftest import runnel_binary
    result = subprocess.run([runnel_binary(), "serve", "--port", "0", "--database", str(tmp_path / "x.sqlite"),
                             "--embedding-model", "e"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "--embedding-model needs --backend openai" in result.stderr


def test_a_large_files_parsed_text_comes_in_bounded_pages(client, runnel):
    words = [f"w{i}" for i in range(2_500_000)]
    file = upload(client, "large.txt", " ".join(words).encode())
    store = client.vector_stores.create()
    done = client.vector_stores.files.create_and_poll(vector_store_id=store.id, file_id=file.id, poll_interval_ms=200)
    assert done.status == "completed", done.last_error
    url = f"{runnel.base_url}/vector_stores/{store.id}/files/{file.id}/content"
    headers = {"authorization": "Bearer k"}
    first = httpx.get(url, headers=headers, timeout=120).json()
    assert first["has_more"] is True and first["next_page"]
    assert sum(len(item["text"]) for item in first["data"]) < 17 << 20
    second = httpx.get(url, params={"page": first["next_page"]}, headers=headers, timeout=120).json()
    assert second["has_more"] is False and second["next_page"] is None
    text = " ".join(item["text"] for item in first["data"] + second["data"])
    assert text.split() == words
    bad = httpx.get(url, params={"page": "nope"}, headers=headers)
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "page"
