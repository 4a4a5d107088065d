import FoundationEssentials
import Glibc
import RunsStorage

/// `runnel backup --database PATH --to FILE`: a consistent copy of a database, live or not.
enum BackupCommand {
    static func run(arguments: [String]) -> Never {
        let options = CommandOptions(arguments, command: "backup", valued: ["--database", "--to"], help: help)
        let database = options.values["--database"] ?? ProcessInfo.processInfo.environment["RUNNEL_DATABASE"] ?? "./runnel.sqlite"
        let destination = options.values["--to"]
        if PostgresURL.isPostgres(database) {
            ServeCommand.fail("""
                \(Configuration.redactedDatabase(database)) is a PostgreSQL database: back it up with PostgreSQL's own tools, \
                e.g. `pg_dump --format=custom --file=runnel.dump "$RUNNEL_DATABASE"` (restore with pg_restore). \
                runnel backup copies SQLite files.
                """)
        }
        guard let destination else { ServeCommand.fail("runnel backup needs --to FILE") }
        do {
            let started = Date()
            let pages = try OnlineBackup.copy(from: database, to: destination)
            print("backed up \(database) to \(destination): \(pages) pages in \(Self.hundredths(Date().timeIntervalSince(started))) s")
            exit(0)
        } catch {
            ServeCommand.fail("backup of \(database) failed: \(error)")
        }
    }

    static let help = """
        Usage: runnel backup --database PATH --to FILE

        Copies the database at PATH (default: RUNNEL_DATABASE or ./runnel.sqlite) to FILE with SQLite's
        online backup API. Safe while the server runs: the copy is one consistent snapshot, checked
        with PRAGMA integrity_check before it appears under FILE.
        """

    /// `seconds` with two decimals, as in "0.05".
    static func hundredths(_ seconds: Double) -> String {
        let total = Int((seconds * 100).rounded())
        let fraction = total % 100
        return "\(total / 100)." + (fraction < 10 ? "0" : "") + "\(fraction)"
    }
}
