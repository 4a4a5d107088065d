import Testing
@testable import HTTPServer

/// What a decoder made of a byte stream, in a form two runs can be compared by.
enum Outcome: Equatable, CustomStringConvertible {
    case request(method: String, target: String, body: String)
    case expectsContinue
    case failure(Int)

    var description: String {
        switch self {
        case .request(let method, let target, let body): "\(method) \(target) [\(body)]"
        case .expectsContinue: "100-continue"
        case .failure(let status): "error \(status)"
        }
    }
}

struct DecoderCase: CustomTestStringConvertible, Sendable {
    let name: String
    let input: String
    let expected: [Outcome]
    var maxBody = 1024
    var maxHeader = 512

    var testDescription: String { name }
}

/// Feeds `input` in pieces of `chunk` bytes and collects every event until it needs more.
func decode(_ input: [UInt8], chunk: Int, maxBody: Int, maxHeader: Int) -> [Outcome] {
    // Bodies of `/upload…` targets are streamed, and put back together here to compare.
    var decoder = HTTPRequestDecoder(maxBodyBytes: maxBody, maxHeaderBytes: maxHeader,
                                     streamsBody: { $0.target.hasPrefix("/upload") ? maxBody : nil })
    var outcomes: [Outcome] = []
    var offset = 0
    var streaming: (request: HTTPRequest, body: [UInt8])?
    while offset < input.count {
        let end = min(input.count, offset + chunk)
        decoder.append(Array(input[offset..<end]))
        offset = end
        loop: while true {
            if let (request, body) = streaming {
                switch decoder.nextBodyPiece(maxBytes: 5) {
                case .data(let bytes):
                    streaming?.body = body + bytes
                    continue loop
                case .end:
                    outcomes.append(.request(method: request.method, target: request.target, body: String(decoding: body, as: UTF8.self)))
                    streaming = nil
                case .needMoreData:
                    break loop
                case .failure(let error):
                    outcomes.append(.failure(error.status))
                    return outcomes
                }
            }
            switch decoder.next() {
            case .streamedRequest(let request):
                streaming = (request, [])
            case .request(let request):
                outcomes.append(.request(method: request.method, target: request.target,
                                         body: String(decoding: request.body, as: UTF8.self)))
            case .expectsContinue:
                outcomes.append(.expectsContinue)
            case .needMoreData:
                break loop
            case .failure(let error):
                outcomes.append(.failure(error.status))
                return outcomes
            }
        }
    }
    return outcomes
}

