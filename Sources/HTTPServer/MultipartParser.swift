/// One part of a multipart/form-data body, as its headers describe it.
public struct MultipartPart: Equatable, Sendable {
    public var name: String
    /// `filename*` (RFC 5987, percent-decoded) when given, else `filename`.
    public var filename: String?
    public var contentType: String?

    public init(name: String, filename: String? = nil, contentType: String? = nil) {
        self.name = name
        self.filename = filename
        self.contentType = contentType
    }
}

/// What a multipart body holds, in the order its bytes arrive. A part's content comes in as many
/// `data` pieces as the reads cut it into, so a file is never held whole.
public enum MultipartEvent: Equatable, Sendable {
    case partStarted(MultipartPart)
    case data([UInt8])
    case partEnded
    /// The closing boundary: what follows is an epilogue, ignored.
    case finished
    /// The body is malformed; it was the last event. Events before it stand, so they come out
    /// the same whichever way the body was cut into reads.
    case failed(MultipartError)
}

public struct MultipartError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// A streaming multipart/form-data parser (RFC 7578, RFC 2046 §5.1): bytes are fed as they
/// arrive, boundaries may be split across reads anywhere, and memory stays within one part's
/// headers plus one boundary's length, whatever the parts' sizes.
public struct MultipartParser {
    private enum State {
        case preamble
        /// Just after a boundary: `--` closes, transport padding then CRLF opens a part.
        case afterBoundary
        case headers
        case content
        case epilogue
        case failed
    }

    /// `CRLF--boundary`: what ends every part's content.
    private let delimiter: [UInt8]
    private let maxHeaderBytes: Int
    private let maxParts: Int
    private var state = State.preamble
    private var buffer: [UInt8] = []
    private var parts = 0
    /// The body's first bytes may be the boundary itself, without the CRLF before it.
    private var atStart = true

    public init(boundary: String, maxHeaderBytes: Int = 8192, maxParts: Int = 64) {
        delimiter = Array("\r\n--\(boundary)".utf8)
        self.maxHeaderBytes = maxHeaderBytes
        self.maxParts = maxParts
    }

    /// The boundary a `Content-Type: multipart/form-data; boundary=…` header names.
    public static func boundary(contentType: String?) throws(MultipartError) -> String {
        guard let contentType else { throw MultipartError(message: "The request has no Content-Type; expected multipart/form-data.") }
        let fields = HeaderParameters.split(contentType)
        guard fields.value.lowercased() == "multipart/form-data" else {
            throw MultipartError(message: "The request's Content-Type must be multipart/form-data, but got '\(String(fields.value.prefix(100)))'.")
        }
        guard let boundary = fields.parameters["boundary"], (1...70).contains(boundary.utf8.count),
              boundary.utf8.allSatisfy(Self.isBoundaryByte), boundary.last != " " else {
            throw MultipartError(message: "The multipart/form-data Content-Type needs a boundary of 1 to 70 characters.")
        }
        return boundary
    }

