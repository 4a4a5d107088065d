import FoundationEssentials
import Glibc
import RunsStorage

/// `runnel restore --from FILE --database PATH [--force]`: puts a backup in a database's place,
/// never under a running server.
enum RestoreCommand {
    static func run(arguments: [String]) -> Never {
        var database = ProcessInfo.processInfo.environment["RUNNEL_DATABASE"] ?? "./runnel.sqlite"
        var source: String?
        var force = false
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
            func value() -> String {
                if parts.count > 1 { return parts[1] }
                index += 1
                guard index < arguments.count else { ServeCommand.fail("\(parts[0]) needs a value") }
                return arguments[index]
            }
            switch parts[0] {
            case "--database": database = value()
            case "--from": source = value()
            case "--force": force = true
            case "-h", "--help":
                print(help)
                exit(0)
            default: ServeCommand.fail("unknown option \(argument) (see runnel restore --help)")
            }
            index += 1
        }
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
