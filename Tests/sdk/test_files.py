"""Files through the official SDK: upload, list, retrieve, download, delete, limits and bad input."""
import hashlib
import os
import socket
import threading
import time

import httpx
import openai
import pytest

from http_raw import read_response
from retrieval_support import two_projects, png_pixel, rss_bytes, upload


def test_upload_list_retrieve_download_delete(client, runnel):
    data = bytes(range(256)) * 5000 + b"\x00tail"
    created = upload(client, "blob.bin", data)
    assert created.id.startswith("file-") and created.object == "file"
    assert created.bytes == len(data) and created.filename == "blob.bin" and created.purpose == "assistants"
    assert created.status == "processed" and created.expires_at is None
    assert client.files.retrieve(created.id) == created
    assert client.files.content(created.id).read() == data

    notes = upload(client, "notes.txt", b"hello", purpose="user_data")
    assert notes.expires_at is None
    batch = client.files.create(file=("batch.jsonl", b"{}"), purpose="batch")
    assert batch.expires_at == batch.created_at + 30 * 86400
    expiring = client.files.create(file=("soon.txt", b"x"), purpose="assistants",
                                   extra_body={"expires_after": {"anchor": "created_at", "seconds": 3600}})
    assert expiring.expires_at == expiring.created_at + 3600
    client.files.delete(batch.id)
    client.files.delete(expiring.id)
    response = httpx.get(f"{runnel.base_url}/files/{notes.id}/content", headers={"authorization": "Bearer k"})
    assert response.headers["content-type"] == "text/plain" and response.headers["content-length"] == "5"

    listed = client.files.list()
    assert [f.id for f in listed.data] == [notes.id, created.id]
    assert [f.id for f in client.files.list(purpose="user_data").data] == [notes.id]
    assert [f.id for f in client.files.list(order="asc", limit=1).data] == [created.id]
    assert [f.id for f in client.files.list(order="asc", after=created.id).data] == [notes.id]

    deleted = client.files.delete(created.id)
    assert deleted.id == created.id and deleted.deleted is True and deleted.object == "file"
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        client.files.content(created.id)
    with pytest.raises(openai.NotFoundError):
        client.files.delete(created.id)


def test_bad_uploads_are_4xx_with_the_envelope(client, runnel):
    url = f"{runnel.base_url}/files"
    headers = {"authorization": "Bearer k"}
    not_multipart = httpx.post(url, headers=headers, json={"purpose": "assistants"})
    assert not_multipart.status_code == 400 and "multipart/form-data" in not_multipart.json()["error"]["message"]
    no_file = httpx.post(url, headers=headers, files={"purpose": (None, "assistants")})
    assert no_file.status_code == 400 and no_file.json()["error"]["param"] == "file"
    unknown = httpx.post(url, headers=headers, data={"purpose": "assistants"}, files={"other": ("x.txt", b"x")})
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "unknown_parameter"
    assert unknown.json()["error"]["param"] == "other"
    for expiry in ({"expires_after[anchor]": "created_at", "expires_after[seconds]": "60"}, {"expires_after": "{nope"}):
        bad_expiry = httpx.post(url, headers=headers, data={"purpose": "assistants", **expiry}, files={"file": ("x.txt", b"x")})
        assert bad_expiry.status_code == 400 and bad_expiry.json()["error"]["param"].startswith("expires_after")
    no_purpose = httpx.post(url, headers=headers, files={"file": ("x.txt", b"x")})
    assert no_purpose.status_code == 400 and no_purpose.json()["error"]["param"] == "purpose"
    with pytest.raises(openai.BadRequestError) as error:
        client.files.create(file=("x.txt", b"x"), purpose="nonsense")
    assert error.value.body["param"] == "purpose" and "'assistants'" in error.value.body["message"]
    two_files = httpx.post(url, headers=headers, data={"purpose": "assistants"},
                           files=[("file", ("a.txt", b"a")), ("file", ("b.txt", b"b"))])
    assert two_files.status_code == 400
    broken = httpx.post(url, headers={**headers, "content-type": "multipart/form-data; boundary=XYZ"},
                        content=b"--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nabc")
    assert broken.status_code == 400 and "error" in broken.json()
    # Nothing half-uploaded is left behind or listed.
    assert client.files.list().data == []
    assert runnel.sql("SELECT COUNT(*) FROM files") == [(0,)]
    assert runnel.sql("SELECT COUNT(*) FROM file_pieces") == [(0,)]


def test_an_answer_before_the_body_ends_reaches_a_client_still_sending(runnel):
    """Refused at its first part while megabytes are still on the way: the client reads the 400, not a reset."""
    part = (b"--b\r\nContent-Disposition: form-data; name=\"other\"; filename=\"x.txt\"\r\n\r\n")
    rest = b"z" * (8 << 20) + b"\r\n--b--\r\n"
    behind_proxy = int(os.environ.get("RUNNEL_SDK_CLUSTER", "0")) > 0
    for _ in range(5):
        with runnel.connect() as sock:
            sock.sendall(b"POST /v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n"
                         b"Content-Type: multipart/form-data; boundary=b\r\n"
                         b"Content-Length: %d\r\n\r\n" % (len(part) + len(rest)) + part)

            failures = []

            def send_rest():
                try:
                    sock.sendall(rest)
                except OSError as error:
                    failures.append(error)

            sender = threading.Thread(target=send_rest, daemon=True)
            sender.start()
            response = read_response(sock)
            assert response.status == 400 and response.json()["error"]["code"] == "unknown_parameter"
            # The server drains what is still coming before it closes: the client can send it all
            # and then sees an end of stream, never a reset, which can destroy an answer unread.
            # (Through nginx the reset would reach nginx, which would answer 502.)
            sender.join(10)
            assert not sender.is_alive() and failures == []
            if not behind_proxy:
                assert response.headers.get("connection") == "close" and sock.recv(1) == b""


