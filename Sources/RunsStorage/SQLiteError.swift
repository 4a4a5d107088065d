import CSQLite

public struct SQLiteError: StorageConditionError, CustomStringConvertible, Sendable {
    public var resultCode: Int32
    public var extendedCode: Int32
    public var message: String
    public var sql: String?

    public var description: String {
        "SQLite error \(extendedCode): \(message)" + (sql.map { " (in \($0.prefix(200)))" } ?? "")
    }

    /// The database was locked for longer than the busy timeout.
    public var isBusy: Bool { resultCode == SQLITE_BUSY || resultCode == SQLITE_LOCKED }

    public var isConstraint: Bool { resultCode == SQLITE_CONSTRAINT }

    /// A file has no server to lose.
    public var isConnectionLost: Bool { false }

    /// SQLITE_CONSTRAINT_UNIQUE and SQLITE_CONSTRAINT_PRIMARYKEY (C macros Swift does not import).
    public var isUniqueViolation: Bool { extendedCode == 2067 || extendedCode == 1555 }

    /// The disk (or the database's page limit) is full: nothing more can be written until space is freed.
    public var isDiskFull: Bool { resultCode == SQLITE_FULL }

    /// The operating system failed a read or write of the database files.
    public var isIOError: Bool { resultCode == SQLITE_IOERR }

    public var condition: StorageCondition? {
        if isDiskFull { return .full }
        if isBusy { return .unavailable(message: "The database is busy; please retry.", retryAfterSeconds: 1) }
        if isIOError {
            return .unavailable(message: "The database could not be written (an I/O error); nothing was stored. Retry later.",
                                retryAfterSeconds: 5)
        }
        return nil
    }

    init(connection: OpaquePointer?, code: Int32, sql: String? = nil) {
        resultCode = code & 0xFF
        extendedCode = connection.map { sqlite3_extended_errcode($0) } ?? code
        message = connection.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
        self.sql = sql
    }
}
