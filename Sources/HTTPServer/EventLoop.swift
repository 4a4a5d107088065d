import CEpoll
import Dispatch
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
    let scratch: UnsafeMutableRawBufferPointer
    private let epoll: Int32
    private var source: (any DispatchSourceRead)?
    private var connections: [Int32: HTTPConnection] = [:]
    private var readyFDs = [Int32](repeating: 0, count: 256)
    private var readyEvents = [UInt32](repeating: 0, count: 256)

    init(index: Int) {
        queue = DispatchQueue(label: "runnel.io.\(index)", qos: .userInitiated)
        scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        epoll = runnel_epoll_create()
        precondition(epoll >= 0, "epoll_create1 failed: \(errno)")
        let source = DispatchSource.makeReadSource(fileDescriptor: epoll, queue: queue)
        source.setEventHandler { [unowned self] in dispatchReady() }
        self.source = source
        source.activate()
    }

    deinit {
        source?.cancel()
        scratch.deallocate()
    }

    enum Interest {
        static let read = RUNNEL_EPOLLIN | RUNNEL_EPOLLRDHUP
        static let write = RUNNEL_EPOLLOUT
    }

    /// On `queue`: starts watching a connection's socket.
    func register(_ connection: HTTPConnection, fd: Int32, events: UInt32) {
        connections[fd] = connection
        _ = runnel_epoll_control(epoll, 1, fd, events)
    }

    func watch(fd: Int32, events: UInt32) {
        _ = runnel_epoll_control(epoll, 3, fd, events)
    }

    /// On `queue`: stops watching before the descriptor is closed, so a reused number is never
    /// mistaken for this connection.
    func unregister(fd: Int32) {
        _ = runnel_epoll_control(epoll, 2, fd, 0)
        connections[fd] = nil
    }

    private func dispatchReady() {
        let count = readyFDs.withUnsafeMutableBufferPointer { fds in
            readyEvents.withUnsafeMutableBufferPointer { events in
                runnel_epoll_ready(epoll, fds.baseAddress, events.baseAddress, Int32(fds.count))
            }
        }
        guard count > 0 else { return }
        for index in 0..<Int(count) {
            connections[readyFDs[index]]?.handle(events: readyEvents[index])
        }
    }
}
