import RunsDomain

/// A piece of a file's text, as indexed.
public struct Chunk: Sendable, Equatable {
    public var seq: Int
    public var text: String
    /// Where the text the previous chunk did not have begins, in UTF-8 bytes.
    public var freshFrom: Int
    /// Its embedding as float32 bytes, when an embedding model is set.
    public var embedding: [UInt8]?

    public init(seq: Int, text: String, freshFrom: Int, embedding: [UInt8]? = nil) {
        self.seq = seq
        self.text = text
        self.freshFrom = freshFrom
        self.embedding = embedding
    }
}

/// A chunk a search found, with its full-text rank turned into a score from 0 to 1.
public struct ChunkHit: Sendable, Equatable {
    public var id: Int
    public var store: String
    public var file: String
    public var text: String
    public var score: Double
}

/// The chunks of the files in vector stores, and full-text search over them: BM25 on SQLite's
/// FTS5, `ts_rank_cd` on PostgreSQL's text search. Both scores are mapped into 0…1 by
/// s / (s + 1), which keeps their order.
public struct ChunkRepository {
    let connection: any SQLSession

    public init(_ connection: any SQLSession) {
        self.connection = connection
    }

    /// Rows per INSERT statement: few statements, and few distinct ones to prepare.
    static let rowsPerInsert = 32

    public func insert(store: String, file: String, _ chunks: [Chunk]) throws {
        var start = 0
        while start < chunks.count {
            let rows = chunks[start..<min(chunks.count, start + Self.rowsPerInsert)]
            let placeholders = Array(repeating: "(?, ?, ?, ?, ?, ?)", count: rows.count).joined(separator: ", ")
            try connection.run("INSERT INTO chunks (vector_store_id, file_id, seq, text, fresh_from, embedding) VALUES \(placeholders)",
                               rows.flatMap { chunk -> [SQLValue] in
                                   [store.sqlite, file.sqlite, chunk.seq.sqlite, chunk.text.sqlite, chunk.freshFrom.sqlite,
                                    chunk.embedding.map(SQLValue.blob) ?? .null]
                               })
            start += rows.count
        }
    }

    /// Chunks by id, for hits found by vector similarity.
    public func find(ids: [Int]) throws -> [Int: ChunkHit] {
        guard !ids.isEmpty else { return [:] }
        let list = JSONValue.array(ids.map { .integer($0) }).columnText
        let source = connection.dialect == .sqlite ? "(SELECT value FROM json_each(?))" : "(SELECT CAST(jsonb_array_elements_text(CAST(? AS jsonb)) AS BIGINT))"
        let rows = try connection.query("SELECT id, vector_store_id, file_id, text FROM chunks WHERE id IN \(source)", [list]) { row in
            (try row.int("id"), ChunkHit(id: try row.int("id"), store: try row.string("vector_store_id"), file: try row.string("file_id"),
                                         text: try row.string("text"), score: 0))
        }
        return Dictionary(rows, uniquingKeysWith: { first, _ in first })
    }

    public func delete(store: String, file: String) throws {
        try connection.run("DELETE FROM chunks WHERE vector_store_id = ? AND file_id = ?", [store.sqlite, file.sqlite])
    }

    /// The file's text without the overlaps, piece by piece, from chunk `fromSeq` on.
    public func content(store: String, file: String, fromSeq: Int = 0, limit: Int) throws -> [(seq: Int, text: String)] {
        try connection.query("""
            SELECT seq, text, fresh_from FROM chunks WHERE vector_store_id = ? AND file_id = ? AND seq >= ? ORDER BY seq LIMIT ?
            """, [store.sqlite, file.sqlite, fromSeq.sqlite, limit.sqlite]) { row in
            let text = try row.string("text")
            let fresh = min(max(0, try row.int("fresh_from")), text.utf8.count)
            let utf8 = text.utf8
            return (try row.int("seq"), String(decoding: utf8[utf8.index(utf8.startIndex, offsetBy: fresh)...], as: UTF8.self))
        }
    }

    /// The best `limit` chunks of the stores for any of `terms`, optionally only of `files`.
    public func search(stores: [String], files: [String]?, terms: [String], limit: Int) throws -> [ChunkHit] {
        guard !terms.isEmpty, !stores.isEmpty, limit > 0, files.map({ !$0.isEmpty }) ?? true else { return [] }
        let storeList = JSONValue.array(stores.map(JSONValue.string)).columnText
        let fileList = files.map { JSONValue.array($0.map(JSONValue.string)).columnText }
        switch connection.dialect {
        case .sqlite:
            // Terms are quoted, so FTS5 reads them as words, never as its query syntax.
            let match = terms.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }.joined(separator: " OR ")
            let fileClause = fileList == nil ? "" : " AND c.file_id IN (SELECT value FROM json_each(?))"
            return try connection.query("""
                SELECT c.id, c.vector_store_id, c.file_id, c.text, -bm25(chunks_fts) AS rank
                FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid
                WHERE chunks_fts MATCH ? AND c.vector_store_id IN (SELECT value FROM json_each(?))\(fileClause)
                ORDER BY bm25(chunks_fts) LIMIT ?
                """, [.text(match), storeList] + (fileList.map { [$0] } ?? []) + [limit.sqlite], Self.hit)
        case .postgresql:
            let query = terms.map { "'" + $0.replacingOccurrences(of: "'", with: "''").replacingOccurrences(of: "\\", with: "") + "'" }
                .joined(separator: " | ")
            let fileClause = fileList == nil ? "" : " AND file_id IN (SELECT jsonb_array_elements_text(CAST(?3 AS jsonb)))"
            return try connection.query("""
                SELECT id, vector_store_id, file_id, text, CAST(ts_rank_cd(tsv, q) AS DOUBLE PRECISION) AS rank
                FROM chunks, to_tsquery('simple', ?1) q
                WHERE tsv @@ q AND vector_store_id IN (SELECT jsonb_array_elements_text(CAST(?2 AS jsonb)))\(fileClause)
                ORDER BY rank DESC LIMIT ?\(fileList == nil ? 3 : 4)
                """, [.text(query), storeList] + (fileList.map { [$0] } ?? []) + [limit.sqlite], Self.hit)
        }
    }

    private static func hit(_ row: any SQLRow) throws -> ChunkHit {
        let rank = max(0, try row.double("rank") ?? 0)
        return ChunkHit(id: try row.int("id"), store: try row.string("vector_store_id"), file: try row.string("file_id"), text: try row.string("text"),
                        score: rank / (rank + 1))
    }
}
