import CSQLite

/// One SQLite connection. Not thread-safe: the `SQLiteStore` gives each connection its own serial
/// queue and only uses it there.
public final class SQLiteConnection: SQLSession {
    public var dialect: SQLDialect { .sqlite }
    let handle: OpaquePointer
    public let path: String
    private var statements: [String: SQLiteStatement] = [:]
    private var isOpen = true
    /// Open transactions: the outermost is `BEGIN IMMEDIATE`, the inner ones savepoints.
    private var depth = 0

    public init(path: String, readOnly: Bool = false, busyTimeoutMilliseconds: Int32 = 5000) throws(SQLiteError) {
        var db: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
            | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        let code = sqlite3_open_v2(path, &db, flags, nil)
        guard code == SQLITE_OK, let db else {
            let error = SQLiteError(connection: db, code: code)
            sqlite3_close_v2(db)
            throw error
        }
        handle = db
        self.path = path
        sqlite3_busy_timeout(db, busyTimeoutMilliseconds)
    }

    deinit { close() }

    /// Closes now (finalizing cached statements), so the WAL is checkpointed on a clean shutdown.
    public func close() {
        guard isOpen else { return }
        isOpen = false
        statements.removeAll()
        sqlite3_close_v2(handle)
    }

    /// Runs one or more statements that return no rows.
    public func execute(_ sql: String) throws(SQLiteError) {
        try checkOpen(sql)
        var message: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &message)
        if let message { sqlite3_free(message) }
        guard code == SQLITE_OK else { throw SQLiteError(connection: handle, code: code, sql: sql) }
    }

    /// Runs a statement (cached by its text) with parameters and returns how many rows it changed.
    @discardableResult
    public func run(_ sql: String, _ values: [SQLValue] = []) throws -> Int {
        let statement = try prepared(sql)
        try statement.bind(values)
        defer { statement.reset() }
        while try statement.step() {}
        return Int(sqlite3_changes(handle))
    }

    /// Maps each row of a query.
    public func query<T>(_ sql: String, _ values: [SQLValue] = [], _ map: (any SQLRow) throws -> T) throws -> [T] {
        let statement = try prepared(sql)
        try statement.bind(values)
        defer { statement.reset() }
        var rows: [T] = []
        let row = SQLiteRow(statement: statement)
        while try statement.step() {
            rows.append(try map(row))
        }
        return rows
    }

    /// The outermost level is `BEGIN IMMEDIATE … COMMIT` (taking the write lock up front, so it
    /// cannot fail half-way on a lock upgrade); nested levels are savepoints.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        let level = depth
        let savepoint = "runnel_\(level)"
        // Through the statement cache: these run several times per request.
        try run(level == 0 ? "BEGIN IMMEDIATE" : "SAVEPOINT \(savepoint)")
        depth = level + 1
        defer { depth = level }
        do {
            let result = try body()
            try run(level == 0 ? "COMMIT" : "RELEASE \(savepoint)")
            return result
        } catch {
            try? execute(level == 0 ? "ROLLBACK" : "ROLLBACK TO \(savepoint); RELEASE \(savepoint)")
            throw error
        }
    }

    /// False once SQLite rolled the whole transaction back by itself (a full disk, an I/O error),
    /// which it does without being asked after some failures inside a savepoint.
    var isInTransaction: Bool { isOpen && sqlite3_get_autocommit(handle) == 0 }

    /// Work that reaches a connection after shutdown closed it fails cleanly instead of
    /// touching freed memory.
    private func checkOpen(_ sql: String) throws(SQLiteError) {
        guard isOpen else { throw SQLiteError(connection: nil, code: SQLITE_MISUSE, sql: sql) }
    }

    private func prepared(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        try checkOpen(sql)
        if let statement = statements[sql] { return statement }
        let statement = try SQLiteStatement(connection: self, sql: sql)
        statements[sql] = statement
        return statement
    }
}
