"""Streaming-run load: N concurrent clients each create runs with stream=true and read them to
`done`. Prints runs/s, time to first delta and to done (p50/p99), the server's peak RSS and
thread count, then create_and_poll latency through the official SDK. Given several nodes
(comma-separated URLs and pids), clients are spread over them round-robin."""
import asyncio
import json
import statistics
import sys
import threading
import time
import urllib.request

BASES = sys.argv[1].split(",")   # http://127.0.0.1:PORT[,http://127.0.0.1:PORT…]
PIDS = [int(pid) for pid in sys.argv[2].split(",")]
CLIENTS = int(sys.argv[3])
RUNS = int(sys.argv[4])
POLLS = int(sys.argv[5])
BASE = BASES[0]
ADDRESSES = [(base.split("//")[1].split(":")[0], int(base.split("//")[1].split(":")[1])) for base in BASES]


def post(path, body):
    request = urllib.request.Request(BASE + path, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    return json.loads(urllib.request.urlopen(request).read())


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class Sampler(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.peak_threads = 0
        self.peak_rss_kb = 0
        self.running = True

    def run(self):
        # The largest node's figures: each node is a process of its own.
        while self.running:
            for pid in PIDS:
                with open(f"/proc/{pid}/status") as status:
                    for line in status:
                        if line.startswith("Threads:"):
                            self.peak_threads = max(self.peak_threads, int(line.split()[1]))
                        elif line.startswith("VmHWM:"):
                            self.peak_rss_kb = max(self.peak_rss_kb, int(line.split()[1]))
            time.sleep(0.05)


async def client(address, thread_ids, assistant_id, first_delta, done):
    reader, writer = await asyncio.open_connection(*address)
    for thread_id in thread_ids:
        body = json.dumps({"assistant_id": assistant_id, "stream": True}).encode()
        started = time.perf_counter()
        writer.write(f"POST /v1/threads/{thread_id}/runs HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        saw_delta = False
        while True:
            size = int((await reader.readuntil(b"\r\n"))[:-2], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            if not saw_delta and b"thread.message.delta" in chunk:
                first_delta.append(time.perf_counter() - started)
                saw_delta = True
            if b"data: [DONE]" in chunk:
                done.append(time.perf_counter() - started)
        # the terminating zero chunk was read above; the connection is reused
    writer.close()


async def load(assistant_id, thread_ids):
    first_delta, done = [], []
    per_client = [thread_ids[i::CLIENTS] for i in range(CLIENTS)]
    started = time.perf_counter()
    await asyncio.gather(*(client(ADDRESSES[index % len(ADDRESSES)], ids, assistant_id, first_delta, done)
                           for index, ids in enumerate(per_client)))
    return time.perf_counter() - started, first_delta, done


def main():
    assistant = post("/v1/assistants", {"model": "echo"})
    thread_ids = [post("/v1/threads", {"messages": [{"role": "user", "content": "benchmark run with a few words"}]})["id"]
                  for _ in range(RUNS)]
    sampler = Sampler()
    sampler.start()
    elapsed, first_delta, done = asyncio.run(load(assistant["id"], thread_ids))
    sampler.running = False
    print(f"streamed runs: {len(done)} with {CLIENTS} concurrent clients in {elapsed:.2f} s = {len(done) / elapsed:.0f} runs/s")
    print(f"  time to first delta: p50 {percentile(first_delta, 0.5) * 1000:.1f} ms, p99 {percentile(first_delta, 0.99) * 1000:.1f} ms")
    print(f"  time to done:        p50 {percentile(done, 0.5) * 1000:.1f} ms, p99 {percentile(done, 0.99) * 1000:.1f} ms")
    print(f"  server peak RSS {sampler.peak_rss_kb / 1024:.1f} MiB, peak threads {sampler.peak_threads}"
          + (f" (the largest of {len(PIDS)} nodes)" if len(PIDS) > 1 else ""))

    from openai import OpenAI
    sdk = OpenAI(base_url=BASE + "/v1", api_key="bench", max_retries=0)
    latencies = []
    for _ in range(POLLS):
        thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "poll me"}])
        started = time.perf_counter()
        run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant["id"])
        latencies.append(time.perf_counter() - started)
        assert run.status == "completed"
    print(f"create_and_poll ({POLLS} sequential, SDK): p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
          f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms")


if __name__ == "__main__":
    import warnings
    warnings.simplefilter("ignore", DeprecationWarning)
    main()
