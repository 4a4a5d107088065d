import CPostgres
import FoundationEssentials

/// One libpq connection. Not thread-safe: the pool lends it to one block at a time, on its slot's
/// queue. Statements are prepared once per connection and reused by their text.
public final class PostgresConnection: SQLSession {
    public var dialect: SQLDialect { .postgresql }
    let handle: OpaquePointer
    private let url: PostgresURL
    private var prepared: [String: String] = [:]
    private var depth = 0

    /// Connects and sets the session up. `statementTimeoutMilliseconds` bounds every statement,
    /// so a stuck query cannot hold a pooled connection for ever.
    /// - Parameter applicationName: how the server lists the connection (`pg_stat_activity`).
    init(url: PostgresURL, statementTimeoutMilliseconds: Int, applicationName: String = "runnel",
         connectTimeoutSeconds: Int = 5) throws(PostgresError) {
        self.url = url
        let info = url.connectionString(extra: [
            ("connect_timeout", String(connectTimeoutSeconds)), ("application_name", String(applicationName.prefix(63))),
            ("options", "-c statement_timeout=\(statementTimeoutMilliseconds) -c lock_timeout=\(statementTimeoutMilliseconds)"),
        ])
        guard let connection = PQconnectdb(info) else {
            throw PostgresError(sqlState: nil, message: "libpq could not allocate a connection.")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = url.scrub(String(cString: PQerrorMessage(connection)))
            PQfinish(connection)
            throw PostgresError(sqlState: nil, message: "Could not connect to PostgreSQL at \(url): \(message)")
        }
        handle = connection
    }

    deinit { PQfinish(handle) }

    /// False once the server or the network dropped the connection.
    public var isUsable: Bool { PQstatus(handle) == CONNECTION_OK }

    /// The socket, for waiting on notifications.
    public var socket: Int32 { PQsocket(handle) }

    public func execute(_ sql: String) throws {
        let result = PQexec(handle, sql)
        defer { PQclear(result) }
        try check(result, sql: sql)
    }

    @discardableResult
    public func run(_ sql: String, _ values: [SQLValue]) throws -> Int {
        let result = try perform(sql, values)
        defer { PQclear(result) }
        return Int(String(cString: PQcmdTuples(result))) ?? Int(PQntuples(result))
    }

    public func query<T>(_ sql: String, _ values: [SQLValue], _ map: (any SQLRow) throws -> T) throws -> [T] {
        let result = try perform(sql, values)
        defer { PQclear(result) }
        let count = PQntuples(result)
        var rows: [T] = []
        rows.reserveCapacity(Int(count))
        for index in 0..<count {
            rows.append(try map(PostgresRow(result: result, row: index)))
        }
        return rows
    }

    public func transaction<T>(_ body: () throws -> T) throws -> T {
        let level = depth
        let savepoint = "runnel_\(level)"
        try execute(level == 0 ? "BEGIN" : "SAVEPOINT \(savepoint)")
        depth = level + 1
        defer { depth = level }
        do {
            let result = try body()
            try execute(level == 0 ? "COMMIT" : "RELEASE SAVEPOINT \(savepoint)")
            return result
        } catch {
            if isUsable { try? execute(level == 0 ? "ROLLBACK" : "ROLLBACK TO SAVEPOINT \(savepoint)") }
            throw error
        }
    }

    /// Notifications that arrived (after `consumeInput`), oldest first.
    public func takeNotifications() -> [(channel: String, payload: String)] {
        var notifications: [(String, String)] = []
        while let notification = PQnotifies(handle) {
            notifications.append((String(cString: notification.pointee.relname), String(cString: notification.pointee.extra)))
            PQfreemem(notification)
        }
        return notifications
    }

    /// Reads what the server sent without blocking; false when the connection broke.
    public func consumeInput() -> Bool { PQconsumeInput(handle) == 1 }

    private func perform(_ sql: String, _ values: [SQLValue]) throws -> OpaquePointer? {
        let name = try statementName(sql, parameterCount: values.count)
        // Blobs go in binary form, everything else as text.
        var lengths = [Int32](repeating: 0, count: values.count)
        var formats = [Int32](repeating: 0, count: values.count)
        let texts: [[UInt8]?] = values.enumerated().map { index, value in
            switch value {
            case .null: return nil
            case .integer(let number): return Array(String(number).utf8) + [0]
            case .real(let number):
                let text = number.isFinite ? "\(number)" : (number.isNaN ? "NaN" : (number > 0 ? "Infinity" : "-Infinity"))
                return Array(text.utf8) + [0]
            case .text(let text): return Array(PostgresText.encode(text).utf8) + [0]
            case .blob(let bytes):
                lengths[index] = Int32(clamping: bytes.count)
                formats[index] = 1
                return bytes.isEmpty ? [0] : bytes
            }
        }
        let result = withParameterPointers(texts) { pointers in
            PQexecPrepared(handle, name, Int32(values.count), pointers, lengths, formats, 0)
        }
        do {
            try check(result, sql: sql)
        } catch {
            PQclear(result)
            throw error
        }
        return result
    }

    private func statementName(_ sql: String, parameterCount: Int) throws -> String {
        if let name = prepared[sql] { return name }
        let name = "runnel_s\(prepared.count)"
        let result = PQprepare(handle, name, PlaceholderRewriter.postgres(sql), 0, nil)
        defer { PQclear(result) }
        try check(result, sql: sql)
        prepared[sql] = name
        return name
    }

