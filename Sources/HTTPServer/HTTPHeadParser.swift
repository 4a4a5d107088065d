/// The request line and header section: everything a request has before its body.
public struct HTTPRequestHead: Sendable {
    public var method: String
    public var target: String
    public var version: HTTPVersion
    public var headers: HTTPHeaders
}

/// Pure parser of a request head in picohttpparser's contract: bytes in, and either a complete head
/// with the number of bytes it used, a need for more bytes, or the reason the bytes are invalid.
public enum HTTPHeadParser {
    public enum Result {
        case complete(HTTPRequestHead, consumed: Int)
        case needMoreData
        case invalid(HTTPParseError)
    }

    /// - Parameter scanFrom: where the search for the end of the head may resume, so bytes fed
    ///   one at a time do not make the search quadratic.
    public static func parse(
        _ bytes: UnsafeBufferPointer<UInt8>, maxHeaderBytes: Int, scanFrom: inout Int
    ) -> Result {
        var start = 0
        // RFC 9112 §2.2: ignore empty lines received before the request line.
        while start + 1 < bytes.count, bytes[start] == 13, bytes[start + 1] == 10 { start += 2 }
        if start == bytes.count || (start + 1 == bytes.count && bytes[start] == 13) {
            return start > maxHeaderBytes ? .invalid(HTTPParseError(431, "Request header section too large.")) : .needMoreData
        }
        guard let end = findHeadEnd(bytes, from: max(scanFrom, start)) else {
            scanFrom = max(start, bytes.count - 3)
            // Too large only once no terminator can still complete a head within the limit: its
            // CRLFCRLF may begin in the last three bytes, which a whole feed would have seen.
            if bytes.count - start > maxHeaderBytes + 3 {
                return .invalid(HTTPParseError(431, "Request header section too large."))
            }
            return .needMoreData
        }
        if end - start > maxHeaderBytes {
            return .invalid(HTTPParseError(431, "Request header section too large."))
        }
        do {
            let head = try parseHead(UnsafeBufferPointer(rebasing: bytes[start..<end]))
            return .complete(head, consumed: end + 4)
        } catch {
            return .invalid(error)
        }
    }

    /// Index of the CR of the first CRLFCRLF, if any.
    static func findHeadEnd(_ bytes: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        var index = from
        while index + 3 < bytes.count {
            if bytes[index + 3] != 10 { index += bytes[index + 3] == 13 ? 1 : 4; continue }
            if bytes[index] == 13, bytes[index + 1] == 10, bytes[index + 2] == 13 { return index }
            index += 1
        }
        return nil
    }

    static func parseHead(_ head: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> HTTPRequestHead {
        var lines = LineCursor(bytes: head)
        guard let requestLine = try lines.next() else { throw .bad("Missing request line.") }
        let (method, target, version) = try parseRequestLine(requestLine)
        var headers = HTTPHeaders()
        while let line = try lines.next() {
            guard let first = line.first else { throw .bad("Empty header line.") }
            if first == 32 || first == 9 { throw .bad("Obsolete header line folding is not accepted.") }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
                throw .bad("Header line without a colon.")
            }
            let name = UnsafeBufferPointer(rebasing: line[line.startIndex..<colon])
            guard !name.isEmpty, name.allSatisfy(isTokenByte) else {
                throw .bad("Invalid header field name.")
            }
            var valueStart = colon + 1
            var valueEnd = line.endIndex
            while valueStart < valueEnd, line[valueStart] == 32 || line[valueStart] == 9 { valueStart += 1 }
            while valueEnd > valueStart, line[valueEnd - 1] == 32 || line[valueEnd - 1] == 9 { valueEnd -= 1 }
            let value = UnsafeBufferPointer(rebasing: line[valueStart..<valueEnd])
            guard value.allSatisfy({ $0 >= 32 && $0 != 127 || $0 == 9 || $0 >= 128 }) else {
                throw .bad("Invalid character in header field value.")
            }
            headers.addLowercased(ASCII.lowercased(name), String(decoding: value, as: UTF8.self))
        }
        return HTTPRequestHead(method: method, target: target, version: version, headers: headers)
    }

    static func parseRequestLine(
        _ line: UnsafeBufferPointer<UInt8>.SubSequence
    ) throws(HTTPParseError) -> (String, String, HTTPVersion) {
        let parts = line.split(separator: 32, maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .bad("Malformed request line.") }
        let method = parts[0], target = parts[1], version = parts[2]
        guard !method.isEmpty, method.allSatisfy(isTokenByte) else { throw .bad("Invalid method.") }
        guard let first = target.first, first == UInt8(ascii: "/") || (target.count == 1 && first == UInt8(ascii: "*")),
              target.allSatisfy({ $0 > 32 && $0 != 127 }) else {
            throw .bad("Invalid request target.")
        }
        let versionText = String(decoding: version, as: UTF8.self)
        let parsedVersion: HTTPVersion
        switch versionText {
        case "HTTP/1.1": parsedVersion = .http1_1
        case "HTTP/1.0": parsedVersion = .http1_0
        default:
            let bytes = Array(version)
            if bytes.count == 8, versionText.hasPrefix("HTTP/"), bytes[6] == UInt8(ascii: "."),
               isDigit(bytes[5]), isDigit(bytes[7]) {
                throw HTTPParseError(505, "HTTP version \(versionText.dropFirst(5)) is not supported; use HTTP/1.1.")
            }
            throw .bad("Malformed HTTP version.")
        }
        return (String(decoding: method, as: UTF8.self), String(decoding: target, as: UTF8.self), parsedVersion)
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= 48 && byte <= 57 }

    /// RFC 9110 `tchar`.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}

/// Splits a head on CRLF; a bare CR or LF inside a line is rejected (request smuggling vector).
struct LineCursor {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0

    mutating func next() throws(HTTPParseError) -> UnsafeBufferPointer<UInt8>.SubSequence? {
        guard position < bytes.count else { return nil }
        var index = position
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 13 {
                guard index + 1 < bytes.count, bytes[index + 1] == 10 else { throw .bad("Bare CR in request head.") }
                break
            }
            if byte == 10 || byte == 0 { throw .bad("Invalid control character in request head.") }
            index += 1
        }
        let line = bytes[position..<index]
        position = index + 2
        return line
    }
}

extension HTTPRequestHead {
    /// The target's path, still percent-encoded.
    public var path: Substring { HTTPRequest.path(of: target) }
}
