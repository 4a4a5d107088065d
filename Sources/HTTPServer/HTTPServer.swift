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

/// What connections share: settings, the handler, the set of live connections and the budget
/// of request bodies being received.
final class HTTPServerCore: Sendable {
    enum Admission {
        case admitted
        /// Admitted at the limit by closing this longest-idle keep-alive connection.
        case admittedEvicting(HTTPConnection)
        case refused
    }

    /// Evictions decided but not yet carried out; each lets the count run one over the limit.
    static let maxEvictionsInFlight = 64
    /// How long a connection must have been idle to be closed for a newcomer, so one accepted a
    /// moment ago is not closed before its first request could be read.
    static let evictableAfterNanoseconds: Int64 = 250_000_000

    let limits: ServerLimits
    let maxConnections: Int
    let handler: HTTPHandler
    let errorResponse: HTTPErrorResponder
    let streamsBody: HTTPRequestDecoder.BodyStreaming?
    let observer: HTTPExchangeObserver?
    let tls: TLSConfiguration?
    let requestIDs = RequestIDGenerator()
    private let connections = Mutex<(table: [ObjectIdentifier: HTTPConnection], evicting: Int)>(([:], 0))
    private let inflightBodyBytes = Atomic<Int>(0)

    init(limits: ServerLimits, maxConnections: Int, handler: @escaping HTTPHandler, errorResponse: @escaping HTTPErrorResponder,
         streamsBody: HTTPRequestDecoder.BodyStreaming?, observer: HTTPExchangeObserver?, tls: TLSConfiguration?) {
        self.limits = limits
        self.tls = tls
        self.observer = observer
        self.streamsBody = streamsBody
        self.maxConnections = maxConnections
        self.handler = handler
        self.errorResponse = errorResponse
    }

    /// Registers a connection. At the limit the longest-idle keep-alive connection makes room
    /// (as nginx does when it runs out of connections); only when every connection is busy is
    /// the new one refused.
    func admit(_ connection: HTTPConnection) -> Admission {
        connections.withLock { state in
            if state.table.count < maxConnections {
                state.table[ObjectIdentifier(connection)] = connection
                return .admitted
            }
            guard state.evicting < Self.maxEvictionsInFlight, let victim = Self.claimLongestIdle(state.table) else {
                return .refused
            }
            state.evicting += 1
            state.table[ObjectIdentifier(connection)] = connection
            return .admittedEvicting(victim)
        }
    }

    /// The idle connection that has waited longest, marked busy so it is not picked twice.
    private static func claimLongestIdle(_ table: [ObjectIdentifier: HTTPConnection]) -> HTTPConnection? {
        let cutoff = Int64(DispatchTime.now().uptimeNanoseconds) - evictableAfterNanoseconds
        while true {
            var oldest: (connection: HTTPConnection, since: Int64)?
            for connection in table.values {
                let since = connection.idleSince.load(ordering: .relaxed)
                if since > 0, since <= cutoff, since < oldest?.since ?? .max { oldest = (connection, since) }
            }
            guard let oldest else { return nil }
            if oldest.connection.idleSince.compareExchange(expected: oldest.since, desired: 0, ordering: .relaxed).exchanged {
                return oldest.connection
            }
        }
    }

    func evictionDone() {
        connections.withLock { $0.evicting -= 1 }
    }

    func connectionClosed(_ connection: HTTPConnection) {
        _ = connections.withLock { $0.table.removeValue(forKey: ObjectIdentifier(connection)) }
    }

    var connectionCount: Int { connections.withLock { $0.table.count } }

    var allConnections: [HTTPConnection] { connections.withLock { Array($0.table.values) } }

    /// Bodies above this size may not take the last quarter of the budget, so a few clients that
    /// announce large bodies and send them slowly cannot shut out small requests.
    static let smallBodyBytes = 64 * 1024

