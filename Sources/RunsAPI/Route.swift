import HTTPServer
import RunsDomain
import RunsStorage

/// How a route runs: with a connection for reading, in one write transaction, or by itself
/// (runs, streams, health) answering through the responder.
public enum Route: Sendable {
    /// A short read: answered on the request's own I/O loop when the store has lane readers.
    case read(@Sendable (APIContext, any SQLSession) throws -> JSONValue)
    /// A read whose answer may be large (a file's whole content): always on a reader's queue.
    case bulkRead(@Sendable (APIContext, any SQLSession) throws -> JSONValue)
    case write(@Sendable (APIContext, any SQLSession) throws -> JSONValue)
    case custom(@Sendable (APIContext, HTTPResponder) -> Void)
    /// Takes its body as a stream (an upload), up to the byte count given.
    case upload(maxBytes: Int, @Sendable (APIContext, HTTPBodyStream, HTTPResponder) -> Void)
    /// Answered without authentication.
    case open(@Sendable (HTTPRequest) -> HTTPResponse)
}

/// A group of endpoints that adds its routes to the router.
protocol EndpointGroup {
    static func register(in router: inout Router<Route>)
}
