import HTTPServer
import RunsDomain
import RunsEngine
import RunsWire
import RunsStorage

/// How a route runs: on a read connection, on the writer (one at a time), or by itself
/// (streams, health) answering through the responder.
public enum Route: Sendable {
    case read(@Sendable (APIContext, any SQLSession) throws -> JSONValue)
    case write(@Sendable (APIContext, any SQLSession) throws -> JSONValue)
    case custom(@Sendable (APIContext, HTTPResponder) -> Void)
    /// Answered without authentication.
    case open(@Sendable (HTTPRequest) -> HTTPResponse)
}

/// A group of endpoints that adds its routes to the router.
protocol EndpointGroup {
    static func register(in router: inout Router<Route>)
}
