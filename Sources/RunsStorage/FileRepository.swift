import RunsDomain

/// Uploaded files of one project and their bytes. A file is written as `uploading` while its
/// pieces arrive and becomes visible only when `complete` stores its size.
public struct FileRepository {
    let connection: any SQLSession
    let project: String

    /// How many bytes one stored piece holds at most.
    public static let pieceBytes = 1 << 20

    public init(_ connection: any SQLSession, project: String) {
        self.connection = connection
        self.project = project
    }

    public func beginUpload(id: String, createdAt: Int, filename: String, now: Int) throws {
        try connection.run("""
            INSERT INTO files (id, project, created_at, filename, purpose, bytes, state, updated_at)
            VALUES (?, ?, ?, ?, '', 0, 'uploading', ?)
            """, [id.sqlite, project.sqlite, createdAt.sqlite, filename.sqlite, now.sqlite])
    }

    public func appendPiece(fileID: String, seq: Int, data: [UInt8], now: Int) throws {
        try connection.run("INSERT INTO file_pieces (file_id, seq, data) VALUES (?, ?, ?)",
                            [fileID.sqlite, seq.sqlite, .blob(data)])
        try connection.run("UPDATE files SET updated_at = ? WHERE id = ? AND project = ?",
                           [now.sqlite, fileID.sqlite, project.sqlite])
    }

    public func complete(fileID: String, filename: String, purpose: String, bytes: Int, expiresAt: Int? = nil) throws -> StoredFile? {
        try connection.run("""
            UPDATE files SET state = 'uploaded', filename = ?, purpose = ?, bytes = ?, expires_at = ?
            WHERE id = ? AND project = ? AND state = 'uploading'
            """, [filename.sqlite, purpose.sqlite, bytes.sqlite, expiresAt.sqlite, fileID.sqlite, project.sqlite])
        return try find(fileID)
    }

    /// Drops an upload that did not finish, with the pieces it had stored.
    public func abandon(fileID: String) throws {
        try connection.run("DELETE FROM files WHERE id = ? AND project = ? AND state = 'uploading'",
                           [fileID.sqlite, project.sqlite])
    }

    public func find(_ id: String) throws -> StoredFile? {
        try connection.queryOne("SELECT \(Self.columns) FROM files WHERE id = ? AND project = ? AND state = 'uploaded'",
                                [id.sqlite, project.sqlite], Self.decode)
    }

    public func list(purpose: String?, _ query: ListQuery) throws -> Page<StoredFile> {
        var select = "SELECT \(Self.columns) FROM files WHERE project = ? AND state = 'uploaded'"
        var scope = [project.sqlite]
        if let purpose {
            select += " AND purpose = ?"
            scope.append(purpose.sqlite)
        }
        return try Pagination.page(connection, select: select, scope: scope, query: query, map: Self.decode)
    }

    /// Deletes the file, its bytes, and its place and chunks in every vector store.
    public func delete(_ id: String) throws -> Bool {
        guard try find(id) != nil else { return false }
        try connection.run("DELETE FROM chunks WHERE file_id = ? AND vector_store_id IN (SELECT id FROM vector_stores WHERE project = ?)",
                           [id.sqlite, project.sqlite])
        try connection.run("DELETE FROM vector_store_files WHERE id = ? AND project = ?", [id.sqlite, project.sqlite])
        return try connection.run("DELETE FROM files WHERE id = ? AND project = ?", [id.sqlite, project.sqlite]) > 0
    }

    /// The piece at `seq` of a file (any project: callers found the file first), nil past the end.
    public static func piece(_ connection: any SQLSession, fileID: String, seq: Int) throws -> [UInt8]? {
        try connection.queryOne("SELECT data FROM file_pieces WHERE file_id = ? AND seq = ?",
                                [fileID.sqlite, seq.sqlite]) { try $0.bytes("data") }
    }

    /// Uploads that stopped receiving pieces before `staleBefore` (a client that vanished, a
    /// node that died mid-upload) are removed.
    public static func sweepStaleUploads(_ connection: any SQLSession, staleBefore: Int) throws -> Int {
        try connection.run("DELETE FROM files WHERE state = 'uploading' AND updated_at < ?", [staleBefore.sqlite])
    }

    /// Files whose `expires_at` passed go as if deleted (with their place in vector stores).
    public static func sweepExpired(_ connection: any SQLSession, now: Int) throws -> Int {
        let expired = try connection.query("SELECT id, project FROM files WHERE expires_at IS NOT NULL AND expires_at <= ? LIMIT 1000",
                                           [now.sqlite]) { (try $0.string("id"), try $0.string("project")) }
        for (id, project) in expired { _ = try FileRepository(connection, project: project).delete(id) }
        return expired.count
    }

    private static let columns = "id, created_at, filename, purpose, bytes, expires_at"

    private static func decode(_ row: any SQLRow) throws -> StoredFile {
        StoredFile(id: try row.string("id"), createdAt: try row.int("created_at"), filename: try row.string("filename"),
                   purpose: try row.string("purpose"), bytes: try row.int("bytes"), expiresAt: try row.optionalInt("expires_at"))
    }
}
