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
    private let source: any HTTPBodySource
    private let serial: UInt64

    init(source: any HTTPBodySource, serial: UInt64) {
        self.source = source
        self.serial = serial
    }

    /// Asks for the next piece. `handler` is called once, on an I/O queue, so it must not block;
    /// call `read` again from it (or later) for the piece after.
    public func read(_ handler: @escaping @Sendable (HTTPBodyChunk) -> Void) {
        source.requestBodyPiece(serial: serial, handler: handler)
    }
}

/// Where a streamed body's pieces come from: the connection that reads it.
protocol HTTPBodySource: AnyObject, Sendable {
    /// Hands the next piece of request `serial`'s body to `handler`, from any thread.
    func requestBodyPiece(serial: UInt64, handler: @escaping @Sendable (HTTPBodyChunk) -> Void)
}
