/// Turns a byte stream into requests: the head parser, then the body framed by Content-Length or
/// chunked encoding. Bytes may arrive in any split; requests come out in order (pipelining).
public struct HTTPRequestDecoder {
    public enum Event {
        case request(HTTPRequest)
        /// A request whose body is handed to its handler piece by piece (`nextBodyPiece`), not held.
        case streamedRequest(HTTPRequest)
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
        case streamedFixed(remaining: Int)
        case streamedChunked(ChunkedBodyDecoder)
    }

    /// A piece of a streamed body.
    public enum BodyPiece: Equatable {
        case data([UInt8])
        case end
        case needMoreData
        case failure(HTTPParseError)
    }

    /// Says, from a request's head, whether its body is streamed and up to how many bytes.
    public typealias BodyStreaming = @Sendable (HTTPRequestHead) -> Int?

    private var buffer: [UInt8] = []
    private var start = 0
    private var scanFrom = 0
    private var state = State.head
    private var continueAnswered = false
    public let maxBodyBytes: Int
    public let maxHeaderBytes: Int
    private let streamsBody: BodyStreaming?

    public init(maxBodyBytes: Int, maxHeaderBytes: Int, streamsBody: BodyStreaming? = nil) {
        self.maxBodyBytes = maxBodyBytes
        self.maxHeaderBytes = maxHeaderBytes
        self.streamsBody = streamsBody
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
        case .head, .failed, .streamedFixed, .streamedChunked: 0
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
            case .streamedFixed, .streamedChunked:
                // The handler holds the request and reads its body through `nextBodyPiece`.
                return .needMoreData
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
                        if let limit = streamsBody?(head), let streamed = try streamedFraming(for: head, limit: limit) {
                            state = streamed
                            return .streamedRequest(HTTPRequest(
                                method: head.method, target: head.target, version: head.version, headers: head.headers))
                        }
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
        returnToHead()
        return .request(HTTPRequest(
            method: head.method, target: head.target, version: head.version, headers: head.headers, body: body))
    }

    private mutating func returnToHead() {
        state = .head
        if start == buffer.count, buffer.capacity > 64 * 1024 {
            // An idle keep-alive connection must not keep a large upload's buffer.
            buffer = []
            start = 0
        }
        scanFrom = start
    }

    /// The next piece of a streamed body, at most `maxBytes` of what has arrived.
    public mutating func nextBodyPiece(maxBytes: Int) -> BodyPiece {
        switch state {
        case .streamedFixed(let remaining):
            if remaining == 0 {
                returnToHead()
                return .end
            }
            let take = min(remaining, bufferedByteCount, maxBytes)
            guard take > 0 else { return .needMoreData }
            let piece = Array(buffer[start..<start + take])
            start += take
            state = .streamedFixed(remaining: remaining - take)
            return .data(piece)
        case .streamedChunked(var decoder):
            state = .head
            do {
                // Framing alone (a size line) yields no data: read on while bytes are buffered.
                var progress = ChunkedBodyDecoder.Progress.needMoreData
                var piece: [UInt8] = []
                while piece.isEmpty, progress == .needMoreData, bufferedByteCount > 0 {
                    let available = min(bufferedByteCount, maxBytes)
                    let consumed: Int
                    (consumed, progress) = try buffer.withUnsafeBufferPointer { pointer throws(HTTPParseError) in
                        try decoder.feed(UnsafeBufferPointer(rebasing: pointer[start..<start + available]))
                    }
                    start += consumed
                    piece = decoder.takeBody()
                }
                if progress == .done {
                    // The last data goes out first; the next call reports the end.
                    if !piece.isEmpty {
                        state = .streamedFixed(remaining: 0)
                        return .data(piece)
                    }
                    returnToHead()
                    return .end
                }
                state = .streamedChunked(decoder)
                return piece.isEmpty ? .needMoreData : .data(piece)
            } catch {
                state = .failed(error)
                return .failure(error)
            }
        case .failed(let error):
            return .failure(error)
        case .head, .fixedBody, .chunkedBody:
            return .end
        }
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

    /// How a streamed body is framed; nil when the request has no body to stream.
    private func streamedFraming(for head: HTTPRequestHead, limit: Int) throws(HTTPParseError) -> State? {
        switch try framing(for: head, limit: limit) {
        case .fixedBody(_, let length): length == 0 ? nil : .streamedFixed(remaining: length)
        case .chunkedBody(_, let decoder): .streamedChunked(decoder)
        default: nil
        }
    }

    private func framing(for head: HTTPRequestHead, limit: Int? = nil) throws(HTTPParseError) -> State {
        let maxBodyBytes = limit ?? maxBodyBytes
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
