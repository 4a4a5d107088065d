import Synchronization

/// Read-only connections for callers that each own a lane: lane `i` is only ever used from one
/// serial queue (an HTTP I/O loop's). A short read then runs where the request already is, with
/// no hop to a reader's queue and back.
public protocol LaneReaders: Sendable {
    /// Runs `body` on lane `lane`'s connection, now, on the calling thread; nil when there is no
    /// such lane or the database is busy for a moment, so the caller takes the queued path.
    func read<T>(lane: Int, _ body: (any SQLSession) throws -> T) throws -> T?
}

/// SQLite's lanes: one read-only connection each, opened at start. A lane's reads never wait on
/// a lock (busy timeout 0): an I/O loop must not block, and a busy moment goes the queued way.
///
/// `@unchecked Sendable`: each connection is used by its lane's one serial queue only, as the
/// protocol requires of callers.
final class SQLiteLaneReaders: LaneReaders, @unchecked Sendable {
    private let connections: [SQLiteConnection]

    init(path: String, count: Int) throws {
        connections = try (0..<count).map { _ in
            let connection = try SQLiteConnection(path: path, readOnly: true, busyTimeoutMilliseconds: 0)
            try connection.execute(SQLiteStore.readerCache)
            return connection
        }
    }

    func read<T>(lane: Int, _ body: (any SQLSession) throws -> T) throws -> T? {
        guard connections.indices.contains(lane) else { return nil }
        do {
            return try body(connections[lane])
        } catch let error as SQLiteError where error.isBusy {
            return nil
        }
    }

    func close() {
        for connection in connections { connection.close() }
    }
}
