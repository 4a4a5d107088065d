import FoundationEssentials
import Glibc
import RunsStorage

/// `runnel backup --database PATH --to FILE`: a consistent copy of a database, live or not.
enum BackupCommand {
    static func run(arguments: [String]) -> Never {
        var database = ProcessInfo.processInfo.environment["RUNNEL_DATABASE"] ?? "./runnel.sqlite"
        var destination: String?
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
            case "--to": destination = value()
            case "-h", "--help":
                print("""
                    Usage: runnel backup --database PATH --to FILE

                    Copies the database at PATH (default: RUNNEL_DATABASE or ./runnel.sqlite) to FILE with SQLite's
                    online backup API. Safe while the server runs: the copy is one consistent snapshot, checked
                    with PRAGMA integrity_check before it appears under FILE.
                    """)
                exit(0)
            default: ServeCommand.fail("unknown option \(argument) (see runnel backup --help)")
            }
            index += 1
        }
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

    /// `seconds` with two decimals, as in "0.05".
    static func hundredths(_ seconds: Double) -> String {
        let total = Int((seconds * 100).rounded())
        let fraction = total % 100
        return "\(total / 100)." + (fraction < 10 ? "0" : "") + "\(fraction)"
    }
}
