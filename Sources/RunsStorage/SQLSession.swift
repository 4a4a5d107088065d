import RunsDomain

public enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

/// Which SQL the connection speaks, for the few statements the two engines spell differently.
public enum SQLDialect: String, Sendable {
    case sqlite
    case postgresql
}

/// One connection, lent to a `read` or `write` block of a `Store`. Statements use `?` (or `?N`)
/// placeholders in both dialects; the PostgreSQL session rewrites them to `$N`.
public protocol SQLSession: AnyObject {
    var dialect: SQLDialect { get }

    /// Runs one or more statements without parameters (a migration).
    func execute(_ sql: String) throws

    /// Runs a statement that returns no rows; how many rows it changed.
    @discardableResult
    func run(_ sql: String, _ values: [SQLValue]) throws -> Int

    func query<T>(_ sql: String, _ values: [SQLValue], _ map: (any SQLRow) throws -> T) throws -> [T]

    /// Runs `body` atomically: a transaction, or inside one a savepoint, so an inner failure
    /// undoes only the inner work.
    func transaction<T>(_ body: () throws -> T) throws -> T
}

extension SQLSession {
    public func queryOne<T>(_ sql: String, _ values: [SQLValue] = [], _ map: (any SQLRow) throws -> T) throws -> T? {
        try query(sql, values, map).first
    }

    /// `FOR UPDATE` where the engine needs it: PostgreSQL locks the rows a write transaction
    /// read, so two nodes' compare-and-set updates queue instead of colliding. SQLite's writer
    /// already holds the whole database.
    public var forUpdate: String { dialect == .postgresql ? " FOR UPDATE" : "" }

    /// `FOR UPDATE SKIP LOCKED` where several nodes pick work from the same rows: rows another
    /// node is taking at this moment are passed over, not waited for.
    public var forUpdateSkipLocked: String { dialect == .postgresql ? " FOR UPDATE SKIP LOCKED" : "" }
}

/// The current row, read by column name. A value of the wrong kind is a corrupt row and throws.
public protocol SQLRow {
    func value(_ column: String) throws -> SQLValue
}

/// A row that does not hold what its table promises: never silently replaced by a default.
public struct CorruptRow: Error, CustomStringConvertible, Sendable {
    public var column: String
    public var problem: String
    public var description: String { "Corrupt row: column \(column) \(problem)." }
}

extension SQLRow {
    public func int(_ column: String) throws -> Int {
        guard let value = try optionalInt(column) else { throw CorruptRow(column: column, problem: "is NULL") }
        return value
    }

    public func optionalInt(_ column: String) throws -> Int? {
        switch try value(column) {
        case .null: return nil
        case .integer(let number): return Int(number)
        default: throw CorruptRow(column: column, problem: "is not an integer")
        }
    }

    public func double(_ column: String) throws -> Double? {
        switch try value(column) {
        case .null: return nil
        case .real(let number): return number
        case .integer(let number): return Double(number)
        default: throw CorruptRow(column: column, problem: "is not a number")
        }
    }

    public func string(_ column: String) throws -> String {
        guard let value = try optionalString(column) else { throw CorruptRow(column: column, problem: "is NULL") }
        return value
    }

    public func bytes(_ column: String) throws -> [UInt8] {
        switch try value(column) {
        case .blob(let bytes): return bytes
        case .null: throw CorruptRow(column: column, problem: "is NULL")
        default: throw CorruptRow(column: column, problem: "is not a blob")
        }
    }

    public func optionalString(_ column: String) throws -> String? {
        switch try value(column) {
        case .null: return nil
        case .text(let text): return text
        default: throw CorruptRow(column: column, problem: "is not text")
        }
    }

    /// A JSON column written by this server; NULL reads as `fallback`.
    public func json(_ column: String, default fallback: JSONValue = .null) throws -> JSONValue {
        guard let text = try optionalString(column) else { return fallback }
        do {
            return try JSONValue.parse(text)
        } catch {
            throw CorruptRow(column: column, problem: "does not hold JSON")
        }
    }

    /// A column holding one of an enumeration's raw values.
    public func enumeration<T: RawRepresentable>(_ column: String, as type: T.Type) throws -> T where T.RawValue == String {
        let raw = try string(column)
        guard let value = T(rawValue: raw) else { throw CorruptRow(column: column, problem: "holds unknown value '\(raw.prefix(40))'") }
        return value
    }
}
