public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: Int, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// Head and body in one buffer, so a response leaves in one `send` (two writes would make the
    /// client's delayed ACK cost ~40 ms per response).
    func serialized(version: HTTPVersion, keepAlive: Bool, includeBody: Bool) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(160 + headers.fields.count * 40 + (includeBody ? body.count : 0))
        Self.appendStatusLine(status, version: version, to: &out)
        for field in headers.fields where field.name != "content-length" && field.name != "connection" {
            Self.appendField(field.name, field.value, to: &out)
        }
        Self.appendField("content-length", String(body.count), to: &out)
        if !keepAlive { Self.appendField("connection", "close", to: &out) }
        out.append(contentsOf: [13, 10])
        if includeBody { out.append(contentsOf: body) }
        return out
    }

    static func appendStatusLine(_ status: Int, version: HTTPVersion, to out: inout [UInt8]) {
        out.append(contentsOf: version.text.utf8)
        out.append(UInt8(ascii: " "))
        out.append(contentsOf: String(status).utf8)
        out.append(UInt8(ascii: " "))
        out.append(contentsOf: HTTPStatus.reason(status).utf8)
        out.append(contentsOf: [13, 10])
    }

    static func appendField(_ name: String, _ value: String, to out: inout [UInt8]) {
        out.append(contentsOf: name.utf8)
        out.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: " ")])
        out.append(contentsOf: value.utf8)
        out.append(contentsOf: [13, 10])
    }
}

public enum HTTPStatus {
    public static func reason(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 200: "OK"
        case 201: "Created"
        case 204: "No Content"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 415: "Unsupported Media Type"
        case 422: "Unprocessable Content"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 503: "Service Unavailable"
        case 505: "HTTP Version Not Supported"
        case 507: "Insufficient Storage"
        default: "Status \(status)"
        }
    }
}
