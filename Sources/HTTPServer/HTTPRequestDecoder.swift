/// Turns a byte stream into requests: the head parser, then the body framed by Content-Length or
/// chunked encoding. Bytes may arrive in any split; requests come out in order (pipelining).
public struct HTTPRequestDecoder {
    public enum Event {
        case request(HTTPRequest)
        /// The head asked for `Expect: 100-continue` and its body has not arrived yet.
        case expectsContinue
        case needMoreData
        case failure(HTTPParseError)
    }

    private enum State {
        case head
        case fixedBody(HTTPRequestHead, length: Int)
        case chunkedBody(HTTPRequestHead, ChunkedBodyDecoder)
        case failed(HTTPParseError)
    }

    private var buffer: [UInt8] = []
    private var start = 0
    private var scanFrom = 0
    private var state = State.head
    private var continueAnswered = false
    public let maxBodyBytes: Int
    public let maxHeaderBytes: Int

    public init(maxBodyBytes: Int, maxHeaderBytes: Int) {
        self.maxBodyBytes = maxBodyBytes
        self.maxHeaderBytes = maxHeaderBytes
    }

    public var bufferedByteCount: Int { buffer.count - start }

    /// True between the first byte of a request head and its end.
    public var isReadingHead: Bool {
        if case .head = state { return bufferedByteCount > 0 }
        return false
    }

    /// Body bytes of the request being read that are, or are announced to be, held in memory:
    /// the Content-Length, or what a chunked body has delivered so far.
    public var bodyBytesInProgress: Int {
        switch state {
        case .fixedBody(_, let length): length
        case .chunkedBody(_, let decoder): decoder.body.count
        case .head, .failed: 0
        }
    }

    /// True when some of a request has arrived but not all of it.
    public var hasPartialRequest: Bool {
        if case .head = state { return bufferedByteCount > 0 }
        return true
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if start > 0, start >= buffer.count / 2 {
            buffer.removeSubrange(0..<start)
            scanFrom = max(0, scanFrom - start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    public mutating func next() -> Event {
        while true {
            switch state {
            case .failed(let error):
                return .failure(error)
            case .head:
                guard bufferedByteCount > 0 else { return .needMoreData }
                var scan = scanFrom - start
                let result = buffer.withUnsafeBufferPointer {
                    HTTPHeadParser.parse(
                        UnsafeBufferPointer(rebasing: $0[start...]), maxHeaderBytes: maxHeaderBytes, scanFrom: &scan)
                }
                scanFrom = start + scan
                switch result {
                case .needMoreData:
                    return .needMoreData
                case .invalid(let error):
                    return fail(error)
                case .complete(let head, let consumed):
                    start += consumed
                    scanFrom = start
                    continueAnswered = false
                    do {
                        state = try framing(for: head)
                    } catch {
                        return fail(error)
                    }
                }
            case .fixedBody(let head, let length):
                if bufferedByteCount >= length {
                    let body = Array(buffer[start..<start + length])
                    start += length
                    return finish(head, body: body)
                }
                return continueIfExpected(head)
            case .chunkedBody(let head, var decoder):
                // Moved out of `state` first, so appending to its body does not copy the whole body.
                state = .head
                do {
                    let (consumed, progress) = try buffer.withUnsafeBufferPointer { pointer throws(HTTPParseError) in
                        try decoder.feed(UnsafeBufferPointer(rebasing: pointer[start...]))
                    }
                    start += consumed
                    if progress == .done { return finish(head, body: decoder.body) }
                    state = .chunkedBody(head, decoder)
                    return continueIfExpected(head)
                } catch {
                    return fail(error)
                }
            }
        }
    }

    private mutating func finish(_ head: HTTPRequestHead, body: [UInt8]) -> Event {
        state = .head
        if start == buffer.count, buffer.capacity > 64 * 1024 {
            // An idle keep-alive connection must not keep a large upload's buffer.
            buffer = []
            start = 0
        }
        scanFrom = start
        return .request(HTTPRequest(
            method: head.method, target: head.target, version: head.version, headers: head.headers, body: body))
    }

    private mutating func fail(_ error: HTTPParseError) -> Event {
        state = .failed(error)
        return .failure(error)
    }

    private mutating func continueIfExpected(_ head: HTTPRequestHead) -> Event {
        if !continueAnswered, head.version == .http1_1, head.headers.hasToken("100-continue", in: "expect") {
            continueAnswered = true
            return .expectsContinue
        }
        return .needMoreData
    }

    private func framing(for head: HTTPRequestHead) throws(HTTPParseError) -> State {
        let transferEncodings = head.headers.values("transfer-encoding")
        let lengths = head.headers.values("content-length")
        if !transferEncodings.isEmpty {
            // RFC 9112 §6.1: both together are a smuggling attempt; HTTP/1.0 has no chunking.
            guard lengths.isEmpty else { throw .bad("Content-Length and Transfer-Encoding must not both be sent.") }
            guard head.version == .http1_1 else { throw .bad("Transfer-Encoding is not allowed in HTTP/1.0.") }
            let codings = transferEncodings.flatMap { $0.split(separator: ",") }.map { $0.trimmingASCIISpaces().lowercased() }
            guard codings == ["chunked"] else {
                throw HTTPParseError(501, "Transfer-Encoding \(codings.joined(separator: ", ")) is not supported; use chunked.")
            }
            return .chunkedBody(head, ChunkedBodyDecoder(maxBodyBytes: maxBodyBytes, maxTrailerBytes: maxHeaderBytes))
        }
        guard !lengths.isEmpty else { return .fixedBody(head, length: 0) }
        var length: Int?
        for item in lengths.flatMap({ $0.split(separator: ",", omittingEmptySubsequences: false) }) {
            let text = item.trimmingASCIISpaces()
            guard !text.isEmpty, text.count <= 18, text.utf8.allSatisfy(HTTPHeadParser.isDigit), let value = Int(text) else {
                throw .bad("Invalid Content-Length.")
            }
            if let length, length != value { throw .bad("Conflicting Content-Length values.") }
            length = value
        }
        guard let length else { throw .bad("Invalid Content-Length.") }
        guard length <= maxBodyBytes else {
            throw HTTPParseError(413, "Request body is larger than the limit of \(maxBodyBytes) bytes.")
        }
        return .fixedBody(head, length: length)
    }
}
