"""`create_and_poll` latency through the official SDK, one run at a time, against a running node.
Usage: runs.py BASE_URL ASSISTANT_ID SAMPLES"""
import sys
import time
import warnings

from openai import OpenAI


def main():
    base, assistant_id, samples = sys.argv[1], sys.argv[2], int(sys.argv[3])
    sdk = OpenAI(base_url=base + "/v1", api_key="bench", max_retries=0)
    latencies = []
    for _ in range(samples):
        thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "poll me"}])
        started = time.perf_counter()
        run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id)
        latencies.append(time.perf_counter() - started)
        assert run.status == "completed", run.status
    latencies.sort()
    pick = lambda fraction: latencies[min(len(latencies) - 1, int(fraction * len(latencies)))] * 1000
    print(f"create_and_poll ({samples} one at a time, SDK): p50 {pick(0.5):.1f} ms, p99 {pick(0.99):.1f} ms")


if __name__ == "__main__":
    warnings.simplefilter("ignore", DeprecationWarning)
    main()
