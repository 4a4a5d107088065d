"""Driver of bench/retrieval.sh: generate, upload, ingest, search; print the figures."""
import random
import statistics
import sys
import time
import warnings

warnings.simplefilter("ignore", DeprecationWarning)
from openai import OpenAI

base_url, pid, database, megabytes, files, searches, chunk, overlap = sys.argv[1:9]
megabytes, files, searches, chunk, overlap = int(megabytes), int(files), int(searches), int(chunk), int(overlap)
client = OpenAI(base_url=base_url, api_key="bench", max_retries=0, timeout=3600)
rng = random.Random(7)
letters = "etaoinshrdlcumwfgypbvkjxqz"
vocabulary = sorted({"".join(rng.choice(letters) for _ in range(rng.randint(3, 10))) for _ in range(60_000)})[:50_000]
rng.shuffle(vocabulary)
weights = [1 / (rank + 1) for rank in range(len(vocabulary))]


def text_of(size):
    """About `size` bytes: lines of 12 words, cut at the last whole line."""
    words = rng.choices(vocabulary, weights=weights, k=size // 6)
    lines = [" ".join(words[i:i + 12]) + "." for i in range(0, len(words), 12)]
    text = ("\n".join(lines) + "\n").encode()
    return text[:text.rfind(b"\n", 0, size) + 1]


def rss(pid):
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))


per_file = megabytes * 1_000_000 // files
documents = [text_of(per_file) for _ in range(files)]
total = sum(map(len, documents))
started = time.monotonic()
ids = [client.files.create(file=(f"doc{index}.txt", data), purpose="assistants").id for index, data in enumerate(documents)]
upload_seconds = time.monotonic() - started
store = client.vector_stores.create(name="bench")
strategy = {"type": "static", "static": {"max_chunk_size_tokens": chunk, "chunk_overlap_tokens": overlap}}
started = time.monotonic()
peak = 0
client.vector_stores.file_batches.create(vector_store_id=store.id, file_ids=ids, chunking_strategy=strategy)
while True:
    peak = max(peak, rss(int(pid)))
    current = client.vector_stores.retrieve(store.id)
    if current.file_counts.in_progress == 0:
        break
    time.sleep(0.1)
ingest_seconds = time.monotonic() - started
assert current.file_counts.completed == files, current.file_counts

if database.startswith("postgres"):
    import subprocess
    chunks = int(subprocess.run(["psql", "-At", database, "-c", "SELECT COUNT(*) FROM chunks"],
                                check=True, capture_output=True, text=True).stdout)
else:
    import sqlite3
    with sqlite3.connect(database) as db:
        chunks = db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]

# Timed with a plain keep-alive HTTP client, so the figure is the server's and not the SDK's
# response parsing (which adds a few ms of its own).
import httpx
http = httpx.Client(base_url=base_url, headers={"authorization": "Bearer bench"}, timeout=60)
latencies = []
for _ in range(searches):
    query = " ".join(rng.choices(vocabulary[:20_000], k=rng.randint(2, 5)))
    started = time.monotonic()
    response = http.post(f"/vector_stores/{store.id}/search", json={"query": query, "max_num_results": 10})
    latencies.append((time.monotonic() - started) * 1000)
    assert response.status_code == 200, response.text
latencies.sort()
mb = total / 1_000_000
print(f"text: {mb:.1f} MB in {files} files; upload {upload_seconds:.1f} s ({mb / upload_seconds:.1f} MB/s)")
print(f"ingestion ({chunk}-token chunks, {overlap} overlap): {ingest_seconds:.1f} s = {mb / ingest_seconds:.1f} MB/s; "
      f"chunks: {chunks:,}; usage_bytes {current.usage_bytes:,}; peak RSS {peak >> 20} MiB")
print(f"search over the store ({searches} queries of 2-5 words, 10 results, HTTP round trip included): "
      f"p50 {statistics.median(latencies):.1f} ms, p99 {latencies[int(len(latencies) * 0.99) - 1]:.1f} ms, "
      f"max {latencies[-1]:.1f} ms")