    /// Takes `count` bytes from the budget of bodies in memory for a body of `total` bytes. A body
    /// is always admitted when nothing else is in flight, so one request up to the body limit fits.
    func reserveBodyBytes(_ count: Int, forBodyOf total: Int) -> Bool {
        let ceiling = total <= Self.smallBodyBytes ? limits.maxInflightBodyBytes : limits.maxInflightBodyBytes / 4 * 3
        var current = inflightBodyBytes.load(ordering: .relaxed)
        while true {
            let (next, overflow) = current.addingReportingOverflow(count)
            if overflow || (current > 0 && next > ceiling) { return false }
            let (exchanged, original) = inflightBodyBytes.compareExchange(expected: current, desired: next, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
    }

    func releaseBodyBytes(_ count: Int) {
        inflightBodyBytes.subtract(count, ordering: .relaxed)
    }
}

/// An HTTP/1.1 server on non-blocking sockets. Connections are spread over a few serial I/O
/// queues (one per core); none owns a thread.
public final class HTTPServer: Sendable {
    public let port: Int
    public let host: String
    /// Why the connection limit in force is below the configured one (the descriptor limit would
    /// not hold that many next to the server's own descriptors), for the log; nil when it is not.
    public let connectionLimitNotice: String?
    private let core: HTTPServerCore
    private let loops: [EventLoop]
    private let listener: Int32
    private let accepting: Mutex<AcceptState>
    private let nextLoop = Atomic<Int>(0)

    /// - Parameters:
    ///   - onError: told about failures that affect one connection only (an epoll call
    ///     refused), which the server survives.
    ///   - turnStarted: told, on a loop's queue, when the loop is about to serve sockets that
    ///     became ready (its lane), before any of their requests.
    ///   - observer: told about every exchange as it ends (the access log, request metrics).
    ///   - tls: serve HTTPS with these certificate and key; nil for plain HTTP.
    ///   - streamsBody: picks the requests whose bodies reach the handler as a stream
    ///     (`HTTPRequest.bodyStream`), with their own size limit, instead of whole in memory.
    public init(
        host: String, port: Int, limits: ServerLimits, loopCount: Int = System.coreCount,
        onError: @escaping @Sendable (String) -> Void = { _ in },
        streamsBody: HTTPRequestDecoder.BodyStreaming? = nil,
        turnStarted: (@Sendable (_ lane: Int) -> Void)? = nil,
        observer: HTTPExchangeObserver? = nil,
        tls: TLSConfiguration? = nil,
        errorResponse: @escaping HTTPErrorResponder, handler: @escaping HTTPHandler
    ) throws {
        let descriptors = Socket.raiseDescriptorLimit()
        let ceiling = max(1, descriptors - limits.reservedDescriptors - HTTPServerCore.maxEvictionsInFlight)
        let maxConnections = min(limits.maxConnections, ceiling)
        connectionLimitNotice = limits.maxConnections > ceiling
            ? "connection limit lowered from \(limits.maxConnections) to \(ceiling): the process may open \(descriptors) files, and \(descriptors - ceiling) stay reserved for the database, upstream calls and the runtime (raise `ulimit -n` to serve more)"
            : nil
        let (fd, boundPort) = try Socket.listen(host: host, port: port, backlog: 4096)
        self.listener = fd
        self.port = boundPort
        self.host = host
        core = HTTPServerCore(limits: limits, maxConnections: maxConnections, handler: handler, errorResponse: errorResponse,
                              streamsBody: streamsBody, observer: observer, tls: tls)
        // OpenSSL writes with write(2), which has no MSG_NOSIGNAL: a vanished client must not kill the process.
        if tls != nil { signal(SIGPIPE, SIG_IGN) }
        do {
            loops = try (0..<max(1, loopCount)).map { try EventLoop(index: $0, onError: onError, turnStarted: turnStarted) }
        } catch {
            Glibc.close(fd)
            throw error
        }
        let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: loops[0].queue)
        accepting = Mutex(AcceptState(source: source, spare: Socket.openSpareDescriptor()))
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
                var session: TLSSession?
                if let tls = core.tls {
                    guard let made = tls.session(fd: fd) else {
                        Glibc.close(fd)
                        continue
                    }
                    session = made
                }
                let connection = HTTPConnection(fd: fd, loop: loop, server: core, tls: session)
                switch core.admit(connection) {
                case .admitted:
                    break
                case .admittedEvicting(let victim):
                    let core = core
                    victim.loop.queue.async {
                        victim.evict()
                        core.evictionDone()
                    }
                case .refused:
                    refuse(fd)
                    continue
                }
                loop.queue.async { connection.start() }
            case .failure(let error):
                if error.code == EMFILE || error.code == ENFILE {
                    refuseWithSpareDescriptor()
                }
                return
            }
        }
    }

    /// Over the connection limit: a best-effort 503 on the way out.
    private func refuse(_ fd: Int32) {
        // A TLS client could not read a plain answer, and a handshake is too much for a refusal.
        guard core.tls == nil else {
            Glibc.close(fd)
            return
        }
        var response = core.errorResponse(503, "The server is at its connection limit; try again shortly.")
        response.headers.add("x-request-id", core.requestIDs.next())
        response.headers.add("retry-after", "1")
        let bytes = response.serialized(version: .http1_1, keepAlive: false, includeBody: true)
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        Glibc.close(fd)
    }

    /// Out of descriptors: the one kept in reserve is given up to accept the waiting client and
    /// tell it 503, then taken back; accepting pauses briefly if even that fails, rather than
    /// spinning on a listener that stays readable.
    private func refuseWithSpareDescriptor() {
        let freed = accepting.withLock { state -> Bool in
            guard state.spare >= 0 else { return false }
            Glibc.close(state.spare)
            state.spare = -1
            return true
        }
        if freed, case .success(let fd)? = Socket.accept(listener) {
            refuse(fd)
        }
        let spare = Socket.openSpareDescriptor()
        accepting.withLock { $0.spare = spare }
        if spare < 0 { pauseAccepting(for: 0.1) }
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
    /// A descriptor held back for accepting (and refusing) a client when the process has none left.
    var spare: Int32
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
