public enum HTTPVersion: Sendable, Equatable {
    case http1_0
    case http1_1

    var text: String { self == .http1_1 ? "HTTP/1.1" : "HTTP/1.0" }
}

public struct HTTPRequest: Sendable {
    public var method: String
    /// The request target as sent, e.g. `/v1/threads?limit=2`.
    public var target: String
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// Set instead of `body` when the route streams its body (see `HTTPServer`'s `streamsBody`).
    public var bodyStream: HTTPBodyStream?

    public init(
        method: String, target: String, version: HTTPVersion = .http1_1,
        headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []
    ) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body
    }

    /// The target's path, still percent-encoded.
    public var path: Substring { Self.path(of: target) }

    /// The part of a request target before its query.
    static func path(of target: String) -> Substring {
        guard let mark = target.utf8.firstIndex(of: UInt8(ascii: "?")) else { return target[...] }
        return target[..<mark]
    }

    /// Query parameters in order, percent-decoded (`+` read as a space, as form encoding does).
    public var queryItems: [(name: String, value: String)] {
        guard let mark = target.firstIndex(of: "?") else { return [] }
        return target[target.index(after: mark)...].split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let value = parts.count > 1 ? parts[1] : ""
            return (PercentDecoding.decode(parts[0], plusAsSpace: true),
                    PercentDecoding.decode(value, plusAsSpace: true))
        }
    }

    /// HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 closes unless told to keep it.
    public var keepAlive: Bool {
        switch version {
        case .http1_1: !headers.hasToken("close", in: "connection")
        case .http1_0: headers.hasToken("keep-alive", in: "connection")
        }
    }
}

public enum PercentDecoding {
    /// Decodes `%XX` escapes; a malformed escape is kept as it is rather than rejected.
    public static func decode(_ text: Substring, plusAsSpace: Bool = false) -> String {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "%") || (plusAsSpace && $0 == UInt8(ascii: "+")) }) else {
            return String(text)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        let utf8 = Array(text.utf8)
        var index = 0
        while index < utf8.count {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%"), index + 2 < utf8.count,
               let high = hexValue(utf8[index + 1]), let low = hexValue(utf8[index + 2]) {
                bytes.append(high << 4 | low)
                index += 3
            } else {
                bytes.append(plusAsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
