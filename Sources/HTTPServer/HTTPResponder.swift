import Synchronization

/// The handle a request handler answers through, from any thread, exactly once: either `send`
/// a whole response or `startStream` for a chunked one (Server-Sent Events).
public final class HTTPResponder: Sendable {
    public let requestID: String
    private let connection: HTTPConnection
    private let serial: UInt64
    private let answered = Atomic<Bool>(false)

    init(connection: HTTPConnection, serial: UInt64, requestID: String) {
        self.connection = connection
        self.serial = serial
        self.requestID = requestID
    }

    public func send(_ response: HTTPResponse) {
        guard claim() else { return }
        let connection = connection, serial = serial, requestID = requestID
        connection.loop.queue.async { connection.complete(serial: serial, response: response, requestID: requestID) }
    }

    /// Sends the head now; the body follows through the returned writer, chunked, or as exactly
    /// `contentLength` bytes when that is known (a download).
    public func startStream(status: Int = 200, headers: HTTPHeaders, contentLength: Int? = nil) -> HTTPStreamWriter {
        let writer = HTTPStreamWriter(connection: connection, serial: serial)
        guard claim() else {
            writer.markClosed()
            return writer
        }
        let connection = connection, serial = serial, requestID = requestID
        connection.loop.queue.async {
            connection.beginStream(serial: serial, status: status, headers: headers, contentLength: contentLength,
                                   requestID: requestID, writer: writer)
        }
        return writer
    }

    private func claim() -> Bool {
        !answered.exchange(true, ordering: .acquiringAndReleasing)
    }
}

/// Writes a streamed response body. Writes after the client went away are dropped: the producer
/// (a run) carries on, it only loses its viewer.
public final class HTTPStreamWriter: Sendable {
    private let connection: HTTPConnection?
    private let serial: UInt64
    private let open = Atomic<Bool>(true)
    private let closeHandler = Mutex<(@Sendable () -> Void)?>(nil)

    init(connection: HTTPConnection?, serial: UInt64) {
        self.connection = connection
        self.serial = serial
    }

    public var isOpen: Bool { open.load(ordering: .acquiring) }

    /// Writes `bytes`; then `whenDrained`, if given, is called (on an I/O queue; it must not block)
    /// once the connection has sent all but a little of what it holds, or has closed: a producer
    /// that writes its next piece only then never holds more than a piece in memory.
    public func write(_ bytes: [UInt8], whenDrained: (@Sendable () -> Void)? = nil) {
        // An empty piece is never sent: in chunked framing it would end the body.
        guard isOpen, !bytes.isEmpty, let connection else { whenDrained?(); return }
        let serial = serial
        connection.loop.queue.async { connection.writeStreamChunk(serial: serial, bytes: bytes, whenDrained: whenDrained) }
    }

    /// Cuts the response off by closing the connection, for a body that cannot be completed
    /// (its declared length can no longer be met).
    public func abort() {
        guard let connection else { return }
        connection.loop.queue.async { connection.close() }
    }

    /// Ends the body; the connection then serves the next request or closes.
    public func finish() {
        guard isOpen, let connection else { return }
        let serial = serial
        connection.loop.queue.async { connection.finishStream(serial: serial) }
    }

    /// Called once, on some thread, when the stream ends for any reason (finished, client gone).
    public func onClose(_ handler: @escaping @Sendable () -> Void) {
        let callNow = closeHandler.withLock { stored -> Bool in
            guard isOpen else { return true }
            stored = handler
            return false
        }
        if callNow { handler() }
    }

    func markClosed() {
        guard open.exchange(false, ordering: .acquiringAndReleasing) else { return }
        let handler = closeHandler.withLock { stored in
            defer { stored = nil }
            return stored
        }
        handler?()
    }
}
