import CEpoll
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// One client connection: reads and decodes requests, hands them to the handler one at a time
/// (so pipelined requests are answered in order), and writes responses without ever blocking.
///
/// `@unchecked Sendable`: every mutable property is touched only on `loop.queue` (a serial
/// queue); other threads reach the connection only through `loop.queue.async`.
final class HTTPConnection: @unchecked Sendable {
    private enum Phase {
        /// Waiting for, or reading, a request.
        case reading
        /// A handler holds the request; its responder will call back with `serial`.
        case handling(serial: UInt64, version: HTTPVersion, keepAlive: Bool, isHead: Bool)
        /// A chunked response body is being written.
        case streaming(serial: UInt64, version: HTTPVersion, keepAlive: Bool, writer: HTTPStreamWriter)
        case closed
    }

    let loop: EventLoop
    private let fd: Int32
    private let server: HTTPServerCore
    private var decoder: HTTPRequestDecoder
    private var phase = Phase.reading
    private var serial: UInt64 = 0
    private var timer: (any DispatchSourceTimer)?
    private var readSuspended = false
    private var writeArmed = false
    /// The events the loop's epoll watches for this socket.
    private var interest: UInt32 = 0
    private var outbound: [UInt8] = []
    private var outboundOffset = 0
    private var closeWhenFlushed = false
    private var peerClosed = false
    private var shuttingDown = false
    private var deadline: DispatchTime?
    private var timerArmedFor: DispatchTime?
    private var headStartedAt: DispatchTime?
    private var lastProgress = DispatchTime.now()

    init(fd: Int32, loop: EventLoop, server: HTTPServerCore) {
        self.fd = fd
        self.loop = loop
        self.server = server
        decoder = HTTPRequestDecoder(maxBodyBytes: server.limits.maxBodyBytes, maxHeaderBytes: server.limits.maxHeaderBytes)
    }

    /// Starts watching the socket; call on `loop.queue`.
    func start() {
        let timer = DispatchSource.makeTimerSource(queue: loop.queue)
        timer.setEventHandler { [weak self] in self?.timerFired() }
        timer.schedule(deadline: .distantFuture)
        self.timer = timer
        timer.activate()
        interest = EventLoop.Interest.read
        loop.register(self, fd: fd, events: interest)
        refreshDeadline()
    }

    /// What the loop's epoll reported for this socket.
    func handle(events: UInt32) {
        if events & (RUNNEL_EPOLLERR | RUNNEL_EPOLLHUP) != 0, readSuspended || events & RUNNEL_EPOLLERR != 0 {
            // Both directions are gone (or the socket failed): nothing can be read or sent.
            close()
            return
        }
        if events & RUNNEL_EPOLLOUT != 0, writeArmed { flush() }
        if events & (RUNNEL_EPOLLIN | RUNNEL_EPOLLRDHUP | RUNNEL_EPOLLHUP) != 0, !readSuspended, !isClosed { readable() }
    }

    private func updateInterest() {
        guard !isClosed else { return }
        let wanted = (readSuspended ? 0 : EventLoop.Interest.read) | (writeArmed ? EventLoop.Interest.write : 0)
        guard wanted != interest else { return }
        interest = wanted
        loop.watch(fd: fd, events: wanted)
    }

    // MARK: Reading

    private func readable() {
        guard !isClosed else { return }
        var received = false
        while true {
            let count = recv(fd, loop.scratch.baseAddress, loop.scratch.count, 0)
            if count > 0 {
                received = true
                decoder.append(UnsafeRawBufferPointer(rebasing: loop.scratch[0..<count]))
                if count < loop.scratch.count { break }
                // A full buffer: yield to other connections instead of draining a fast sender.
                break
            } else if count == 0 {
                peerClosed = true
                break
            } else if errno == EINTR {
                continue
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                break
            } else {
                close()
                return
            }
        }
        if received { lastProgress = .now() }
        processInput()
        guard !isClosed, peerClosed else { return }
        switch phase {
        case .reading:
            close()
        case .handling:
            // Half-closed: the answer can still be written, then the connection ends.
            closeWhenFlushed = true
            suspendReading()
        case .streaming:
            close()
        case .closed:
            break
        }
    }

