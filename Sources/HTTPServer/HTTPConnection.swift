import CEpoll
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One client connection: reads and decodes requests, hands them to the handler one at a time
/// (so pipelined requests are answered in order), and writes responses without ever blocking.
/// Every decision about what to watch, when to time out and when to close is made by its
/// `ConnectionStateMachine`; this class does the I/O and carries out the machine's actions.
///
/// `@unchecked Sendable`: every mutable property is touched only on `loop.queue` (a serial
/// queue); other threads reach the connection only through `loop.queue.async`, or read `idleSince`.
final class HTTPConnection: HTTPBodySource, @unchecked Sendable {
    /// The request being answered.
    private struct Exchange {
        var serial: UInt64
        var version: HTTPVersion
        var isHead: Bool
        var writer: HTTPStreamWriter?
        /// The streamed request body still owes the client a `100 Continue` before it is read.
        var continuePending = false
        /// The streamed response has a Content-Length: its bytes go out without chunk framing.
        var identityBody = false
        var method: String
        var requestID: String
        /// The route template the handler named, taken when its call returns (not the responder,
        /// which a stream would otherwise keep alive for as long as it lasts).
        var route: String?
        var startedAt: UInt64
        /// Of a streamed answer, once its head is out.
        var status: Int?
        var bodyBytes = 0

        /// Whether a streamed body goes out in chunks: HTTP/1.1, no Content-Length, not a HEAD answer.
        var chunked: Bool { version == .http1_1 && !identityBody && !isHead }
    }

    /// The most of a streamed request body handed to its handler at once.
    static let maxBodyPiece = 1 << 20
    /// How much of the in-flight body budget a streamed body takes while it is read.
    static let streamedBodyFootprint = 3 * maxBodyPiece
    /// A streamed response's producer is asked for more once no more than this waits unsent.
    static let drainedBytes = 256 * 1024

    let loop: EventLoop
    private let fd: Int32
    private let server: HTTPServerCore
    private var decoder: HTTPRequestDecoder
    private var machine: ConnectionStateMachine
    private var exchange: Exchange?
    private var serial: UInt64 = 0
    private var timer: (any DispatchSourceTimer)?
    private var outbound: [UInt8] = []
    private var outboundOffset = 0
    /// A flush of streamed pieces is queued behind the pieces already on their way.
    private var flushQueued = false
    /// The handler waiting for the next piece of its streamed body.
    private var bodyWaiter: (@Sendable (HTTPBodyChunk) -> Void)?
    /// Producers of a streamed response waiting for its unsent bytes to drain.
    private var drainWaiters: [@Sendable () -> Void] = []
    /// Set on an HTTPS connection; all bytes go through it.
    private var tls: TLSSession?
    /// The head timeout has started for the TLS handshake (it covers handshake and first head).
    private var handshakeTimed = false
    /// Bytes of the in-flight body budget this connection holds for the request being read or answered.
    private var reservedBodyBytes = 0
    /// Monotonic nanoseconds since the connection has been waiting idle for a request; 0 while busy.
    /// Read from the accepting thread to pick the longest-idle connection at the limit.
    let idleSince = Atomic<Int64>(0)

    init(fd: Int32, loop: EventLoop, server: HTTPServerCore, tls: TLSSession? = nil) {
        self.fd = fd
        self.tls = tls
        self.loop = loop
        self.server = server
        decoder = HTTPRequestDecoder(maxBodyBytes: server.limits.maxBodyBytes, maxHeaderBytes: server.limits.maxHeaderBytes,
                                     streamsBody: server.streamsBody)
        machine = ConnectionStateMachine(timeouts: ConnectionStateMachine.Timeouts(
            headNanoseconds: Self.nanoseconds(server.limits.headerReadTimeout),
            idleNanoseconds: Self.nanoseconds(server.limits.keepAliveTimeout)))
    }

    static func nanoseconds(_ seconds: Double) -> Int64 {
        Int64(min(max(seconds, 0), 1e9) * 1e9)
    }

    private static var now: Int64 { Int64(DispatchTime.now().uptimeNanoseconds) }

    /// Starts watching the socket; call on `loop.queue`.
    func start() {
        let timer = DispatchSource.makeTimerSource(queue: loop.queue)
        timer.setEventHandler { [weak self] in self?.timerFired() }
        timer.schedule(deadline: .distantFuture)
        self.timer = timer
        timer.activate()
        guard loop.register(self, fd: fd) else { return perform(.failed) }
        perform(.started(now: Self.now))
    }

