import FoundationEssentials

/// A `postgres://user:password@host:port/database?param=value` URL, parsed once so the
/// password can be kept out of every log line and error.
public struct PostgresURL: Sendable, CustomStringConvertible {
    public var user: String?
    public var password: String?
    public var host: String
    public var port: Int
    public var database: String?
    public var parameters: [(name: String, value: String)]

    /// True for the strings `--database` treats as PostgreSQL rather than a file path.
    public static func isPostgres(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    public init(_ text: String) throws(PostgresError) {
        guard Self.isPostgres(text), let components = URLComponents(string: text) else {
            throw PostgresError(sqlState: nil, message: "The database URL is not a valid postgres:// or postgresql:// URL.")
        }
        user = components.user
        password = components.password
        host = components.host.flatMap { $0.isEmpty ? nil : $0 } ?? "localhost"
        port = components.port ?? 5432
        let path = components.path.drop { $0 == "/" }
        database = path.isEmpty ? nil : String(path)
        parameters = (components.queryItems ?? []).map { ($0.name, $0.value ?? "") }
        guard (1...65535).contains(port) else {
            throw PostgresError(sqlState: nil, message: "The database URL's port must be 1–65535.")
        }
    }

    /// The URL with its password replaced, for logs.
    public var description: String {
        var text = "postgres://"
        if let user { text += user + (password == nil ? "" : ":***") + "@" }
        text += "\(host):\(port)"
        if let database { text += "/" + database }
        return text
    }

    /// libpq's keyword/value connection string, each value quoted.
    func connectionString(extra: [(String, String)]) -> String {
        var pairs: [(String, String)] = [("host", host), ("port", String(port))]
        if let user { pairs.append(("user", user)) }
        if let password { pairs.append(("password", password)) }
        if let database { pairs.append(("dbname", database)) }
        pairs += parameters.map { ($0.name, $0.value) } + extra
        return pairs.map { key, value in
            "\(key)='" + value.replacingAll("\\", with: "\\\\").replacingAll("'", with: "\\'") + "'"
        }.joined(separator: " ")
    }

    /// libpq's message with the password taken out, in case a server or library ever echoes it.
    func scrub(_ message: String) -> String {
        guard let password, !password.isEmpty else { return message }
        return message.replacingAll(password, with: "***")
    }
}