    /// Hands complete requests to the handler while the connection is free for one.
    private func processInput() {
        while case .reading = phase, !isClosed, !closeWhenFlushed {
            // Back-pressure: a client that pipelines without reading its answers waits.
            if outbound.count - outboundOffset > server.limits.maxBufferedResponseBytes {
                suspendReading()
                return
            }
            switch decoder.next() {
            case .request(let request):
                headStartedAt = nil
                begin(request)
            case .expectsContinue:
                enqueue(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
                flush()
            case .needMoreData:
                if decoder.isReadingHead, headStartedAt == nil { headStartedAt = .now() }
                if shuttingDown, decoder.bufferedByteCount == 0 { closeWhenFlushed = true; flush() }
                refreshDeadline()
                return
            case .failure(let error):
                respondToProtocolError(error)
                return
            }
        }
        refreshDeadline()
    }

    private func begin(_ request: HTTPRequest) {
        serial &+= 1
        let keepAlive = request.keepAlive && !shuttingDown
        phase = .handling(serial: serial, version: request.version, keepAlive: keepAlive, isHead: request.method == "HEAD")
        let responder = HTTPResponder(connection: self, serial: serial, requestID: server.requestIDs.next())
        server.handler(request, responder)
    }

    // MARK: Answering

    func complete(serial: UInt64, response: HTTPResponse, requestID: String) {
        guard case .handling(let current, let version, let keepAlive, let isHead) = phase, current == serial else { return }
        var response = response
        if response.headers["x-request-id"] == nil { response.headers.add("x-request-id", requestID) }
        let keep = keepAlive && !shuttingDown && !peerClosed
        enqueue(response.serialized(version: version, keepAlive: keep, includeBody: !isHead))
        phase = .reading
        if !keep { closeWhenFlushed = true }
        lastProgress = .now()
        flush()
        processInput()
    }

    func beginStream(serial: UInt64, status: Int, headers: HTTPHeaders, requestID: String, writer: HTTPStreamWriter) {
        guard case .handling(let current, let version, let keepAlive, _) = phase, current == serial else {
            writer.markClosed()
            return
        }
        var out: [UInt8] = []
        HTTPResponse.appendStatusLine(status, version: version, to: &out)
        for field in headers.fields where field.name != "content-length" && field.name != "transfer-encoding" && field.name != "connection" {
            HTTPResponse.appendField(field.name, field.value, to: &out)
        }
        if headers["x-request-id"] == nil { HTTPResponse.appendField("x-request-id", requestID, to: &out) }
        // HTTP/1.0 has no chunked framing: its body simply ends when the connection closes.
        let keep = keepAlive && version == .http1_1 && !shuttingDown && !peerClosed
        if version == .http1_1 { HTTPResponse.appendField("transfer-encoding", "chunked", to: &out) }
        if !keep { HTTPResponse.appendField("connection", "close", to: &out) }
        out.append(contentsOf: [13, 10])
        phase = .streaming(serial: serial, version: version, keepAlive: keep, writer: writer)
        enqueue(out)
        flush()
    }

    func writeStreamChunk(serial: UInt64, bytes: [UInt8]) {
        guard case .streaming(let current, let version, _, _) = phase, current == serial else { return }
        if version == .http1_1 {
            var frame = Array(String(bytes.count, radix: 16).utf8)
            frame.append(contentsOf: [13, 10])
            frame.append(contentsOf: bytes)
            frame.append(contentsOf: [13, 10])
            enqueue(frame)
        } else {
            enqueue(bytes)
        }
        if outbound.count - outboundOffset > server.limits.maxBufferedResponseBytes {
            // The reader fell too far behind; drop it rather than buffer without bound.
            close()
            return
        }
        flush()
    }

    func finishStream(serial: UInt64) {
        guard case .streaming(let current, let version, let keepAlive, let writer) = phase, current == serial else { return }
        if version == .http1_1 { enqueue(Array("0\r\n\r\n".utf8)) }
        phase = .reading
        writer.markClosed()
        if !keepAlive { closeWhenFlushed = true }
        lastProgress = .now()
        flush()
        processInput()
    }

    private func respondToProtocolError(_ error: HTTPParseError) {
        var response = server.errorResponse(error.status, error.message)
        response.headers.add("x-request-id", server.requestIDs.next())
        enqueue(response.serialized(version: .http1_1, keepAlive: false, includeBody: true))
        closeWhenFlushed = true
        suspendReading()
        flush()
    }

    // MARK: Writing

    private func enqueue(_ bytes: [UInt8]) {
        if outboundOffset == outbound.count {
            outbound.removeAll(keepingCapacity: outbound.capacity <= 256 * 1024)
            outboundOffset = 0
        }
        outbound.append(contentsOf: bytes)
    }

    private func flush() {
        guard !isClosed else { return }
        while outboundOffset < outbound.count {
            let sent = outbound.withUnsafeBytes { buffer in
                send(fd, buffer.baseAddress! + outboundOffset, buffer.count - outboundOffset, Int32(MSG_NOSIGNAL))
            }
            if sent > 0 {
                outboundOffset += sent
                lastProgress = .now()
            } else if sent < 0 && errno == EINTR {
                continue
            } else if sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                armWrite()
                refreshDeadline()
                return
            } else {
                close()
                return
            }
        }
        disarmWrite()
        if closeWhenFlushed {
            close()
            return
        }
        if readSuspended, !peerClosed {
            resumeReading()
            processInput()
        }
        refreshDeadline()
    }

