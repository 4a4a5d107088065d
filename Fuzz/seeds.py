"""Writes each harness's seed corpus from the unit tests' tables, so the fuzzers start from the
cases the tests already name (and stay in step with them): `python3 Fuzz/seeds.py OUT_DIR`."""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "Tests"

STRING = r'"((?:[^"\\\n]|\\.)*)"'
RAW_STRING = r'#"(.*?)"#'


def swift_unescape(literal: str) -> str:
    def replace(match):
        escape = match.group(1)
        if escape.startswith("u{"):
            return chr(int(escape[2:-1], 16))
        # Anything else (an interpolation's `\(`) is left as written.
        return {"r": "\r", "n": "\n", "t": "\t", "0": "\0", '"': '"', "\\": "\\", "'": "'"}.get(escape, "\\" + escape)
    return re.sub(r"\\(u\{[0-9a-fA-F]+\}|.)", replace, literal)


def literals(path: Path, after: str, before: str = None, raw_only=False) -> list[str]:
    text = path.read_text()
    start = text.index(after)
    end = text.index(before, start) if before else len(text)
    region = text[start:end]
    found = re.findall(RAW_STRING, region)
    if not raw_only:
        found += [swift_unescape(m) for m in re.findall(STRING, re.sub(RAW_STRING, "", region))]
    return found


def seeds() -> dict[str, list[bytes]]:
    http = [swift_unescape(m) for m in re.findall(r"input: " + STRING, (TESTS / "HTTPServerTests/RequestDecoderTests.swift").read_text())]
    multipart = [swift_unescape(m) for m in re.findall(r"input: " + STRING, (TESTS / "HTTPServerTests/MultipartParserTests.swift").read_text())]
    json_cases = literals(TESTS / "RunsDomainTests/DomainTests.swift", "struct JSONTests", "struct ValidationTests")
    sse = literals(TESTS / "ModelBackendsTests/UpstreamSSEDecoderTests.swift", "static let streams", "static let expected")
    chunks = [c for c in literals(TESTS / "ModelBackendsTests/ChatCompletionChunksTests.swift", "static let hostile", raw_only=True)]
    return {
        "http-request": [s.encode() for s in http],
        "multipart": [s.encode() for s in multipart],
        "json": [s.encode() for s in json_cases + chunks],
        "upstream-sse": [s.encode() for s in sse],
        "upstream-chunks": [b"".join(b"data: " + c.encode() + b"\n\n" for c in chunks[i:i + 3]) for i in range(len(chunks))]
                           + [s.encode() for s in sse],
    }


if __name__ == "__main__":
    out = Path(sys.argv[1])
    for harness, inputs in seeds().items():
        directory = out / harness
        directory.mkdir(parents=True, exist_ok=True)
        for index, data in enumerate(inputs):
            (directory / f"seed-{index:03d}").write_bytes(data)
        print(f"{harness}: {len(inputs)} seeds")
