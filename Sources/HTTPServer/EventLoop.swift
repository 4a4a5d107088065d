import CEpoll
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A serial queue that runs the I/O of many connections. The connections' sockets sit in one
/// epoll instance of the loop, and a single Dispatch source watches that instance: one wake-up
/// serves every connection that is ready, instead of one source (and one re-arm) per socket.
///
/// `@unchecked Sendable`: everything mutable is touched only by code running on `queue`.
final class EventLoop: @unchecked Sendable {
    let queue: DispatchQueue
    /// The loop's number, 0 up to the server's loop count: what handlers see as their lane.
    let index: Int
    let scratch: UnsafeMutableRawBufferPointer
    private let epoll: Int32
    private var source: (any DispatchSourceRead)?
    private var connections: [Int32: HTTPConnection] = [:]
    private var readyFDs = [Int32](repeating: 0, count: 256)
    private var readyEvents = [UInt32](repeating: 0, count: 256)
    private let onError: @Sendable (String) -> Void
    private let turnStarted: (@Sendable (Int) -> Void)?
    /// Stream writers with pieces to hand over, and the source that wakes the loop for them. A
    /// `queue.async` per piece would allocate a Dispatch continuation each time, and Dispatch
    /// keeps up to 1,024 freed ones per thread: after 15,000 streams those cached continuations,
    /// spread over malloc's pages, held 10 MB that could not go back to the system.
    private let pendingWriters = Mutex<[HTTPStreamWriter]>([])
    private var drainingWriters: [HTTPStreamWriter] = []
    private var wakeForWriters: (any DispatchSourceUserDataAdd)?

    init(index: Int, onError: @escaping @Sendable (String) -> Void, turnStarted: (@Sendable (Int) -> Void)? = nil) throws(SocketError) {
        let epoll = runnel_epoll_create()
        guard epoll >= 0 else { throw SocketError(operation: "epoll_create1", code: errno) }
        self.epoll = epoll
        self.onError = onError
        self.turnStarted = turnStarted
        self.index = index
        queue = DispatchQueue(label: "runnel.io.\(index)", qos: .userInitiated)
        scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        let source = DispatchSource.makeReadSource(fileDescriptor: epoll, queue: queue)
        source.setEventHandler { [unowned self] in dispatchReady() }
        source.setCancelHandler { Glibc.close(epoll) }
        self.source = source
        source.activate()
        let wake = DispatchSource.makeUserDataAddSource(queue: queue)
        wake.setEventHandler { [unowned self] in deliverPendingWriters() }
        wakeForWriters = wake
        wake.activate()
    }

    deinit {
        // The epoll descriptor is closed by the source's cancel handler, once Dispatch has let go of it.
        source?.cancel()
        wakeForWriters?.cancel()
        scratch.deallocate()
    }

    enum Interest {
        static let read = RUNNEL_EPOLLIN | RUNNEL_EPOLLRDHUP
        static let hangUp = RUNNEL_EPOLLRDHUP
        static let write = RUNNEL_EPOLLOUT
    }

    /// On `queue`: starts watching a connection's socket for reads; false when epoll refused it.
    func register(_ connection: HTTPConnection, fd: Int32) -> Bool {
        let code = runnel_epoll_add(epoll, fd, Interest.read)
        guard code == 0 else {
            report("epoll add", fd: fd, code: code)
            return false
        }
        connections[fd] = connection
        return true
    }

    /// On `queue`: changes what is watched on a registered socket; false when epoll refused it.
    func watch(fd: Int32, events: UInt32) -> Bool {
        let code = runnel_epoll_modify(epoll, fd, events)
        guard code == 0 else {
            report("epoll modify", fd: fd, code: code)
            return false
        }
        return true
    }

    /// On `queue`: stops watching before the descriptor is closed, so a reused number is never
    /// mistaken for this connection.
    func unregister(fd: Int32) {
        guard connections.removeValue(forKey: fd) != nil else { return }
        let code = runnel_epoll_remove(epoll, fd)
        if code != 0 { report("epoll remove", fd: fd, code: code) }
    }

    private func report(_ operation: String, fd: Int32, code: Int32) {
        onError("\(operation) of socket \(fd) failed: \(String(cString: strerror(code)))")
    }

    /// From any thread: `writer` has something for its connection, handed over on `queue`.
    func schedule(_ writer: HTTPStreamWriter) {
        let first = pendingWriters.withLock { writers in
            writers.append(writer)
            return writers.count == 1
        }
        if first { wakeForWriters?.add(data: 1) }
    }

    private func deliverPendingWriters() {
        pendingWriters.withLock { swap(&$0, &drainingWriters) }
        for writer in drainingWriters { writer.deliverPending() }
        drainingWriters.removeAll(keepingCapacity: true)
    }

    private func dispatchReady() {
        let count = readyFDs.withUnsafeMutableBufferPointer { fds in
            readyEvents.withUnsafeMutableBufferPointer { events in
                runnel_epoll_ready(epoll, fds.baseAddress, events.baseAddress, Int32(fds.count))
            }
        }
        guard count > 0 else { return }
        turnStarted?(self.index)
        for index in 0..<Int(count) {
            connections[readyFDs[index]]?.handle(events: readyEvents[index])
        }
    }
}
