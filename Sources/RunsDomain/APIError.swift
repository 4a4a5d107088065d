/// Every failure a client can be told about. The API layer turns `kind` into a status code and
/// the rest into OpenAI's error envelope.
public struct APIError: Error, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case invalidRequest
        case authentication
        case notFound
        /// The body is larger than the server takes (413).
        case tooLarge
        /// Too much work is waiting; the client should retry later (429 with Retry-After).
        case rateLimited
        case server
        case unavailable
    }

    public var kind: Kind
    public var message: String
    public var param: String?
    public var code: String?

    public init(_ kind: Kind, _ message: String, param: String? = nil, code: String? = nil) {
        self.kind = kind
        self.message = message
        self.param = param
        self.code = code
    }

    public static func invalid(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(.invalidRequest, message, param: param, code: code)
    }

    /// OpenAI's wording: `No thread found with id 'thread_x'.`
    public static func notFound(_ noun: String, _ id: String) -> APIError {
        APIError(.notFound, "No \(noun) found with id '\(id)'.")
    }
}
