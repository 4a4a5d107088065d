import CSQLite

/// What `runnel restore` checks of a file before it takes the place of a database.
public enum BackupCheck {
    /// The schema version of the Runnel SQLite database at `path`, after its integrity check.
    /// Throws for a file that is not one (or is damaged), or one a newer Runnel made.
    public static func schemaVersion(of path: String) throws -> Int {
        let connection = try SQLiteConnection(path: path, readOnly: true)
        defer { connection.close() }
        let check = try connection.queryOne("PRAGMA integrity_check") { try $0.string("integrity_check") }
        guard check == "ok" else {
            throw SQLiteError(connection: nil, code: SQLITE_CORRUPT, sql: "integrity_check of \(path): \(check ?? "no answer")")
        }
        let hasSchema = try connection.queryOne(
            "SELECT count(*) AS found FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'") { try $0.int("found") }
        guard hasSchema == 1 else {
            throw MigrationError(message: "\(path) is an SQLite file but not a Runnel database (it has no schema_migrations table).")
        }
        let version = try connection.queryOne("SELECT max(version) AS newest FROM schema_migrations") { try $0.int("newest") } ?? 0
        let known = try Migration.embedded(.sqlite).map(\.version).max() ?? 0
        guard version <= known else {
            throw MigrationError(message: "\(path) has schema version \(version), newer than this binary knows (\(known)); restore it with a newer Runnel.")
        }
        return version
    }
}
