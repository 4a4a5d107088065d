/// One schema change, from `Migrations/<dialect>/NNNN_name.sql`. Both dialects keep the same
/// numbering, so a version means the same schema whichever database holds it.
public struct Migration: Sendable, Equatable {
    public var version: Int
    public var name: String
    public var sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// The migrations of one dialect compiled into this binary, in version order.
    public static func embedded(_ dialect: SQLDialect) throws(MigrationError) -> [Migration] {
        try parse(embeddedMigrationFiles.filter { $0.folder == dialect.rawValue }.map { ($0.name, $0.text) })
    }

    /// Reads versions from file names (`0002_runs.sql` is version 2) and rejects gaps in naming.
    public static func parse(_ files: [(name: String, sql: String)]) throws(MigrationError) -> [Migration] {
        var migrations: [Migration] = []
        for file in files {
            let digits = file.name.prefix { $0.isNumber }
            guard !digits.isEmpty, let version = Int(digits), version > 0 else {
                throw MigrationError(message: "Migration file \(file.name) must start with a positive version number, e.g. 0001_name.sql.")
            }
            migrations.append(Migration(version: version, name: file.name, sql: file.sql))
        }
        migrations.sort { $0.version < $1.version }
        for (earlier, later) in zip(migrations, migrations.dropFirst()) where earlier.version == later.version {
            throw MigrationError(message: "Migrations \(earlier.name) and \(later.name) share version \(earlier.version).")
        }
        return migrations
    }
}

public struct MigrationError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }

    public init(message: String) {
        self.message = message
    }
}

/// Brings a database up to date: each pending migration runs in its own transaction together
/// with its row in `schema_migrations`, so a failing one leaves no trace. On PostgreSQL the whole
/// pass holds an advisory lock, so nodes starting together apply each migration once.
public enum MigrationRunner {
    /// "RUNNEL" in ASCII: the advisory lock every node takes to migrate.
    static let lockKey: Int64 = 0x52_55_4E_4E_45_4C

    @discardableResult
    public static func apply(_ migrations: [Migration], to session: any SQLSession, now: Int, location: String) throws -> [Int] {
        switch session.dialect {
        case .sqlite:
            try session.execute("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL
                ) STRICT
                """)
        case .postgresql:
            try session.run("SELECT pg_advisory_lock(?)", [.integer(lockKey)])
            try session.execute("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL
                )
                """)
        }
        defer {
            if session.dialect == .postgresql { _ = try? session.run("SELECT pg_advisory_unlock(?)", [.integer(lockKey)]) }
        }
        let applied = Set(try session.query("SELECT version FROM schema_migrations", []) { try $0.int("version") })
        let known = migrations.last?.version ?? 0
        if let newest = applied.max(), newest > known {
            throw MigrationError(message: "The database at \(location) has schema version \(newest), newer than this binary knows (\(known)). Run a newer Runnel, or restore a backup.")
        }
        var done: [Int] = []
        for migration in migrations where !applied.contains(migration.version) {
            do {
                try session.transaction {
                    try session.execute(migration.sql)
                    try session.run(
                        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                        [.integer(Int64(migration.version)), .text(migration.name), .integer(Int64(now))])
                }
            } catch {
                throw MigrationError(message: "Migration \(migration.name) failed and was rolled back: \(error)")
            }
            done.append(migration.version)
        }
        return done
    }
}
