/// A piece of a request body streamed to its handler.
public enum HTTPBodyChunk: Sendable, Equatable {
    case data([UInt8])
    case end
    /// The body cannot be read on: malformed framing, over its limit, or the client went away.
    case failed(status: Int, message: String)
}

/// The body of a request whose route streams it (an upload): read one piece at a time, so no
/// more of it is in memory than the handler holds. The socket is read only while the handler
/// waits for a piece, which is the upload's back-pressure.
public final class HTTPBodyStream: Sendable {
    private let connection: HTTPConnection
    private let serial: UInt64

    init(connection: HTTPConnection, serial: UInt64) {
        self.connection = connection
        self.serial = serial
    }

    /// Asks for the next piece. `handler` is called once, on an I/O queue, so it must not block;
    /// call `read` again from it (or later) for the piece after.
    public func read(_ handler: @escaping @Sendable (HTTPBodyChunk) -> Void) {
        let connection = connection, serial = serial
        connection.loop.queue.async { connection.demandBody(serial: serial, handler: handler) }
    }
}
