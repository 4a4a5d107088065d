import FoundationEssentials

/// A failure of PostgreSQL or of the way to it. Messages never carry the connection's password:
/// the store builds connection strings from a parsed URL and scrubs libpq's text.
public struct PostgresError: StorageConditionError, CustomStringConvertible, Sendable {
    /// The five-character SQLSTATE, or nil when the server never answered.
    public var sqlState: String?
    public var message: String
    public var sql: String?

    public var description: String {
        "PostgreSQL error\(sqlState.map { " \($0)" } ?? ""): \(message)" + (sql.map { " (in \($0.prefix(200)))" } ?? "")
    }

    /// The connection is gone (server restarted, network cut): the pool reconnects.
    public var isConnectionLost: Bool {
        guard let sqlState else { return true }
        return sqlState.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(sqlState)
    }

    public var isUniqueViolation: Bool { sqlState == "23505" }

    public var condition: StorageCondition? {
        if isConnectionLost {
            return .unavailable(message: "The database is unreachable (it may be restarting); nothing was stored. Retry shortly.",
                                retryAfterSeconds: 1)
        }
        switch sqlState {
        case "53100": return .full
        case "57014":
            return .unavailable(message: "The database took too long to answer (statement timeout); retry later.", retryAfterSeconds: 1)
        case "40001", "40P01", "55P03":
            return .unavailable(message: "The database was busy with a conflicting change; please retry.", retryAfterSeconds: 1)
        case "53000", "53200", "53300":
            return .unavailable(message: "The database is out of resources; retry later.", retryAfterSeconds: 5)
        default: return nil
        }
    }

    init(sqlState: String?, message: String, sql: String? = nil) {
        self.sqlState = sqlState
        self.message = message.trimmed
        self.sql = sql
    }
}
