import Synchronization

/// Read-only connections for callers that each own a lane: lane `i` is only ever used from one
/// serial queue (an HTTP I/O loop's). A short read then runs where the request already is, with
/// no hop to a reader's queue and back.
///
/// Reads on a lane share one read transaction for a turn of its queue: taking and dropping
/// SQLite's file locks (four `fcntl` calls) for every statement cost a tenth of a GET. The caller
/// ends the transaction (`endTurn`) when the turn is over and before it waits for new input, so
/// a read never sees a snapshot older than the request it answers.
public protocol LaneReaders: Sendable {
    /// Runs `body` on lane `lane`'s connection, now, on the calling thread; nil when there is no
    /// such lane or the database is busy for a moment, so the caller takes the queued path.
    /// `began` is true when this read began the lane's transaction: the caller then arranges
    /// for `endTurn` once the current turn is over.
    func read<T>(lane: Int, _ body: (any SQLSession) throws -> T) throws -> (value: T, began: Bool)?

    /// Ends the lane's read transaction, if one is open.
    func endTurn(lane: Int)
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

    func read<T>(lane: Int, _ body: (any SQLSession) throws -> T) throws -> (value: T, began: Bool)? {
        guard connections.indices.contains(lane) else { return nil }
        let connection = connections[lane]
        do {
            let began = !connection.isInTransaction
            if began { try connection.run("BEGIN") }
            return (try body(connection), began)
        } catch let error as SQLiteError where error.isBusy {
            endTurn(lane: lane)
            return nil
        }
    }

    func endTurn(lane: Int) {
        guard connections.indices.contains(lane), connections[lane].isInTransaction else { return }
        // A read-only transaction has nothing to lose: COMMIT only lets go of the snapshot.
        _ = try? connections[lane].run("COMMIT")
    }

    func close() {
        for connection in connections { connection.close() }
    }
}
