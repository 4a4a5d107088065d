import Dispatch
import FoundationEssentials
import Observability
import RunsDomain
import Synchronization

/// A connection and the serial queue it is used on.
/// `@unchecked Sendable`: `connection` is only touched by blocks running on `queue`.
final class ConnectionSlot: @unchecked Sendable {
    let queue: DispatchQueue
    let connection: SQLiteConnection

    /// - Parameter shared: run on Dispatch's shared pool (about a thread per core) instead of a
    ///   thread of its own whenever it has work: readers are short, and three of them each with
    ///   a thread under load made the server hold more threads than it has cores to run them.
    init(label: String, connection: SQLiteConnection, shared: Bool = false) {
        queue = DispatchQueue(label: label, qos: .userInitiated, target: shared ? .global(qos: .userInitiated) : nil)
        self.connection = connection
    }
}

public struct DatabaseOptions: Sendable {
    public var readerCount: Int
    /// `NORMAL` keeps every commit across a process crash (kill -9) in WAL mode; `FULL` also
    /// across power loss, at a quarter of the write rate.
    public var synchronous: String
    public var busyTimeoutMilliseconds: Int32
    /// Read-only connections that callers owning a lane (the HTTP server's I/O loops) read on directly.
    public var laneCount: Int

    public init(readerCount: Int = 3, synchronous: String = "NORMAL", busyTimeoutMilliseconds: Int32 = 5000, laneCount: Int = 0) {
        self.readerCount = readerCount
        self.laneCount = laneCount
        self.synchronous = synchronous
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
    }
}

/// The SQLite file: one writer connection and a few readers, each on its own serial queue, so
/// blocking SQLite work never runs on the I/O queues and writes are serialized in one place.
public final class SQLiteStore: Store {
    public let path: String
    public var dialect: SQLDialect { .sqlite }
    private let writer: ConnectionSlot
    private let writes: SQLiteWriteBatch
    private let readers: [ConnectionSlot]
    private let nextReader = Atomic<Int>(0)
    private let lanes: SQLiteLaneReaders
    private let timers = Telemetry.DatabaseTimers(database: "sqlite")
    public var laneReaders: (any LaneReaders)? { lanes }

    /// Opens (creating the file and its directory if missing) and applies pending migrations.
    public init(path: String, options: DatabaseOptions = DatabaseOptions(), migrations: [Migration]? = nil, clock: any Clock = SystemClock()) throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        self.path = path
        let writeConnection = try SQLiteConnection(path: path, busyTimeoutMilliseconds: options.busyTimeoutMilliseconds)
        try writeConnection.execute("PRAGMA journal_mode = WAL")
        try writeConnection.execute("PRAGMA synchronous = \(options.synchronous)")
        try writeConnection.execute("PRAGMA foreign_keys = ON")
        try writeConnection.execute("PRAGMA wal_autocheckpoint = 10000")
        try MigrationRunner.apply(try migrations ?? Migration.embedded(.sqlite), to: writeConnection, now: clock.nowSeconds(), location: path)
        writer = ConnectionSlot(label: "runnel.db.writer", connection: writeConnection)
        writes = SQLiteWriteBatch(slot: writer)
        readers = try (0..<max(1, options.readerCount)).map { index in
            let connection = try SQLiteConnection(path: path, readOnly: true, busyTimeoutMilliseconds: options.busyTimeoutMilliseconds)
            try connection.execute(Self.readerCache)
            return ConnectionSlot(label: "runnel.db.reader.\(index)", connection: connection, shared: true)
        }
        lanes = try SQLiteLaneReaders(path: path, count: options.laneCount)
    }

    /// Readers keep a smaller page cache than SQLite's 2 MB: the kernel caches the file for all
    /// of them, and after a busy hour each connection would otherwise hold its 2 MB for good.
    static let readerCache = "PRAGMA cache_size = -512"

    /// Runs `body` on a reader's queue and hands its result to `completion` there.
    public func read<T>(_ body: @escaping @Sendable (any SQLSession) throws -> T,
                        completion: @escaping @Sendable (Result<T, any Error>) -> Void) {
        let slot = readers[nextReader.add(1, ordering: .relaxed).newValue % readers.count]
        let start = Telemetry.now, timers = timers
        slot.queue.async {
            let result = Result { try body(slot.connection) }
            timers.record(.read, since: start)
            completion(result)
        }
    }

    /// Runs `body` in a transaction on the writer's queue; writes are serialized there, and those
    /// that arrive while it is busy are committed together (`SQLiteWriteBatch`).
    public func write<T>(_ body: @escaping @Sendable (any SQLSession) throws -> T,
                         completion: @escaping @Sendable (Result<T, any Error>) -> Void) {
        let start = Telemetry.now, timers = timers
        writes.submit(body, completion: { result in
            timers.record(.write, since: start)
            completion(result)
        })
    }

    public func readNow<T>(_ body: (any SQLSession) throws -> T) throws -> T {
        let slot = readers[0]
        return try slot.queue.sync { try body(slot.connection) }
    }

    public func writeNow<T>(_ body: (any SQLSession) throws -> T) throws -> T {
        try writer.queue.sync { try writer.connection.transaction { try body(writer.connection) } }
    }

    /// Waits for queued work, then closes every connection; the last close checkpoints the WAL.
    public func close() {
        // The lanes' loops have stopped by now (the server shuts down before the store closes).
        lanes.close()
        for slot in readers { slot.queue.sync { slot.connection.close() } }
        writer.queue.sync { writer.connection.close() }
    }
}
