import DequeModule
import Dispatch
import Observability
import Synchronization

public struct PostgresOptions: Sendable {
    /// Connections the pool may open; work beyond them waits its turn.
    public var poolSize: Int
    public var statementTimeoutMilliseconds: Int
    /// How the server lists this process's connections: `runnel <node>` tells nodes apart.
    public var applicationName: String

    public init(poolSize: Int = 8, statementTimeoutMilliseconds: Int = 15_000, applicationName: String = "runnel") {
        self.poolSize = poolSize
        self.statementTimeoutMilliseconds = statementTimeoutMilliseconds
        self.applicationName = applicationName
    }
}

/// A pooled slot: a serial queue and the connection it owns, opened on first use and again after
/// the server dropped it, so a restarted PostgreSQL is picked up by the next request.
/// `@unchecked Sendable`: `connection` is only touched on `queue`.
private final class PostgresSlot: @unchecked Sendable {
    let queue: DispatchQueue
    var connection: PostgresConnection?

    init(index: Int) {
        queue = DispatchQueue(label: "runnel.pg.\(index)", qos: .userInitiated)
    }
}

/// PostgreSQL through a bounded pool of libpq connections. Blocking libpq calls run on the
/// slots' own queues, never on an I/O queue.
public final class PostgresStore: Store {
    public let url: PostgresURL
    public let options: PostgresOptions
    public var dialect: SQLDialect { .postgresql }
    private let slots: [PostgresSlot]
    private let timers = Telemetry.DatabaseTimers(database: "postgresql")
    private let pool: Mutex<(idle: [Int], waiting: Deque<@Sendable (Int) -> Void>)>

    /// Connects once (so a wrong URL fails at start, not at the first request) and migrates.
    public init(url: PostgresURL, options: PostgresOptions = PostgresOptions(), migrations: [Migration]? = nil, now: Int) throws {
        self.url = url
        self.options = options
        slots = (0..<max(1, options.poolSize)).map(PostgresSlot.init(index:))
        pool = Mutex((Array(slots.indices.reversed()), []))
        let first = try PostgresConnection(url: url, statementTimeoutMilliseconds: options.statementTimeoutMilliseconds,
                               applicationName: options.applicationName)
        try MigrationRunner.apply(try migrations ?? Migration.embedded(.postgresql), to: first, now: now, location: url.description)
        slots[0].connection = first
    }

    /// A connection of its own outside the pool (the notification listener keeps one open).
    public func openDedicatedConnection() throws -> PostgresConnection {
        try PostgresConnection(url: url, statementTimeoutMilliseconds: options.statementTimeoutMilliseconds,
                               applicationName: options.applicationName)
    }

    public func read<T>(_ body: @escaping @Sendable (any SQLSession) throws -> T,
                        completion: @escaping @Sendable (Result<T, any Error>) -> Void) {
        let start = Telemetry.now, timers = timers
        borrow { connection in
            let result = Result { try body(connection()) }
            timers.record(.read, since: start)
            completion(result)
        }
    }

    public func write<T>(_ body: @escaping @Sendable (any SQLSession) throws -> T,
                         completion: @escaping @Sendable (Result<T, any Error>) -> Void) {
        let start = Telemetry.now, timers = timers
        borrow { connection in
            let result = Result {
                let session = try connection()
                return try session.transaction { try body(session) }
            }
            timers.record(.write, since: start)
            completion(result)
        }
    }

    public func readNow<T>(_ body: (any SQLSession) throws -> T) throws -> T {
        try now { try body($0) }
    }

    public func writeNow<T>(_ body: (any SQLSession) throws -> T) throws -> T {
        try now { session in try session.transaction { try body(session) } }
    }

    public func close() {
        for slot in slots { slot.queue.sync { slot.connection = nil } }
    }

    /// Runs `work` on a free slot's queue (now, or when one frees up), handing it a function that
    /// yields the slot's connection, reconnecting if needed.
    private func borrow(_ work: @escaping @Sendable (_ connection: () throws -> PostgresConnection) -> Void) {
        let task: @Sendable (Int) -> Void = { [self] index in
            let slot = slots[index]
            slot.queue.async { [self] in
                work { try connection(of: slot) }
                if let broken = slot.connection, !broken.isUsable { slot.connection = nil }
                release(index)
            }
        }
        let index = pool.withLock { pool -> Int? in
            if let index = pool.idle.popLast() { return index }
            pool.waiting.append(task)
            return nil
        }
        if let index { task(index) }
    }

    private func release(_ index: Int) {
        let next = pool.withLock { pool -> (@Sendable (Int) -> Void)? in
            if let next = pool.waiting.popFirst() { return next }
            pool.idle.append(index)
            return nil
        }
        next?(index)
    }

    private func connection(of slot: PostgresSlot) throws -> PostgresConnection {
        if let connection = slot.connection, connection.isUsable { return connection }
        slot.connection = nil
        let connection = try PostgresConnection(url: url, statementTimeoutMilliseconds: options.statementTimeoutMilliseconds,
                               applicationName: options.applicationName)
        slot.connection = connection
        return connection
    }

    /// Blocking use of a pooled connection, waiting for one to be free.
    private func now<T>(_ body: (any SQLSession) throws -> T) throws -> T {
        let granted = DispatchSemaphore(value: 0)
        let index = Atomic<Int>(-1)
        let claimed = pool.withLock { pool -> Int? in
            if let index = pool.idle.popLast() { return index }
            pool.waiting.append { given in
                index.store(given, ordering: .releasing)
                granted.signal()
            }
            return nil
        }
        let slotIndex: Int
        if let claimed {
            slotIndex = claimed
        } else {
            granted.wait()
            slotIndex = index.load(ordering: .acquiring)
        }
        defer { release(slotIndex) }
        let slot = slots[slotIndex]
        return try slot.queue.sync {
            defer { if let broken = slot.connection, !broken.isUsable { slot.connection = nil } }
            return try body(try connection(of: slot))
        }
    }
}

extension PostgresStore {
    /// A plain connection with no pool and no migrations, for administration (tests, tools).
    public static func adminConnection(_ url: PostgresURL) throws -> PostgresConnection {
        try PostgresConnection(url: url, statementTimeoutMilliseconds: 60_000)
    }
}
