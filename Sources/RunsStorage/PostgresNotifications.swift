import Dispatch
import Synchronization

/// Text messages between the processes that share a database: what lets nodes that know each
/// other only through the database pass events and cancels.
public protocol NotificationChannel: Sendable {
    /// The most bytes one payload may hold.
    var maxPayloadBytes: Int { get }
    /// Starts listening: `receive` gets every payload sent on the channel (this process's own
    /// included), in each sender's order, from one serial queue; `resumed` is told when
    /// listening starts again after an interruption, during which payloads were missed.
    func start(receive: @escaping @Sendable (String) -> Void, resumed: @escaping @Sendable () -> Void)
    /// Sends the payloads in order, blocking; false when the database could not be reached.
    func send(_ payloads: [String]) -> Bool
    func stop()
}

/// The channel over PostgreSQL's LISTEN/NOTIFY: one connection sends, another listens, each
/// reopened when the server drops it. Payloads may hold any text (NUL included).
public final class PostgresNotifications: NotificationChannel {
    static let channel = "runnel"
    /// NOTIFY refuses payloads of 8,000 bytes or more, and the escape that lets text hold NUL
    /// may double a payload's length (`PostgresText`).
    public var maxPayloadBytes: Int { 3_900 }

    private let store: PostgresStore
    private let log: @Sendable (String) -> Void
    private let sendQueue = DispatchQueue(label: "runnel.notify.send")
    private let listenQueue = DispatchQueue(label: "runnel.notify.listen")
    /// Touched only on `sendQueue`.
    nonisolated(unsafe) private var sender: PostgresConnection?
    /// Touched only on `listenQueue`.
    nonisolated(unsafe) private var listener: PostgresConnection?
    nonisolated(unsafe) private var source: (any DispatchSourceRead)?
    nonisolated(unsafe) private var receive: (@Sendable (String) -> Void)?
    nonisolated(unsafe) private var resumed: (@Sendable () -> Void)?
    nonisolated(unsafe) private var interrupted = false
    private let stopped = Atomic<Bool>(false)

    /// - Parameter log: told about connection trouble (never a password: messages are scrubbed).
    public init(store: PostgresStore, log: @escaping @Sendable (String) -> Void) {
        self.store = store
        self.log = log
    }

    public func start(receive: @escaping @Sendable (String) -> Void, resumed: @escaping @Sendable () -> Void) {
        listenQueue.sync {
            self.receive = receive
            self.resumed = resumed
            connectListener()
        }
    }

    public func stop() {
        stopped.store(true, ordering: .releasing)
        listenQueue.sync {
            source?.cancel()
            source = nil
            listener = nil
        }
        sendQueue.sync { sender = nil }
    }

    public func send(_ payloads: [String]) -> Bool {
        sendQueue.sync {
            for payload in payloads where !sendOne(payload) { return false }
            return true
        }
    }

    /// One notification, reconnecting once if the connection broke.
    private func sendOne(_ payload: String) -> Bool {
        for attempt in 0..<2 {
            do {
                if sender == nil || sender?.isUsable == false { sender = try store.openDedicatedConnection() }
                try sender?.run("SELECT pg_notify(?, ?)", [.text(Self.channel), .text(payload)])
                return true
            } catch {
                sender = nil
                if attempt == 1 { log("could not notify the other nodes: \(error)") }
            }
        }
        return false
    }

    private func connectListener() {
        guard !stopped.load(ordering: .acquiring) else { return }
        do {
            let connection = try store.openDedicatedConnection()
            try connection.execute("LISTEN \(Self.channel)")
            listener = connection
            let source = DispatchSource.makeReadSource(fileDescriptor: connection.socket, queue: listenQueue)
            source.setEventHandler { [weak self] in self?.readNotifications() }
            source.activate()
            self.source = source
            if interrupted {
                interrupted = false
                resumed?()
            }
        } catch {
            log("cannot listen for the other nodes (retrying): \(error)")
            listenQueue.asyncAfter(deadline: .now() + 0.5) { [weak self] in self?.connectListener() }
        }
    }

    private func readNotifications() {
        guard let listener else { return }
        guard listener.consumeInput(), listener.isUsable else {
            log("lost the connection listening for the other nodes; reconnecting")
            source?.cancel()
            source = nil
            self.listener = nil
            interrupted = true
            listenQueue.asyncAfter(deadline: .now() + 0.2) { [weak self] in self?.connectListener() }
            return
        }
        for (_, payload) in listener.takeNotifications() {
            receive?(PostgresText.decode(payload))
        }
    }
}
