import Foundation
import RunsStorage

/// The stores a test can run on: SQLite always; PostgreSQL when `RUNNEL_TEST_POSTGRES_URL` names
/// a server the test may create databases on (the test command starts one).
public enum StoreKind: String, Sendable, CustomStringConvertible, CaseIterable {
    case sqlite
    case postgresql

    public static var available: [StoreKind] { postgresAdminURL == nil ? [.sqlite] : [.sqlite, .postgresql] }

    public var description: String { rawValue }

    static var postgresAdminURL: String? {
        ProcessInfo.processInfo.environment["RUNNEL_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// A store of its own for one test: a SQLite file in a fresh directory, or a fresh PostgreSQL
/// database; removed when the owner goes away (after the owner's own deinit, so servers and
/// engines using it stop first).
public final class TemporaryDatabase: @unchecked Sendable {
    public let database: any Store
    private let cleanup: @Sendable () -> Void

    public init(_ kind: StoreKind = .sqlite, migrations: [Migration]? = nil) throws {
        switch kind {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("runnel-test-\(UUID().uuidString)")
            database = try SQLiteStore(path: directory.appendingPathComponent("nested/db.sqlite").path, migrations: migrations)
            cleanup = { try? FileManager.default.removeItem(at: directory) }
        case .postgresql:
            guard let admin = StoreKind.postgresAdminURL else { throw MigrationError(message: "RUNNEL_TEST_POSTGRES_URL is not set") }
            let name = "runnel_t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
            try Self.administer(admin, "CREATE DATABASE \(name)")
            var url = try PostgresURL(admin)
            url.database = String(name)
            database = try PostgresStore(url: url, options: PostgresOptions(poolSize: 4), migrations: migrations, now: 0)
            cleanup = { try? Self.administer(admin, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
        }
    }

    /// The SQL a test needs to run as the server's administrator, outside any transaction.
    static func administer(_ admin: String, _ sql: String) throws {
        let connection = try PostgresStore.adminConnection(try PostgresURL(admin))
        try connection.execute(sql)
    }

    deinit {
        database.close()
        cleanup()
    }
}