    private func armWrite() {
        guard !writeArmed else { return }
        writeArmed = true
        updateInterest()
    }

    private func disarmWrite() {
        guard writeArmed else { return }
        writeArmed = false
        updateInterest()
    }

    private func suspendReading() {
        guard !readSuspended else { return }
        readSuspended = true
        updateInterest()
    }

    private func resumeReading() {
        guard readSuspended else { return }
        readSuspended = false
        updateInterest()
    }

    // MARK: Time limits

    /// Works out when this connection should be cut off, given what it is waiting for.
    private func refreshDeadline() {
        let limits = server.limits
        var next: DispatchTime?
        if outboundOffset < outbound.count {
            next = lastProgress + limits.keepAliveTimeout
        } else {
            switch phase {
            case .handling, .streaming, .closed:
                next = nil
            case .reading:
                if let headStartedAt, decoder.isReadingHead {
                    next = headStartedAt + limits.headerReadTimeout
                } else {
                    next = lastProgress + limits.keepAliveTimeout
                }
            }
        }
        deadline = next
        // The timer is only moved earlier here; when it fires early it re-arms for the current
        // deadline, so the common case (a later deadline) costs no timer call.
        if let next, timerArmedFor.map({ next < $0 }) ?? true {
            timerArmedFor = next
            timer?.schedule(deadline: next)
        }
    }

    private func timerFired() {
        timerArmedFor = nil
        guard !isClosed, let deadline else { return }
        if deadline > .now() {
            timerArmedFor = deadline
            timer?.schedule(deadline: deadline)
            return
        }
        if case .reading = phase, decoder.isReadingHead, outboundOffset == outbound.count {
            var response = server.errorResponse(408, "The request head was not received in time.")
            response.headers.add("x-request-id", server.requestIDs.next())
            enqueue(response.serialized(version: .http1_1, keepAlive: false, includeBody: true))
            closeWhenFlushed = true
            let saved = outboundOffset
            flush()
            if !isClosed, outboundOffset == saved { close() }
            return
        }
        close()
    }

    // MARK: Lifecycle

    private var isClosed: Bool {
        if case .closed = phase { return true }
        return false
    }

    /// Asks the connection to finish what it is doing and then close.
    func beginShutdown() {
        shuttingDown = true
        if case .reading = phase, !decoder.hasPartialRequest, outboundOffset == outbound.count {
            close()
        }
    }

    func close() {
        guard !isClosed else { return }
        let previous = phase
        phase = .closed
        if case .streaming(_, _, _, let writer) = previous { writer.markClosed() }
        timer?.cancel()
        timer = nil
        loop.unregister(fd: fd)
        Glibc.close(fd)
        outbound = []
        server.connectionClosed(self)
    }
}
