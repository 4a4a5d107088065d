/// Where Runnel keeps everything: SQLite (one process, one file) or PostgreSQL (several nodes).
/// Handlers and the engine see only this and `SQLSession`, never a driver.
public protocol Store: Sendable {
    var dialect: SQLDialect { get }

    /// Runs `body` with a connection for reading and hands its result to `completion`, off the
    /// caller's thread.
    func read<T>(_ body: @escaping @Sendable (any SQLSession) throws -> T,
                 completion: @escaping @Sendable (Result<T, any Error>) -> Void)

    /// Runs `body` in one transaction: committed if it returns, rolled back if it throws.
    func write<T>(_ body: @escaping @Sendable (any SQLSession) throws -> T,
                  completion: @escaping @Sendable (Result<T, any Error>) -> Void)

    /// Blocking forms, for start-up, the command line and tests; never call from an I/O queue.
    func readNow<T>(_ body: (any SQLSession) throws -> T) throws -> T
    func writeNow<T>(_ body: (any SQLSession) throws -> T) throws -> T

    /// Waits for queued work, then closes every connection.
    func close()

    /// Connections that short reads may use on the caller's own lane; nil when reads must go
    /// through `read` (PostgreSQL: each read is a round trip to the server).
    var laneReaders: (any LaneReaders)? { get }
}

extension Store {
    public var laneReaders: (any LaneReaders)? { nil }
}

/// Storage failures a client is told about as 503 or 507 rather than 500.
public enum StorageCondition: Sendable {
    /// Busy, unreachable, restarting, timed out: retrying later may work.
    case unavailable(message: String, retryAfterSeconds: Int)
    /// The disk is full: nothing more can be written until space is freed.
    case full
}

/// Errors of either driver that say the database, not the request, is the problem.
public protocol StorageConditionError: Error {
    var condition: StorageCondition? { get }
    /// A unique index refused the row (for Runnel: one active run per thread).
    var isUniqueViolation: Bool { get }
    /// The database server could not be reached or dropped the connection (it may be
    /// restarting); the same work may succeed once it is back.
    var isConnectionLost: Bool { get }
}