let decoderCases: [DecoderCase] = [
    DecoderCase(name: "simple GET", input: "GET /v1/threads/t1 HTTP/1.1\r\nHost: x\r\n\r\n",
                expected: [.request(method: "GET", target: "/v1/threads/t1", body: "")]),
    DecoderCase(name: "POST with Content-Length", input: "POST /v1/threads HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
                expected: [.request(method: "POST", target: "/v1/threads", body: "{}")]),
    DecoderCase(name: "pipelined requests come out in order",
                input: "GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /c HTTP/1.1\r\n\r\n",
                expected: [.request(method: "GET", target: "/a", body: ""), .request(method: "POST", target: "/b", body: "abc"),
                           .request(method: "GET", target: "/c", body: "")]),
    DecoderCase(name: "chunked body with extension and trailer",
                input: "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n",
                expected: [.request(method: "POST", target: "/x", body: "abc0123456789")]),
    DecoderCase(name: "streamed bodies, fixed and chunked, between other requests",
                input: "POST /upload HTTP/1.1\r\nContent-Length: 12\r\n\r\nhello world!GET /a HTTP/1.1\r\n\r\n"
                    + "POST /upload2 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\n"
                    + "POST /upload3 HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
                expected: [.request(method: "POST", target: "/upload", body: "hello world!"), .request(method: "GET", target: "/a", body: ""),
                           .request(method: "POST", target: "/upload2", body: "abc0123456789"),
                           .request(method: "POST", target: "/upload3", body: "")]),
    DecoderCase(name: "a streamed body over its limit is refused at its head", input: "POST /upload HTTP/1.1\r\nContent-Length: 2000\r\n\r\n",
                expected: [.failure(413)]),
    DecoderCase(name: "a chunked streamed body over its limit fails when it gets there",
                input: "POST /upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n" + String(repeating: "x", count: 1024) + "\r\n1\r\n",
                expected: [.failure(413)]),
    DecoderCase(name: "leading empty line is ignored", input: "\r\nGET / HTTP/1.1\r\n\r\n",
                expected: [.request(method: "GET", target: "/", body: "")]),
    DecoderCase(name: "HTTP/1.0", input: "GET /health HTTP/1.0\r\n\r\n",
                expected: [.request(method: "GET", target: "/health", body: "")]),
    DecoderCase(name: "expect 100-continue before the body", input: "POST /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
                expected: [.expectsContinue]),
    DecoderCase(name: "identical duplicate Content-Length", input: "POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nz",
                expected: [.request(method: "POST", target: "/x", body: "z")]),
    DecoderCase(name: "garbage request line", input: "HELLO\r\n\r\n", expected: [.failure(400)]),
    DecoderCase(name: "space in method", input: "G ET / HTTP/1.1\r\n\r\n", expected: [.failure(400)]),
    DecoderCase(name: "target not origin-form", input: "GET threads HTTP/1.1\r\n\r\n", expected: [.failure(400)]),
    DecoderCase(name: "HTTP/2.0 is not supported", input: "GET / HTTP/2.0\r\n\r\n", expected: [.failure(505)]),
    DecoderCase(name: "HTTP/1.2 is not supported", input: "GET / HTTP/1.2\r\n\r\n", expected: [.failure(505)]),
    DecoderCase(name: "malformed version", input: "GET / HTTX/1.1\r\n\r\n", expected: [.failure(400)]),
    DecoderCase(name: "header without colon", input: "GET / HTTP/1.1\r\nHost x\r\n\r\n", expected: [.failure(400)]),
    DecoderCase(name: "space before colon", input: "GET / HTTP/1.1\r\nHost : x\r\n\r\n", expected: [.failure(400)]),
    DecoderCase(name: "obsolete line folding", input: "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", expected: [.failure(400)]),
    DecoderCase(name: "bare LF inside head", input: "GET / HTTP/1.1\nHost: x\r\n\r\n", expected: [.failure(400)]),
    DecoderCase(name: "NUL in header value", input: "GET / HTTP/1.1\r\nX: a\u{0}b\r\n\r\n", expected: [.failure(400)]),
    DecoderCase(name: "Content-Length with Transfer-Encoding",
                input: "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", expected: [.failure(400)]),
    DecoderCase(name: "negative Content-Length", input: "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", expected: [.failure(400)]),
    DecoderCase(name: "conflicting Content-Length", input: "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
                expected: [.failure(400)]),
    DecoderCase(name: "Content-Length list that conflicts", input: "POST / HTTP/1.1\r\nContent-Length: 1, 2\r\n\r\nab",
                expected: [.failure(400)]),
    DecoderCase(name: "unknown transfer coding", input: "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", expected: [.failure(501)]),
    DecoderCase(name: "chunked in HTTP/1.0", input: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                expected: [.failure(400)]),
    DecoderCase(name: "bad chunk size", input: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", expected: [.failure(400)]),
    DecoderCase(name: "chunk data without CRLF", input: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n",
                expected: [.failure(400)]),
    DecoderCase(name: "body over the limit is refused from its length alone",
                input: "POST / HTTP/1.1\r\nContent-Length: 5000\r\n\r\n", expected: [.failure(413)]),
    DecoderCase(name: "chunked body over the limit", input: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n",
                expected: [.failure(413)]),
    // Found by the fuzzer: byte by byte, a head of exactly the limit was refused before its CRLFCRLF arrived.
    DecoderCase(name: "header section exactly at the limit",
                input: "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 493) + "\r\n\r\n",
                expected: [.request(method: "GET", target: "/", body: "")]),
    DecoderCase(name: "header section one byte over the limit",
                input: "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 494) + "\r\n\r\n", expected: [.failure(431)]),
    DecoderCase(name: "header section over the limit",
                input: "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 600) + "\r\n\r\n", expected: [.failure(431)]),
    DecoderCase(name: "endless header without terminator",
                input: "GET / HTTP/1.1\r\n" + String(repeating: "X-A: b\r\n", count: 100), expected: [.failure(431)]),
]

@Test(arguments: decoderCases)
func decodesWhole(_ testCase: DecoderCase) {
    let bytes = Array(testCase.input.utf8)
    #expect(decode(bytes, chunk: bytes.count, maxBody: testCase.maxBody, maxHeader: testCase.maxHeader) == testCase.expected)
}

@Test(arguments: decoderCases)
func decodesOneByteAtATime(_ testCase: DecoderCase) {
    let bytes = Array(testCase.input.utf8)
    #expect(decode(bytes, chunk: 1, maxBody: testCase.maxBody, maxHeader: testCase.maxHeader) == testCase.expected)
}

@Test func headersAndQueryAreExposed() throws {
    var decoder = HTTPRequestDecoder(maxBodyBytes: 100, maxHeaderBytes: 1000)
    decoder.append(Array("GET /v1/x?limit=2&after=msg%5F1&q=a+b HTTP/1.1\r\nAuthorization: Bearer k\r\nConnection: close\r\n\r\n".utf8))
    guard case .request(let request) = decoder.next() else {
        Issue.record("no request")
        return
    }
    #expect(request.headers["authorization"] == "Bearer k")
    #expect(request.keepAlive == false)
    #expect(request.path == "/v1/x")
    #expect(request.queryItems.map(\.name) == ["limit", "after", "q"])
    #expect(request.queryItems.map(\.value) == ["2", "msg_1", "a b"])
}

@Test func continueIsAskedOnceAndNotWhenTheBodyCameAlong() {
    let head = Array("POST /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n".utf8)
    #expect(decode(head + Array("hi".utf8), chunk: head.count + 2, maxBody: 10, maxHeader: 100)
        == [.request(method: "POST", target: "/x", body: "hi")])
    #expect(decode(head + Array("hi".utf8), chunk: 1, maxBody: 10, maxHeader: 100)
        == [.expectsContinue, .request(method: "POST", target: "/x", body: "hi")])
}
