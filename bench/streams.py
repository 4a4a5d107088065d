"""N concurrent streamed runs against one node: each connection POSTs `/v1/threads/runs` with
`stream: true` and reads its stream to `data: [DONE]`. Prints how many opened and completed, the
time from sending the request to the first byte of the answer (p50/p99), the node's peak RSS and
threads, and its RSS 30 s after the last stream ended.
Usage: streams.py HOST PORT PID ASSISTANT_ID STREAMS OPEN_PER_SECOND WORDS [SECONDS_AFTER]"""
import asyncio
import json
import resource
import sys
import time

HOST, PORT, PID, ASSISTANT = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
STREAMS, OPEN_RATE, WORDS = int(sys.argv[5]), float(sys.argv[6]), int(sys.argv[7])
AFTER = float(sys.argv[8]) if len(sys.argv) > 8 else 30
CONTENT = " ".join(f"word{i}" for i in range(WORDS))
BODY = json.dumps({"assistant_id": ASSISTANT, "stream": True,
                   "thread": {"messages": [{"role": "user", "content": CONTENT}]}}).encode()
REQUEST = (f"POST /v1/threads/runs HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
           f"Content-Length: {len(BODY)}\r\n\r\n").encode() + BODY
DONE = b"data: [DONE]"


class Stream(asyncio.Protocol):
    def __init__(self, finished):
        self.finished = finished
        self.first_byte = None
        self.tail = b""
        self.status_ok = None

    def connection_made(self, transport):
        self.transport = transport
        self.sent = time.perf_counter()
        transport.write(REQUEST)

    def data_received(self, data):
        if self.first_byte is None:
            self.first_byte = time.perf_counter() - self.sent
            self.status_ok = data.startswith(b"HTTP/1.1 200")
        seen = self.tail + data
        if DONE in seen:
            self.transport.close()
            self.finish(True)
        self.tail = seen[-len(DONE):]

    def connection_lost(self, exc):
        self.finish(False)

    def finish(self, completed):
        if not self.finished.done() and not getattr(self, "ended", False):
            self.ended = True
            self.finished.set_result(completed and self.status_ok)


def status(field):
    with open(f"/proc/{PID}/status") as status_file:
        for line in status_file:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


async def sample(peak, stop):
    while not stop.is_set():
        peak["threads"] = max(peak["threads"], status("Threads:"))
        await asyncio.sleep(0.1)


async def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    loop = asyncio.get_running_loop()
    idle_rss, idle_anon, idle_file = status("VmRSS:"), status("RssAnon:"), status("RssFile:")
    peak = {"threads": status("Threads:")}
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample(peak, stop))
    protocols, results = [], []
    opened = 0
    started = time.perf_counter()
    for index in range(STREAMS):
        # Paced: the opening rate, not the client's connect loop, sets how fast streams arrive.
        delay = started + index / OPEN_RATE - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        finished = loop.create_future()
        try:
            _, protocol = await loop.create_connection(lambda: Stream(finished), HOST, PORT)
        except OSError as error:
            print(f"connection {index} failed: {error}", file=sys.stderr)
            continue
        opened += 1
        protocols.append(protocol)
        results.append(finished)
    completed = sum(1 for ok in await asyncio.gather(*results) if ok)
    elapsed = time.perf_counter() - started
    stop.set()
    await sampler
    first = sorted(p.first_byte for p in protocols if p.first_byte is not None)
    pick = lambda fraction: first[min(len(first) - 1, int(fraction * len(first)))] * 1000 if first else float("nan")
    peak_rss = status("VmHWM:")
    print(f"streams: {STREAMS} asked, {opened} opened, {completed} completed in {elapsed:.1f} s "
          f"({WORDS} words, opened at {OPEN_RATE:.0f}/s)")
    print(f"  first byte: p50 {pick(0.5):.1f} ms, p99 {pick(0.99):.1f} ms")
    print(f"  server: RSS before {idle_rss / 1024:.1f} MiB, peak RSS {peak_rss / 1024:.1f} MiB, peak threads {peak['threads']}")
    await asyncio.sleep(AFTER)
    print(f"  server RSS {AFTER:.0f} s after the last stream ended: {status('VmRSS:') / 1024:.1f} MiB "
          f"(anonymous {status('RssAnon:') / 1024:.1f}, file {status('RssFile:') / 1024:.1f}; "
          f"before: anonymous {idle_anon / 1024:.1f}, file {idle_file / 1024:.1f})")


if __name__ == "__main__":
    asyncio.run(main())
