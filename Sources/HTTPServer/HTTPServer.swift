import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Called on an I/O queue for every request; must not block. Answer through the responder.
public typealias HTTPHandler = @Sendable (HTTPRequest, HTTPResponder) -> Void

/// Builds the response for an HTTP-level error (malformed request, limits), so the server can
/// answer in the application's error format without knowing it.
public typealias HTTPErrorResponder = @Sendable (_ status: Int, _ message: String) -> HTTPResponse

/// What connections share: settings, the handler, and the set of live connections.
final class HTTPServerCore: Sendable {
    let limits: ServerLimits
    let handler: HTTPHandler
    let errorResponse: HTTPErrorResponder
    let requestIDs = RequestIDGenerator()
    private let connections = Mutex<[ObjectIdentifier: HTTPConnection]>([:])

    init(limits: ServerLimits, handler: @escaping HTTPHandler, errorResponse: @escaping HTTPErrorResponder) {
        self.limits = limits
        self.handler = handler
        self.errorResponse = errorResponse
    }

    /// Registers a connection unless the limit is reached.
    func admit(_ connection: HTTPConnection) -> Bool {
        connections.withLock { table in
            guard table.count < limits.maxConnections else { return false }
            table[ObjectIdentifier(connection)] = connection
            return true
        }
    }

    func connectionClosed(_ connection: HTTPConnection) {
        _ = connections.withLock { $0.removeValue(forKey: ObjectIdentifier(connection)) }
    }

    var connectionCount: Int { connections.withLock { $0.count } }

    var allConnections: [HTTPConnection] { connections.withLock { Array($0.values) } }
}

/// An HTTP/1.1 server on non-blocking sockets. Connections are spread over a few serial I/O
/// queues (one per core); none owns a thread.
public final class HTTPServer: Sendable {
    public let port: Int
    public let host: String
    private let core: HTTPServerCore
    private let loops: [EventLoop]
    private let listener: Int32
    private let accepting: Mutex<AcceptState>
    private let nextLoop = Atomic<Int>(0)

    public init(
        host: String, port: Int, limits: ServerLimits, loopCount: Int = System.coreCount,
        errorResponse: @escaping HTTPErrorResponder, handler: @escaping HTTPHandler
    ) throws {
        Socket.raiseDescriptorLimit()
        let (fd, boundPort) = try Socket.listen(host: host, port: port, backlog: 4096)
        self.listener = fd
        self.port = boundPort
        self.host = host
        core = HTTPServerCore(limits: limits, handler: handler, errorResponse: errorResponse)
        loops = (0..<max(1, loopCount)).map(EventLoop.init(index:))
        let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: loops[0].queue)
        accepting = Mutex(AcceptState(source: source))
        source.setEventHandler { [unowned self] in acceptPending() }
        source.setCancelHandler { Glibc.close(fd) }
        source.activate()
    }

    public var connectionCount: Int { core.connectionCount }

    private func acceptPending() {
        // Bounded, so a connection storm cannot keep this queue from serving requests.
        for _ in 0..<256 {
            guard let result = Socket.accept(listener) else { return }
            switch result {
            case .success(let fd):
                let loop = loops[nextLoop.add(1, ordering: .relaxed).newValue % loops.count]
                let connection = HTTPConnection(fd: fd, loop: loop, server: core)
                guard core.admit(connection) else {
                    refuse(fd)
                    continue
                }
                loop.queue.async { connection.start() }
            case .failure(let error):
                if error.code == EMFILE || error.code == ENFILE {
                    // Out of descriptors: pause accepting briefly instead of spinning on the event.
                    pauseAccepting(for: 0.1)
                }
                return
            }
        }
    }

    /// Over the connection limit: a best-effort 503 on the way out.
    private func refuse(_ fd: Int32) {
        var response = core.errorResponse(503, "The server is at its connection limit; try again shortly.")
        response.headers.add("x-request-id", core.requestIDs.next())
        response.headers.add("retry-after", "1")
        let bytes = response.serialized(version: .http1_1, keepAlive: false, includeBody: true)
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        Glibc.close(fd)
    }

    private func pauseAccepting(for seconds: Double) {
        accepting.withLock { state in
            guard let source = state.source, !state.paused else { return }
            state.paused = true
            source.suspend()
        }
        loops[0].queue.asyncAfter(deadline: .now() + seconds) { [self] in
            accepting.withLock { state in
                guard state.paused else { return }
                state.paused = false
                state.source?.resume()
            }
        }
    }

    /// Stops accepting, lets in-flight requests finish for up to `gracePeriod` seconds, then
    /// closes whatever is left. Blocks the caller; do not call it from an I/O queue.
    public func shutdown(gracePeriod: Double) {
        accepting.withLock { state in
            if state.paused { state.source?.resume() }
            state.paused = false
            state.source?.cancel()
            state.source = nil
        }
        for connection in core.allConnections {
            connection.loop.queue.async { connection.beginShutdown() }
        }
        let deadline = DispatchTime.now() + gracePeriod
        while core.connectionCount > 0, DispatchTime.now() < deadline {
            usleep(10_000)
        }
        for connection in core.allConnections {
            connection.loop.queue.sync { connection.close() }
        }
    }
}

/// The listening socket's source, and whether it is paused (a suspended source must be resumed
/// before it is cancelled, or its cancel handler never runs and the socket stays open).
/// `@unchecked Sendable`: only ever reached through the server's Mutex.
private struct AcceptState: @unchecked Sendable {
    var source: (any DispatchSourceRead)?
    var paused = false
}

public enum System {
    /// Cores this process may run on: the affinity mask (taskset, container cpusets), not just
    /// the cores the machine has, so a pinned server does not run more loops than it has cores.
    public static var coreCount: Int {
        if let count = allowedCPUs(), count > 0 { return count }
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// Counts the bits of `Cpus_allowed` in /proc/self/status (Glibc does not export
    /// `sched_getaffinity` to Swift).
    static func allowedCPUs() -> Int? {
        guard let file = fopen("/proc/self/status", "r") else { return nil }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 4096)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard text.hasPrefix("Cpus_allowed:") else { continue }
            return text.dropFirst("Cpus_allowed:".count).reduce(0) { count, character in
                count + (character.hexDigitValue?.nonzeroBitCount ?? 0)
            }
        }
        return nil
    }
}