    /// RFC 2046's `bchars`.
    private static func isBoundaryByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"): true
        default: Array("'()+_,-./:=? ".utf8).contains(byte)
        }
    }

    /// Takes the next bytes of the body; the events they complete.
    public mutating func feed(_ bytes: some Collection<UInt8>) -> [MultipartEvent] {
        if case .failed = state { return [] }
        buffer.append(contentsOf: bytes)
        var events: [MultipartEvent] = []
        do {
            while try step(&events) {}
        } catch {
            state = .failed
            buffer = []
            events.append(.failed(error))
        }
        return events
    }

    /// The body ended: `.failed` unless it ended with its closing boundary (nil).
    public mutating func finish() -> MultipartEvent? {
        switch state {
        case .epilogue, .failed: return nil
        default:
            state = .failed
            return .failed(MultipartError(message: "The multipart body ended before its closing boundary."))
        }
    }

    /// Spaces and tabs allowed after a boundary, before its line ends.
    static let maxPadding = 256

    /// One move of the state machine; false when it needs more bytes.
    private mutating func step(_ events: inout [MultipartEvent]) throws(MultipartError) -> Bool {
        switch state {
        case .preamble:
            if atStart {
                let opening = delimiter.dropFirst(2)
                guard buffer.count >= opening.count || !buffer.elementsEqual(opening.prefix(buffer.count)) else { return false }
                atStart = false
                if buffer.starts(with: opening) {
                    buffer.removeFirst(opening.count)
                    state = .afterBoundary
                    return true
                }
            }
            guard let found = find(delimiter, in: buffer) else {
                // Keep only what could be the start of the delimiter.
                buffer.removeFirst(max(0, buffer.count - (delimiter.count - 1)))
                return false
            }
            buffer.removeFirst(found + delimiter.count)
            state = .afterBoundary
            return true
        case .afterBoundary:
            guard buffer.count >= 2 else { return false }
            if buffer[0] == UInt8(ascii: "-"), buffer[1] == UInt8(ascii: "-") {
                state = .epilogue
                buffer = []
                events.append(.finished)
                return true
            }
            // Transport padding (spaces and tabs), then the CRLF that ends the boundary line.
            var index = 0
            while index < buffer.count, buffer[index] == 32 || buffer[index] == 9 { index += 1 }
            // The padding limit holds whether or not the line's end has arrived yet, so the
            // verdict does not depend on where the bytes were split.
            if index > Self.maxPadding { throw MultipartError(message: "A multipart boundary line is followed by too much padding.") }
            guard index + 2 <= buffer.count else { return false }
            guard buffer[index] == 13, buffer[index + 1] == 10 else {
                throw MultipartError(message: "A multipart boundary must be followed by a line break or by '--'.")
            }
            buffer.removeFirst(index + 2)
            parts += 1
            guard parts <= maxParts else { throw MultipartError(message: "The multipart body has more than \(maxParts) parts.") }
            state = .headers
            return true
        case .headers:
            let end: Int
            if buffer.starts(with: [13, 10]) {
                end = 0
            } else if let found = find([13, 10, 13, 10], in: buffer) {
                end = found + 2
            } else {
                // Too large only once no terminator still to come could end the headers in
                // time, so the answer does not depend on where the bytes were split.
                guard buffer.count < maxHeaderBytes + 2 else {
                    throw MultipartError(message: "A multipart part's headers are larger than \(maxHeaderBytes) bytes.")
                }
                return false
            }
            guard end <= maxHeaderBytes else {
                throw MultipartError(message: "A multipart part's headers are larger than \(maxHeaderBytes) bytes.")
            }
            let part = try Self.part(from: Array(buffer[..<end]))
            buffer.removeFirst(end + 2)
            events.append(.partStarted(part))
            state = .content
            return true
        case .content:
            if let found = find(delimiter, in: buffer) {
                if found > 0 { events.append(.data(Array(buffer[..<found]))) }
                buffer.removeFirst(found + delimiter.count)
                events.append(.partEnded)
                state = .afterBoundary
                return true
            }
            // Everything but a tail that could be the delimiter's beginning is content for sure.
            let safe = buffer.count - Self.partialMatchLength(of: delimiter, atEndOf: buffer)
            if safe > 0 {
                events.append(.data(Array(buffer[..<safe])))
                buffer.removeFirst(safe)
            }
            return false
        case .epilogue, .failed:
            buffer = []
            return false
        }
    }

    /// The longest suffix of `buffer` that is a proper prefix of `pattern`.
    private static func partialMatchLength(of pattern: [UInt8], atEndOf buffer: [UInt8]) -> Int {
        var length = min(pattern.count - 1, buffer.count)
        while length > 0 {
            if buffer[(buffer.count - length)...].elementsEqual(pattern[..<length]) { return length }
            length -= 1
        }
        return 0
    }

    private func find(_ pattern: [UInt8], in bytes: [UInt8]) -> Int? {
        guard bytes.count >= pattern.count, let first = pattern.first else { return nil }
        var index = 0
        let last = bytes.count - pattern.count
        while index <= last {
            if bytes[index] == first, bytes[index..<(index + pattern.count)].elementsEqual(pattern) { return index }
            index += 1
        }
        return nil
    }

    /// A part's headers: `Content-Disposition: form-data; name=…` is required.
    private static func part(from head: [UInt8]) throws(MultipartError) -> MultipartPart {
        var disposition: String?
        var contentType: String?
        for line in head.split(separator: 10) {
            let text = String(decoding: line.last == 13 ? line.dropLast() : line[...], as: UTF8.self)
            guard let colon = text.firstIndex(of: ":") else {
                if text.isEmpty { continue }
                throw MultipartError(message: "A multipart part has a malformed header line.")
            }
            let name = text[..<colon].trimmingCharacters(in: " \t").lowercased()
            let value = String(text[text.index(after: colon)...]).trimmingCharacters(in: " \t")
            switch name {
            case "content-disposition": disposition = value
            case "content-type": contentType = value
            default: break
            }
        }
        guard let disposition else { throw MultipartError(message: "A multipart part has no Content-Disposition header.") }
        let fields = HeaderParameters.split(disposition)
        guard fields.value.lowercased() == "form-data", let name = fields.parameters["name"] else {
            throw MultipartError(message: "Each multipart part needs 'Content-Disposition: form-data' with a name.")
        }
        let filename = fields.parameters["filename*"].flatMap(HeaderParameters.extendedValue) ?? fields.parameters["filename"]
        return MultipartPart(name: name, filename: filename, contentType: contentType)
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        let characters = Set(set)
        var text = Substring(self)
        while let first = text.first, characters.contains(first) { text = text.dropFirst() }
        while let last = text.last, characters.contains(last) { text = text.dropLast() }
        return String(text)
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> String { String(self).trimmingCharacters(in: set) }
}
