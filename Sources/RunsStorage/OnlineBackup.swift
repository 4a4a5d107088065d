import CSQLite
import FoundationEssentials
import Glibc

/// A consistent copy of a live database through SQLite's online backup API: the copy is one
/// snapshot, taken while the server keeps reading and writing.
public enum OnlineBackup {
    /// Copies `source` to `destination` (replaced if it exists) and checks the copy's integrity.
    /// - Returns: the number of pages copied.
    @discardableResult
    public static func copy(from source: String, to destination: String) throws -> Int {
        guard FileManager.default.fileExists(atPath: source) else {
            throw SQLiteError(connection: nil, code: SQLITE_CANTOPEN, sql: "no database at \(source)")
        }
        let directory = URL(fileURLWithPath: destination).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let partial = destination + ".partial"
        try? FileManager.default.removeItem(atPath: partial)
        let from = try SQLiteConnection(path: source, readOnly: true)
        let pages: Int
        do {
            let to = try SQLiteConnection(path: partial)
            guard let backup = sqlite3_backup_init(to.handle, "main", from.handle, "main") else {
                throw SQLiteError(connection: to.handle, code: sqlite3_errcode(to.handle), sql: "backup")
            }
            var code: Int32
            repeat {
                // All remaining pages in one step: a single read snapshot of the source.
                code = sqlite3_backup_step(backup, -1)
                if code == SQLITE_BUSY || code == SQLITE_LOCKED { usleep(10_000) }
            } while code == SQLITE_OK || code == SQLITE_BUSY || code == SQLITE_LOCKED
            pages = Int(sqlite3_backup_pagecount(backup))
            sqlite3_backup_finish(backup)
            guard code == SQLITE_DONE else { throw SQLiteError(connection: to.handle, code: code, sql: "backup step") }
            let check = try to.queryOne("PRAGMA integrity_check") { try $0.string("integrity_check") }
            guard check == "ok" else {
                throw SQLiteError(connection: nil, code: SQLITE_CORRUPT, sql: "integrity_check of the copy: \(check ?? "no answer")")
            }
            to.close()
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
        // The finished copy appears under its name only once it is complete.
        if FileManager.default.fileExists(atPath: destination) { try FileManager.default.removeItem(atPath: destination) }
        try FileManager.default.moveItem(atPath: partial, toPath: destination)
        return pages
    }
}
