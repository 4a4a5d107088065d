import FoundationEssentials
import Glibc
import RunsStorage

/// `runnel restore --from FILE --database PATH [--force]`: puts a backup in a database's place,
/// never under a running server.
enum RestoreCommand {
    static func run(arguments: [String]) -> Never {
        let options = CommandOptions(arguments, command: "restore", valued: ["--database", "--from"], flags: ["--force"], help: help)
        let database = options.values["--database"] ?? ProcessInfo.processInfo.environment["RUNNEL_DATABASE"] ?? "./runnel.sqlite"
        let source = options.values["--from"]
        let force = options.flags.contains("--force")
        if PostgresURL.isPostgres(database) {
            ServeCommand.fail("""
                \(Configuration.redactedDatabase(database)) is a PostgreSQL database: restore it with PostgreSQL's own tools, \
                e.g. `pg_restore --clean --if-exists --dbname "$RUNNEL_DATABASE" runnel.dump`. runnel restore restores SQLite files.
                """)
        }
        guard let source else { ServeCommand.fail("runnel restore needs --from FILE (a file runnel backup made)") }
        guard FileManager.default.fileExists(atPath: source) else { ServeCommand.fail("no backup at \(source)") }
        let version: Int
        do {
            version = try BackupCheck.schemaVersion(of: source)
        } catch {
            ServeCommand.fail("\(source) cannot be restored: \(error)")
        }
        let exists = FileManager.default.fileExists(atPath: database)
        // Held until the process exits: a server starting meanwhile finds the file taken.
        var lock: DatabaseLock?
        if exists {
            lock = DatabaseLock.replacing(database)
            guard lock != nil else {
                ServeCommand.fail("\(database) is in use by a running runnel server: stop it first, then restore")
            }
            guard force else {
                ServeCommand.fail("\(database) exists: --force replaces it (the database it replaces is kept as \(database).replaced)")
            }
        }
        do {
            let started = Date()
            let staging = database + ".restoring"
            let pages = try OnlineBackup.copy(from: source, to: staging)
            if exists { try setAside(database) }
            try FileManager.default.moveItem(atPath: staging, toPath: database)
            let kept = exists ? "; the database it replaced is \(database).replaced" : ""
            print("restored \(source) to \(database): \(pages) pages, schema version \(version), in \(BackupCommand.hundredths(Date().timeIntervalSince(started))) s\(kept)")
            withExtendedLifetime(lock) { exit(0) }
        } catch {
            ServeCommand.fail("restore of \(source) to \(database) failed: \(error)")
        }
    }

    /// Moves the database being replaced, with its write-ahead log (which may hold its latest
    /// transactions), to `.replaced`; its shared-memory index is rebuilt from the log if needed.
    /// A log left beside the restored file would be replayed into it.
    private static func setAside(_ database: String) throws {
        let files = FileManager.default
        for suffix in ["", "-wal", "-shm"] where files.fileExists(atPath: database + ".replaced" + suffix) {
            try files.removeItem(atPath: database + ".replaced" + suffix)
        }
        try files.moveItem(atPath: database, toPath: database + ".replaced")
        if files.fileExists(atPath: database + "-wal") { try files.moveItem(atPath: database + "-wal", toPath: database + ".replaced-wal") }
        if files.fileExists(atPath: database + "-shm") { try files.removeItem(atPath: database + "-shm") }
    }

    static let help = """
        Usage: runnel restore --from FILE --database PATH [--force]

        Puts FILE (made by runnel backup) in the place of the SQLite database at PATH (default:
        RUNNEL_DATABASE or ./runnel.sqlite). FILE must pass SQLite's integrity check and be a Runnel
        database no newer than this binary. A database in use by a running server is never
        replaced; an existing one only with --force, and it is kept as PATH.replaced.
        """
}