def test_over_the_limit_is_413_before_the_body_is_read(start_runnel):
    server = start_runnel("--max-file-bytes", "1000")
    client = server.client()
    with pytest.raises(openai.APIStatusError) as error:
        client.files.create(file=("big.txt", b"x" * 5000), purpose="assistants")
    assert error.value.status_code == 413 and "--max-file-bytes" in error.value.body["message"]
    # Announced as 100 MB and never sent: the answer comes at once, the bytes are never read.
    with server.connect() as sock:
        sock.sendall(b"POST /v1/files HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                     b"Content-Length: 100000000\r\n\r\n")
        started = time.monotonic()
        response = read_response(sock)
        assert response.status == 413 and time.monotonic() - started < 2
        assert response.json()["error"]["type"] == "invalid_request_error"
    # Chunked, so the size is unknown up front: refused once the file passes the limit.
    with server.connect() as sock:
        sock.sendall(b"POST /v1/files HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        part = b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\n" + b"y" * 4000
        sock.sendall(b"%x\r\n%s\r\n" % (len(part), part))
        response = read_response(sock)
        assert response.status == 413
    assert client.files.list().data == []
    assert server.sql("SELECT COUNT(*) FROM file_pieces") == [(0,)]


def test_files_are_invisible_to_other_projects(tmp_path, start_runnel):
    alpha, beta = two_projects(tmp_path, start_runnel)
    mine = upload(alpha, "a.txt", b"secret")
    assert beta.files.list().data == []
    for call in (lambda: beta.files.retrieve(mine.id), lambda: beta.files.content(mine.id), lambda: beta.files.delete(mine.id)):
        with pytest.raises(openai.NotFoundError):
            call()
    assert alpha.files.content(mine.id).read() == b"secret"


def test_image_files_reach_an_upstream_model_as_data_urls(start_runnel, upstream):
    server = start_runnel("--backend", "openai", "--backend-url", upstream.url)
    client = server.client()
    image = upload(client, "pixel.png", png_pixel(), purpose="vision")
    text = upload(client, "notes.txt", b"not an image")
    with pytest.raises(openai.BadRequestError):
        client.beta.threads.create(messages=[{"role": "user", "content": [{"type": "image_file", "image_file": {"file_id": text.id}}]}])
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.create(messages=[{"role": "user", "content": [{"type": "image_file", "image_file": {"file_id": "file-nope"}}]}])
    assistant = client.beta.assistants.create(model="gpt-4o")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": [
        {"type": "text", "text": "what is this"},
        {"type": "image_file", "image_file": {"file_id": image.id, "detail": "low"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
    ]}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    sent = [r for r in upstream.requests if r["path"].endswith("/chat/completions")][-1]["body"]["messages"][-1]["content"]
    import base64
    assert sent[1] == {"type": "image_url", "image_url": {
        "url": "data:image/png;base64," + base64.b64encode(png_pixel()).decode(), "detail": "low"}}
    assert sent[2]["image_url"]["url"] == "https://example.com/cat.png"


@pytest.mark.single_node
def test_a_300_mib_upload_and_download_stream_through_small_memory(runnel, client, tmp_path, report):
    """Neither direction holds the file: the server's resident memory stays far below its size."""
    size = 300 << 20
    path = tmp_path / "big.bin"
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        block = os.urandom(1 << 20)
        for index in range(size >> 20):
            piece = block[index % 7:] + block[:index % 7]
            digest.update(piece)
            out.write(piece)
    pid = runnel.process.pid
    baseline = rss_bytes(pid)
    peak = [baseline]
    done = threading.Event()

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], rss_bytes(pid))
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        started = time.monotonic()
        with open(path, "rb") as source:
            created = client.with_options(timeout=600).files.create(file=source, purpose="assistants")
        upload_seconds = time.monotonic() - started
        upload_peak = peak[0]
        assert created.bytes == size
        started = time.monotonic()
        received = hashlib.sha256()
        length = 0
        with httpx.stream("GET", f"{runnel.base_url}/files/{created.id}/content", timeout=600,
                          headers={"authorization": "Bearer k"}) as response:
            assert response.headers["content-length"] == str(size)
            for chunk in response.iter_bytes(1 << 20):
                received.update(chunk)
                length += len(chunk)
        download_seconds = time.monotonic() - started
    finally:
        done.set()
        watcher.join()
    assert length == size and received.hexdigest() == digest.hexdigest()
    report(f"300 MiB file: upload {upload_seconds:.1f} s, download {download_seconds:.1f} s; server RSS "
           f"{baseline >> 20} MiB before, peak {upload_peak >> 20} MiB during upload, {peak[0] >> 20} MiB overall")
    assert peak[0] - baseline < 120 << 20, f"RSS grew by {(peak[0] - baseline) >> 20} MiB"
