import Synchronization

/// The handle a request handler answers through, from any thread, exactly once: either `send`
/// a whole response or `startStream` for a chunked one (Server-Sent Events).
public final class HTTPResponder: Sendable {
    public let requestID: String
    private let connection: HTTPConnection
    private let serial: UInt64
    private let answered = Atomic<Bool>(false)
    /// An answer given within the handler's own call, and whether that call has returned.
    private let inline = Mutex<(response: HTTPResponse?, returned: Bool)>((nil, false))
    private let matchedRoute = Mutex<String?>(nil)

    init(connection: HTTPConnection, serial: UInt64, requestID: String) {
        self.connection = connection
        self.serial = serial
        self.requestID = requestID
    }

    /// The route template the request matched, for the access log and the metrics (never the
    /// raw path, which carries ids).
    public var route: String? {
        get { matchedRoute.withLock { $0 } }
        set { matchedRoute.withLock { $0 = newValue } }
    }

    /// The I/O loop the request arrived on, 0 up to the server's loop count. The handler's own
    /// call runs on that loop's serial queue, so per-lane resources need no lock there.
    public var lane: Int { connection.loop.index }

    /// Runs `work` on the request's loop once the loop's current turn is over (after what its
    /// queue already holds).
    public func afterThisTurn(_ work: @escaping @Sendable () -> Void) {
        connection.loop.queue.async(execute: work)
    }

    /// Answers from within the handler's own call (on its lane): the response is written as soon
    /// as the handler returns, without a hop through the loop's queue. Called later (the handler
    /// passed the request on), it is `send`.
    public func sendInline(_ response: HTTPResponse) {
        guard claim() else { return }
        let late = inline.withLock { state -> Bool in
            if !state.returned { state.response = response }
            return state.returned
        }
        if late { deliver(response) }
    }

    /// Called by the connection once the handler returned: the answer `sendInline` left, if any.
    func handlerReturned() -> HTTPResponse? {
        inline.withLock { state in
            state.returned = true
            defer { state.response = nil }
            return state.response
        }
    }

    public func send(_ response: HTTPResponse) {
        guard claim() else { return }
        deliver(response)
    }

    private func deliver(_ response: HTTPResponse) {
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
            writer.headDelivered()
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
    private let closeHandlers = Mutex<[@Sendable () -> Void]>([])
    /// Pieces written since the connection last took them: a burst of pieces reaches the
    /// connection's queue as one block and leaves in one chunk.
    private let pending = Mutex<Pending>(Pending())

    private struct Pending {
        var bytes: [UInt8] = []
        var whenDrained: [@Sendable () -> Void] = []
        /// The body ends after these bytes.
        var finishing = false
        /// A delivery is due: scheduled on the loop, or waiting for the head to go first.
        var queued = false
        /// The head reached the connection. Pieces reach the loop another way than the head (a
        /// wake-up source, not the queue), so they wait for it instead of overtaking it.
        var headDelivered = false
    }

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
        let queue = pending.withLock { pending -> Bool in
            pending.bytes.append(contentsOf: bytes)
            if let whenDrained { pending.whenDrained.append(whenDrained) }
            return Self.markDue(&pending)
        }
        if queue { connection.loop.schedule(self) }
    }

    /// Marks a delivery as due; true when it is to be scheduled now.
    private static func markDue(_ pending: inout Pending) -> Bool {
        defer { pending.queued = true }
        return !pending.queued && pending.headDelivered
    }

    /// On the connection's queue, once the head is out: delivers what was written meanwhile.
    func headDelivered() {
        let due = pending.withLock { pending -> Bool in
            pending.headDelivered = true
            return pending.queued
        }
        if due { deliverPending() }
    }

    /// On the connection's queue: hands it what was written since it last took the pieces, and
    /// ends the body if that was asked after them.
    func deliverPending() {
        guard let connection else { return }
        let taken = pending.withLock { pending in
            defer { pending = Pending(headDelivered: true) }
            return pending
        }
        let waiters = taken.whenDrained
        if taken.bytes.isEmpty {
            // Never an empty chunk: in chunked framing it would end the body.
            for waiter in waiters { waiter() }
        } else {
            let whenDrained: (@Sendable () -> Void)? = waiters.isEmpty ? nil : { @Sendable in for waiter in waiters { waiter() } }
            connection.writeStreamChunk(serial: serial, bytes: taken.bytes, whenDrained: whenDrained)
        }
        if taken.finishing { connection.finishStream(serial: serial) }
    }

    /// Cuts the response off by closing the connection, for a body that cannot be completed
    /// (its declared length can no longer be met).
    public func abort() {
        guard let connection else { return }
        connection.loop.queue.async { connection.close() }
    }

    /// Ends the body after what was written; the connection then serves the next request or closes.
    public func finish() {
        guard isOpen, let connection else { return }
        let queue = pending.withLock { pending -> Bool in
            pending.finishing = true
            return Self.markDue(&pending)
        }
        if queue { connection.loop.schedule(self) }
    }

    /// `handler` is called once, on some thread, when the stream ends for any reason (finished,
    /// client gone); every handler registered is.
    public func onClose(_ handler: @escaping @Sendable () -> Void) {
        let callNow = closeHandlers.withLock { stored -> Bool in
            guard isOpen else { return true }
            stored.append(handler)
            return false
        }
        if callNow { handler() }
    }

    func markClosed() {
        guard open.exchange(false, ordering: .acquiringAndReleasing) else { return }
        let handlers = closeHandlers.withLock { stored in
            defer { stored = [] }
            return stored
        }
        for handler in handlers { handler() }
    }
}