    /// What the loop's epoll reported for this socket.
    func handle(events: UInt32) {
        if events & RUNNEL_EPOLLERR != 0 { return perform(.failed) }
        if events & RUNNEL_EPOLLOUT != 0, machine.interest.write { flush() }
        guard !machine.isClosed else { return }
        if machine.readsInput {
            if events & (RUNNEL_EPOLLIN | RUNNEL_EPOLLRDHUP | RUNNEL_EPOLLHUP) != 0 { readable() }
        } else if events & RUNNEL_EPOLLHUP != 0 {
            // Both directions are gone: nothing can be read or sent.
            perform(.failed)
        } else if events & RUNNEL_EPOLLRDHUP != 0 {
            perform(.hangUp)
        } else if events & RUNNEL_EPOLLIN != 0 {
            perform(.inputWhilePaused)
        }
    }

    // MARK: Carrying out the machine's decisions

    /// Feeds the machine one event and performs what it decides; buffered input is decoded last.
    private func perform(_ event: ConnectionStateMachine.Event) {
        if apply(machine.handle(event)) { processInput() }
    }

    /// Returns whether the machine asked for buffered input to be decoded.
    private func apply(_ actions: ConnectionStateMachine.Actions) -> Bool {
        if actions.close {
            teardown()
            return false
        }
        if actions.shutdownWrite {
            tls?.closeNotify()
            shutdown(fd, Int32(SHUT_WR))
        }
        if let interest = actions.interest {
            var events: UInt32 = 0
            if interest.read { events |= EventLoop.Interest.read }
            if interest.hangUp { events |= EventLoop.Interest.hangUp }
            if interest.write { events |= EventLoop.Interest.write }
            guard loop.watch(fd: fd, events: events) else {
                perform(.failed)
                return false
            }
        }
        if let deadline = actions.timer {
            timer?.schedule(deadline: DispatchTime(uptimeNanoseconds: UInt64(max(0, deadline))))
        }
        if let idle = actions.idleSince {
            idleSince.store(idle.map { max(1, $0) } ?? 0, ordering: .relaxed)
        }
        if actions.requestTimeout {
            answerRequestTimeout()
            return false
        }
        return actions.processInput
    }

    // MARK: Reading

    private func readable() {
        switch receive() {
        case .bytes where machine.phase == .lingering:
            // Read only so the close sends no reset; nothing more is answered.
            perform(.received(now: Self.now))
        case .bytes(let count):
            // One read per wake-up: other connections get their turn before a fast sender's next.
            decoder.append(UnsafeRawBufferPointer(rebasing: loop.scratch[0..<count]))
            perform(.received(now: Self.now))
            processInput()
            if let tls, tls.hasPending { readAgainSoon(after: 0) }
        case .end:
            perform(.endOfInput(now: Self.now))
        case .wait:
            break
        case .retry:
            readAgainSoon(after: 5_000_000)
        case .failed:
            perform(.failed)
        }
    }

    /// One read from the socket, or from the TLS session over it.
    private func receive() -> TLSSession.Read {
        if let tls {
            if !handshakeTimed, !tls.established {
                // A handshake that never finishes is a head that never arrives.
                handshakeTimed = true
                perform(.awaitingInput(.head, now: Self.now))
            }
            return tls.read(into: loop.scratch)
        }
        while true {
            let count = recv(fd, loop.scratch.baseAddress, loop.scratch.count, 0)
            if count > 0 { return .bytes(count) }
            if count == 0 { return .end }
            if errno == EINTR { continue }
            return errno == EAGAIN || errno == EWOULDBLOCK ? .wait : .failed
        }
    }

