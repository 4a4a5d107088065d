/// What one request and its answer amounted to, handed to the server's observer (for the access
/// log and the request metrics) once the answer's last byte is queued, or the client is gone.
public struct HTTPExchangeRecord: Sendable {
    public var requestID: String
    /// Nil for input that never became a request (a malformed head, a timeout).
    public var method: String?
    /// The route template the application matched, e.g. `/v1/threads/{thread_id}`; nil when none did.
    public var route: String?
    /// For a client that left before its answer began: 499, as nginx logs it.
    public var status: Int
    /// Body bytes of the answer (a stream's, as far as it got).
    public var bodyBytes: Int
    public var nanoseconds: Int64

    /// The status recorded for a request whose client closed the connection before an answer.
    public static let clientClosed = 499
}

/// Called on an I/O queue for every exchange that ends; must not block.
public typealias HTTPExchangeObserver = @Sendable (HTTPExchangeRecord) -> Void
