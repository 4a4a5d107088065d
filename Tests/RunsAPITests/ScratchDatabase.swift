import Foundation
@testable import RunsStorage

/// A database in a directory of its own, closed and removed when the owner goes away (after the
/// owner's own deinit, so servers and engines using it stop first).
final class ScratchDatabase: @unchecked Sendable {
    let directory: URL
    let database: Database

    init(_ label: String) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("runnel-\(label)-\(UUID().uuidString)")
        database = try Database(path: directory.appendingPathComponent("db.sqlite").path)
    }

    deinit {
        database.close()
        try? FileManager.default.removeItem(at: directory)
    }
}