    /// For input epoll will not announce: bytes the TLS session already decrypted, or a read
    /// that waits for the session to write first.
    private func readAgainSoon(after nanoseconds: Int) {
        loop.queue.asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) { [weak self] in
            guard let self, !machine.isClosed, machine.readsInput else { return }
            readable()
        }
    }

    /// Hands complete requests to the handler while the connection is free for one.
    private func processInput() {
        if bodyWaiter != nil { return deliverBody() }
        while machine.acceptsRequests {
            // Back-pressure: a client that pipelines without reading its answers waits.
            if outbound.count - outboundOffset > server.limits.maxBufferedResponseBytes {
                perform(.outputOverLimit)
                return
            }
            switch decoder.next() {
            case .request(let request):
                guard reserveBody(request.body.count) else { return }
                dispatch(request)
            case .streamedRequest(let request):
                // What an upload holds at once: a piece here and about as much in its handler.
                guard reserveBody(Self.streamedBodyFootprint) else { return }
                dispatch(request, streamed: true)
            case .expectsContinue:
                guard reserveBody(decoder.bodyBytesInProgress) else { return }
                sendContinue()
            case .needMoreData:
                guard reserveBody(decoder.bodyBytesInProgress) else { return }
                let held: ConnectionStateMachine.Input = decoder.isReadingHead ? .head : (decoder.hasPartialRequest ? .body : .none)
                // Only the start of a head is timed; otherwise the clock need not be read.
                perform(.awaitingInput(held, now: held == .head ? Self.now : machine.lastProgress))
                if machine.closeAfterFlush { flush() }
                return
            case .failure(let error):
                respondAndClose(server.errorResponse(error.status, error.message))
                return
            }
        }
    }

    private func dispatch(_ request: HTTPRequest, streamed: Bool = false) {
        let started = DispatchTime.now().uptimeNanoseconds
        serial &+= 1
        _ = apply(machine.handle(.requestDispatched(keepAlive: request.keepAlive)))
        let responder = HTTPResponder(connection: self, serial: serial, requestID: server.requestIDs.next())
        exchange = Exchange(serial: serial, version: request.version, isHead: request.method == "HEAD", method: request.method,
                            requestID: responder.requestID, startedAt: started)
        var request = request
        if streamed {
            _ = apply(machine.handle(.bodyStreamOpened))
            exchange?.continuePending = request.version == .http1_1 && request.headers.hasToken("100-continue", in: "expect")
            request.bodyStream = HTTPBodyStream(source: self, serial: serial)
        }
        server.handler(request, responder)
        if self.exchange?.serial == serial { self.exchange?.route = responder.route }
        // Decoding goes on in the caller's loop, which asked for this request.
        if let response = responder.handlerReturned() { complete(serial: serial, response: response, requestID: responder.requestID, decodeNext: false) }
    }

    // MARK: Streamed request bodies

    func requestBodyPiece(serial: UInt64, handler: @escaping @Sendable (HTTPBodyChunk) -> Void) {
        loop.queue.async { self.demandBody(serial: serial, handler: handler) }
    }

    private func demandBody(serial: UInt64, handler: @escaping @Sendable (HTTPBodyChunk) -> Void) {
        guard machine.phase == .handling, bodyWaiter == nil, let exchange, exchange.serial == serial else {
            return handler(.failed(status: 400, message: "The request body can no longer be read."))
        }
        bodyWaiter = handler
        if exchange.continuePending {
            self.exchange?.continuePending = false
            sendContinue()
        }
        deliverBody()
    }

    /// The interim answer a client that sent `Expect: 100-continue` waits for before its body.
    private func sendContinue() {
        enqueue(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
        flush()
    }

    /// Hands the waiting handler what the decoder has, or reads the socket for it.
    private func deliverBody() {
        guard let waiter = bodyWaiter, !machine.isClosed else { return }
        let piece = decoder.nextBodyPiece(maxBytes: Self.maxBodyPiece)
        switch piece {
        case .needMoreData:
            perform(.bodyDemanded(now: Self.now))
            return
        case .data(let bytes):
            bodyWaiter = nil
            _ = apply(machine.handle(.bodyDemandMet))
            waiter(.data(bytes))
        case .end:
            bodyWaiter = nil
            _ = apply(machine.handle(.bodyStreamEnded))
            waiter(.end)
        case .failure(let error):
            bodyWaiter = nil
            _ = apply(machine.handle(.bodyDemandMet))
            waiter(.failed(status: error.status, message: error.message))
        }
    }

    /// Holds the body in the server-wide budget; past it the client is told to come back later.
    private func reserveBody(_ total: Int) -> Bool {
        guard total > reservedBodyBytes else { return true }
        guard server.reserveBodyBytes(total - reservedBodyBytes, forBodyOf: total) else {
            var response = server.errorResponse(503, "The server is receiving too many request bodies at once; retry shortly.")
            response.headers.add("retry-after", "1")
            respondAndClose(response)
            return false
        }
        reservedBodyBytes = total
        return true
    }

    private func releaseBody() {
        guard reservedBodyBytes > 0 else { return }
        server.releaseBodyBytes(reservedBodyBytes)
        reservedBodyBytes = 0
    }

    // MARK: Answering

    func complete(serial: UInt64, response: HTTPResponse, requestID: String, decodeNext mayDecode: Bool = true) {
        guard machine.phase == .handling, let exchange, exchange.serial == serial, exchange.writer == nil else { return }
        releaseBody()
        var response = response
        if response.headers["x-request-id"] == nil { response.headers.add("x-request-id", requestID) }
        enqueue(response.serialized(version: exchange.version, keepAlive: machine.keepsConnection, includeBody: !exchange.isHead))
        self.exchange = nil
        report(exchange, status: response.status, bodyBytes: exchange.isHead ? 0 : response.body.count)
        let now = Self.now
        let decodeNext = apply(machine.handle(.responseQueued(now: now)))
        flush(at: now)
        if decodeNext, mayDecode { processInput() }
    }

    func beginStream(serial: UInt64, status: Int, headers: HTTPHeaders, contentLength: Int?, requestID: String,
                     writer: HTTPStreamWriter) {
        guard machine.phase == .handling, let exchange, exchange.serial == serial else {
            writer.markClosed()
            return
        }
        releaseBody()
        var out: [UInt8] = []
        HTTPResponse.appendStatusLine(status, version: exchange.version, to: &out)
        for field in headers.fields where field.name != "content-length" && field.name != "transfer-encoding" && field.name != "connection" {
            HTTPResponse.appendField(field.name, field.value, to: &out)
        }
        if headers["x-request-id"] == nil { HTTPResponse.appendField("x-request-id", requestID, to: &out) }
        // HTTP/1.0 has no chunked framing: its body simply ends when the connection closes.
        let identity = contentLength != nil
        _ = apply(machine.handle(.streamStarted(keepAlive: exchange.version == .http1_1 || identity)))
        if let contentLength {
            HTTPResponse.appendField("content-length", String(contentLength), to: &out)
        } else if exchange.version == .http1_1 {
            HTTPResponse.appendField("transfer-encoding", "chunked", to: &out)
        }
        if !machine.keepsConnection { HTTPResponse.appendField("connection", "close", to: &out) }
        out.append(contentsOf: [13, 10])
        self.exchange?.writer = writer
        self.exchange?.identityBody = identity
        self.exchange?.status = status
        enqueue(out)
        flush()
    }

    func writeStreamChunk(serial: UInt64, bytes: [UInt8], whenDrained: (@Sendable () -> Void)? = nil) {
        guard machine.phase == .streaming, let exchange, exchange.serial == serial else {
            whenDrained?()
            return
        }
        if let whenDrained { drainWaiters.append(whenDrained) }
        if !exchange.isHead { self.exchange?.bodyBytes += bytes.count }
        if exchange.chunked {
            var frame = Array(String(bytes.count, radix: 16).utf8)
            frame.append(contentsOf: [13, 10])
            frame.append(contentsOf: bytes)
            frame.append(contentsOf: [13, 10])
            enqueue(frame)
        } else if !exchange.isHead {
            // A HEAD answer has its head only.
            enqueue(bytes)
        }
        if outbound.count - outboundOffset > server.limits.maxBufferedResponseBytes {
            perform(.outputOverLimit)
            return
        }
        flushSoon()
    }

    /// Pieces produced in a burst (a run's events) go out in one `send`: the flush waits behind
    /// what the loop's queue already holds, which is where the rest of the burst is.
    private func flushSoon() {
        if outbound.count - outboundOffset >= Self.drainedBytes { return flush() }
        guard !flushQueued else { return }
        flushQueued = true
        loop.queue.async { [self] in
            flushQueued = false
            flush()
        }
    }

    func finishStream(serial: UInt64) {
        guard machine.phase == .streaming, let exchange, exchange.serial == serial else { return }
        if exchange.chunked { enqueue(Array("0\r\n\r\n".utf8)) }
        self.exchange = nil
        report(exchange, status: exchange.status ?? 200, bodyBytes: exchange.bodyBytes)
        exchange.writer?.markClosed()
        let now = Self.now
        let decodeNext = apply(machine.handle(.streamFinished(now: now)))
        flush(at: now)
        if decodeNext { processInput() }
    }

    /// An answer after which nothing more is read from this client (a malformed request, a limit).
    private func respondAndClose(_ response: HTTPResponse) {
        var response = response
        let requestID = server.requestIDs.next()
        response.headers.add("x-request-id", requestID)
        reportUnparsed(requestID: requestID, response: response)
        enqueue(response.serialized(version: .http1_1, keepAlive: false, includeBody: true))
        _ = apply(machine.handle(.protocolError))
        flush()
    }

    private func answerRequestTimeout() {
        var response = server.errorResponse(408, "The request head was not received in time.")
        let requestID = server.requestIDs.next()
        response.headers.add("x-request-id", requestID)
        reportUnparsed(requestID: requestID, response: response)
        enqueue(response.serialized(version: .http1_1, keepAlive: false, includeBody: true))
        let before = outboundOffset
        flush()
        // A client that will not even take the 408 is simply dropped.
        if !machine.isClosed, outboundOffset == before { perform(.failed) }
    }

    // MARK: Observing

    private func report(_ exchange: Exchange, status: Int, bodyBytes: Int) {
        guard let observer = server.observer else { return }
        let elapsed = DispatchTime.now().uptimeNanoseconds &- exchange.startedAt
        observer(HTTPExchangeRecord(requestID: exchange.requestID, method: exchange.method, route: exchange.route,
                                    status: status, bodyBytes: bodyBytes, nanoseconds: Int64(clamping: elapsed)))
    }

    /// An answer to input that never became a request: nothing was matched or timed.
    private func reportUnparsed(requestID: String, response: HTTPResponse) {
        server.observer?(HTTPExchangeRecord(requestID: requestID, method: nil, route: nil, status: response.status,
                                            bodyBytes: response.body.count, nanoseconds: 0))
    }

    // MARK: Writing

    /// Nothing waiting: the bytes are taken as they are, not copied. Once sent they are let go
    /// (`flush`), so a quiet connection, such as a stream between two events, holds no buffer.
    private func enqueue(_ bytes: [UInt8]) {
        if outboundOffset == outbound.count {
            outbound = bytes
            outboundOffset = 0
        } else {
            outbound.append(contentsOf: bytes)
        }
    }

    /// - Parameter now: the time, when the caller has just read it.
    private func flush(at now: Int64? = nil) {
        guard !machine.isClosed else { return }
        var progressed = false
        while outboundOffset < outbound.count {
            let result = outbound.withUnsafeBytes { buffer in
                transmit(UnsafeRawBufferPointer(rebasing: buffer[outboundOffset...]))
            }
            switch result {
            case .sent(let count):
                outboundOffset += count
                progressed = true
            case .blocked:
                perform(.outputBlocked(progressAt: progressed ? now ?? Self.now : nil))
                if outbound.count - outboundOffset <= Self.drainedBytes { wakeDrainWaiters() }
                return
            case .failed:
                perform(.failed)
                return
            }
        }
        outbound = []
        outboundOffset = 0
        perform(.outputFlushed(progressAt: progressed ? now ?? Self.now : nil))
        wakeDrainWaiters()
    }

    /// One write to the socket, or through the TLS session over it.
    private func transmit(_ bytes: UnsafeRawBufferPointer) -> TLSSession.Write {
        if let tls { return tls.write(bytes) }
        while true {
            let sent = send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
            if sent > 0 { return .sent(sent) }
            if sent < 0 && errno == EINTR { continue }
            return sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? .blocked : .failed
        }
    }

    private func wakeDrainWaiters() {
        guard !drainWaiters.isEmpty else { return }
        let waiters = drainWaiters
        drainWaiters = []
        for waiter in waiters { waiter() }
    }

    // MARK: Time limits

    /// The machine re-arms the timer itself when it fired before the current deadline.
    private func timerFired() {
        perform(.timerFired(now: Self.now))
    }

    // MARK: Lifecycle

    /// Asks the connection to finish what it is doing and then close.
    func beginShutdown() {
        perform(.shutdown)
    }

    /// At the connection limit: closes the connection if it is still idle.
    func evict() {
        perform(.evict)
    }

    func close() {
        perform(.failed)
    }

    /// Releases everything the connection holds; the machine has already moved to `closed`.
    private func teardown() {
        guard timer != nil else { return }
        timer?.cancel()
        timer = nil
        idleSince.store(0, ordering: .relaxed)
        if let exchange { report(exchange, status: exchange.status ?? HTTPExchangeRecord.clientClosed, bodyBytes: exchange.bodyBytes) }
        let writer = exchange?.writer
        exchange = nil
        writer?.markClosed()
        releaseBody()
        let bodyWaiter = bodyWaiter
        self.bodyWaiter = nil
        bodyWaiter?(.failed(status: 400, message: "The client closed the connection before its body was read."))
        wakeDrainWaiters()
        loop.unregister(fd: fd)
        if let tls, tls.established { tls.closeNotify() }
        tls = nil
        Glibc.close(fd)
        outbound = []
        decoder = HTTPRequestDecoder(maxBodyBytes: 0, maxHeaderBytes: 0)
        server.connectionClosed(self)
    }
}
