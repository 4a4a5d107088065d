/// Incremental decoder of a chunked request body (RFC 9112 §7.1). Extensions and trailers are
/// read and dropped; sizes and the total are bounded so a hostile client cannot run us out of memory.
struct ChunkedBodyDecoder {
    enum Progress: Equatable {
        case needMoreData
        case done
    }

    private enum State {
        case size(value: Int, digits: Int)
        case extensionText
        case sizeLF
        case data(remaining: Int)
        case dataCR
        case dataLF
        case trailerLineStart
        case trailerLine
        case trailerLF(emptyLine: Bool)
    }

    private var state = State.size(value: 0, digits: 0)
    private var trailerBytes = 0
    private(set) var body: [UInt8] = []
    /// Body bytes already handed out by `takeBody` (a streamed body), still counted against the limit.
    private var delivered = 0
    let maxBodyBytes: Int
    let maxTrailerBytes: Int

    init(maxBodyBytes: Int, maxTrailerBytes: Int) {
        self.maxBodyBytes = maxBodyBytes
        self.maxTrailerBytes = maxTrailerBytes
    }

    /// Consumes from `bytes`, returning how many were used.
    mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> (consumed: Int, Progress) {
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch state {
            case .size(let value, let digits):
                index += 1
                if let digit = PercentDecoding.hexValue(byte) {
                    guard digits < 15 else { throw .bad("Chunk size too long.") }
                    state = .size(value: value << 4 | Int(digit), digits: digits + 1)
                } else if digits == 0 {
                    throw .bad("Invalid chunk size.")
                } else {
                    try checkedSize(value)
                    if byte == 13 {
                        state = .sizeLF
                    } else if byte == UInt8(ascii: ";") || byte == 32 || byte == 9 {
                        state = .extensionText
                    } else {
                        throw .bad("Invalid chunk size.")
                    }
                }
            case .extensionText:
                if byte == 13 { state = .sizeLF } else if byte == 10 || byte == 0 { throw .bad("Invalid chunk extension.") }
                index += 1
            case .sizeLF:
                guard byte == 10 else { throw .bad("Chunk size line must end with CRLF.") }
                index += 1
                state = pendingSize == 0 ? .trailerLineStart : .data(remaining: pendingSize)
            case .data(let remaining):
                let take = min(remaining, bytes.count - index)
                body.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index..<index + take]))
                index += take
                state = remaining == take ? .dataCR : .data(remaining: remaining - take)
            case .dataCR:
                guard byte == 13 else { throw .bad("Chunk data must end with CRLF.") }
                index += 1
                state = .dataLF
            case .dataLF:
                guard byte == 10 else { throw .bad("Chunk data must end with CRLF.") }
                index += 1
                state = .size(value: 0, digits: 0)
            case .trailerLineStart:
                index += 1
                state = byte == 13 ? .trailerLF(emptyLine: true) : .trailerLine
                try countTrailer()
            case .trailerLine:
                index += 1
                if byte == 13 { state = .trailerLF(emptyLine: false) } else if byte == 10 || byte == 0 {
                    throw .bad("Invalid trailer field.")
                }
                try countTrailer()
            case .trailerLF(let emptyLine):
                guard byte == 10 else { throw .bad("Trailer line must end with CRLF.") }
                index += 1
                if emptyLine { return (index, .done) }
                state = .trailerLineStart
            }
        }
        return (index, .needMoreData)
    }

    /// The size just read, kept between the size line and its data.
    private var pendingSize = 0

    private mutating func checkedSize(_ size: Int) throws(HTTPParseError) {
        guard size <= maxBodyBytes - body.count - delivered else {
            throw HTTPParseError(413, "Request body is larger than the limit of \(maxBodyBytes) bytes.")
        }
        pendingSize = size
    }

    /// Hands out the body decoded so far, for a body streamed to its handler piece by piece.
    mutating func takeBody() -> [UInt8] {
        defer { body = [] }
        delivered += body.count
        return body
    }

    private mutating func countTrailer() throws(HTTPParseError) {
        trailerBytes += 1
        if trailerBytes > maxTrailerBytes { throw HTTPParseError(431, "Request trailer section too large.") }
    }
}