    private func check(_ result: OpaquePointer?, sql: String) throws(PostgresError) {
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY: return
        default:
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let primary = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) }
            let message = primary ?? String(cString: PQerrorMessage(handle))
            throw PostgresError(sqlState: state, message: url.scrub(message), sql: sql)
        }
    }
}

/// Passes parameter bytes to C as an array of pointers (nil for SQL NULL); text arrives with its
/// NUL terminator already appended.
private func withParameterPointers<R>(_ values: [[UInt8]?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    let pointers: [UnsafeMutablePointer<CChar>?] = values.map { bytes in
        guard let bytes else { return nil }
        let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count)
        bytes.withUnsafeBytes { UnsafeMutableRawPointer(pointer).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return pointer
    }
    defer { for pointer in pointers { pointer?.deallocate() } }
    return body(pointers.map { $0.map { UnsafePointer($0) } })
}

/// A row of a text-format result; values are typed by the column's type.
struct PostgresRow: SQLRow {
    let result: OpaquePointer?
    let row: Int32

    func value(_ column: String) throws -> SQLValue {
        let index = PQfnumber(result, column)
        guard index >= 0 else { throw CorruptRow(column: column, problem: "is not in the result") }
        if PQgetisnull(result, row, index) == 1 { return .null }
        if PQftype(result, index) == 17 {
            return .blob(try Self.bytea(PQgetvalue(result, row, index), count: Int(PQgetlength(result, row, index)), column: column))
        }
        let text = String(cString: PQgetvalue(result, row, index))
        switch PQftype(result, index) {
        case 20, 21, 23:
            guard let number = Int64(text) else { throw CorruptRow(column: column, problem: "is not an integer") }
            return .integer(number)
        case 16:
            return .integer(text == "t" ? 1 : 0)
        case 700, 701, 1700:
            guard let number = Double(text) else { throw CorruptRow(column: column, problem: "is not a number") }
            return .real(number)
        default:
            return .text(PostgresText.decode(text))
        }
    }
}

extension PostgresRow {
    /// bytea in text results is `\x` and two hex digits a byte.
    static func bytea(_ value: UnsafeMutablePointer<CChar>?, count: Int, column: String) throws -> [UInt8] {
        guard let value, count >= 2, count % 2 == 0 else { throw CorruptRow(column: column, problem: "is not hex bytea") }
        let text = UnsafeRawBufferPointer(start: value, count: count)
        guard text[0] == UInt8(ascii: "\\"), text[1] == UInt8(ascii: "x") else {
            throw CorruptRow(column: column, problem: "is not hex bytea")
        }
        var valid = true
        let bytes = [UInt8](unsafeUninitializedCapacity: (count - 2) / 2) { buffer, initialized in
            for index in 0..<buffer.count {
                let high = HexDigit.table[Int(text[2 + 2 * index])], low = HexDigit.table[Int(text[3 + 2 * index])]
                valid = valid && high < 16 && low < 16
                buffer[index] = high << 4 | (low & 15)
            }
            initialized = buffer.count
        }
        guard valid else { throw CorruptRow(column: column, problem: "is not hex bytea") }
        return bytes
    }
}

enum HexDigit {
    /// Byte → its hex value, or 255 for a byte that is no hex digit.
    static let table: [UInt8] = (0..<256).map { byte in
        switch byte {
        case 48...57: UInt8(byte - 48)
        case 97...102: UInt8(byte - 87)
        case 65...70: UInt8(byte - 55)
        default: 255
        }
    }
}

/// PostgreSQL text cannot hold NUL, which SQLite stores and clients may send. Text is kept with
/// NUL written as U+FFFF U+0001 and U+FFFF itself as U+FFFF U+0002 (a noncharacter, so real text
/// almost never pays for the escape), and read back exactly as sent.
public enum PostgresText {
    public static func encode(_ text: String) -> String {
        // By scalars: as a Character, U+FFFF after a prepended mark (U+0600) is not "\u{FFFF}".
        guard text.utf8.contains(where: { $0 == 0 || $0 == 0xEF }), text.unicodeScalars.contains(where: { $0 == "\u{0}" || $0 == "\u{FFFF}" }) else {
            return text
        }
        return text.replacingAll("\u{FFFF}", with: "\u{FFFF}\u{2}").replacingAll("\u{0}", with: "\u{FFFF}\u{1}")
    }

    public static func decode(_ text: String) -> String {
        guard text.unicodeScalars.contains("\u{FFFF}") else { return text }
        return text.replacingAll("\u{FFFF}\u{1}", with: "\u{0}").replacingAll("\u{FFFF}\u{2}", with: "\u{FFFF}")
    }
}

/// `?` and `?N` placeholders (both dialects' repositories use SQLite's) as PostgreSQL's `$N`.
enum PlaceholderRewriter {
    static func postgres(_ sql: String) -> String {
        var output = ""
        var next = 1
        var inString = false
        var characters = sql.makeIterator()
        var pending: Character? = characters.next()
        while let character = pending {
            pending = characters.next()
            if character == "'" { inString.toggle() }
            guard character == "?", !inString else {
                output.append(character)
                continue
            }
            var digits = ""
            while let digit = pending, digit.isASCII, digit.isNumber {
                digits.append(digit)
                pending = characters.next()
            }
            if digits.isEmpty {
                output += "$\(next)"
                next += 1
            } else {
                output += "$" + digits
            }
        }
        return output
    }
}
