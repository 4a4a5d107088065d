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

    /// The text the previous chunk does not already hold.
    public var freshText: String {
        let utf8 = text.utf8
        let start = utf8.index(utf8.startIndex, offsetBy: min(max(0, freshFrom), utf8.count))
        return String(decoding: utf8[start...], as: UTF8.self)
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
///
/// A chunk is stored as its fresh text only; the overlap it shares with the chunk before it is
/// read back from that chunk when the chunk is found. So a word is written and indexed once (in
/// the chunk it first appears in), which halves what indexing writes at the usual 50% overlap.
public struct ChunkRepository {
    let connection: any SQLSession

    public init(_ connection: any SQLSession) {
        self.connection = connection
    }

    /// Rows per INSERT statement: few statements, and few distinct ones to prepare.
    static let rowsPerInsert = 32

    public func insert(store: String, file: String, _ chunks: [Chunk]) throws {
        // PostgreSQL indexes the text handed to it; SQLite's trigger indexes the row.
        let (row, width) = connection.dialect == .postgresql
            ? ("(?, ?, ?, ?, ?, ?, to_tsvector('simple', ?))", 7) : ("(?, ?, ?, ?, ?, ?)", 6)
        let columns = "vector_store_id, file_id, seq, text, overlap_bytes, embedding" + (width == 7 ? ", tsv" : "")
        var start = 0
        while start < chunks.count {
            let rows = chunks[start..<min(chunks.count, start + Self.rowsPerInsert)]
            let placeholders = Array(repeating: row, count: rows.count).joined(separator: ", ")
            try connection.run("INSERT INTO chunks (\(columns)) VALUES \(placeholders)", rows.flatMap { chunk -> [SQLValue] in
                let fresh = chunk.freshText.sqlite
                var values: [SQLValue] = [store.sqlite, file.sqlite, chunk.seq.sqlite, fresh, chunk.freshFrom.sqlite,
                                          chunk.embedding.map(SQLValue.blob) ?? .null]
                if width == 7 { values.append(fresh) }
                return values
            })
            start += rows.count
        }
    }

    public func delete(store: String, file: String) throws {
        try connection.run("DELETE FROM chunks WHERE vector_store_id = ? AND file_id = ?", [store.sqlite, file.sqlite])
    }

    /// The file's text without the overlaps, piece by piece, from chunk `fromSeq` on.
    public func content(store: String, file: String, fromSeq: Int = 0, limit: Int) throws -> [(seq: Int, text: String)] {
        try connection.query("""
            SELECT seq, text FROM chunks WHERE vector_store_id = ? AND file_id = ? AND seq >= ? ORDER BY seq LIMIT ?
            """, [store.sqlite, file.sqlite, fromSeq.sqlite, limit.sqlite]) { (try $0.int("seq"), try $0.string("text")) }
    }

    /// Does a bounded piece of merging SQLite's full-text index and returns whether more remains.
    /// The index is created without automatic merging (and merges at once only when 64 segments
    /// pile up on one level), which makes indexing about a quarter faster; searches then read
    /// more segments until these steps, run while no file is being indexed, merge them.
    public func mergeStep() throws -> Bool {
        guard connection.dialect == .sqlite else { return false }
        let before = try Self.totalChanges(connection)
        try connection.run("INSERT INTO chunks_fts (chunks_fts, rank) VALUES ('merge', 500)", [])
        // FTS5 counts two or more changes when the command merged anything.
        return try Self.totalChanges(connection) - before >= 2
    }

    private static func totalChanges(_ connection: any SQLSession) throws -> Int {
        try connection.queryOne("SELECT total_changes() AS n", []) { try $0.int("n") } ?? 0
    }

    /// Files restricted by name inside the full-text query up to this many; past it, by a join.
    static let maxScopedFiles = 200

    /// The best `limit` chunks of the stores for any of `terms`, optionally only of `files`.
    public func search(stores: [String], files: [String]?, terms: [String], limit: Int) throws -> [ChunkHit] {
        guard !terms.isEmpty, !stores.isEmpty, limit > 0, files.map({ !$0.isEmpty }) ?? true else { return [] }
        switch connection.dialect {
        case .sqlite:
            let total = try documents(Self.everyChunk)
            let words = try selective(terms, total: total)
            // Every part is quoted, so FTS5 reads words and ids, never its own query syntax.
            func quoted(_ items: [String]) -> String {
                "(" + items.map { "\"" + $0.replacingAll("\"", with: "\"\"") + "\"" }.joined(separator: " OR ") + ")"
            }
            var match = "text : \(quoted(words))"
            // Stores that hold every chunk need no confining (the usual single store).
            let scoped = try stores.reduce(0) { $0 + (try documents(Self.scopeWord(store: $1))) }
            if scoped < total { match = "scope : \(quoted(stores.map { Self.scopeWord(store: $0) })) AND " + match }
            var joined = ""
            var values: [SQLValue] = []
            if let files {
                if files.count <= Self.maxScopedFiles {
                    match += " AND scope : \(quoted(files.map { Self.scopeWord(file: $0) }))"
                } else {
                    joined = " AND rowid IN (SELECT id FROM chunks WHERE file_id IN (SELECT value FROM json_each(?)))"
                    values.append(JSONValue.array(files.map(JSONValue.string)).columnText)
                }
            }
            let ranked = try connection.query("""
                SELECT rowid AS id, -bm25(chunks_fts, 1.0, 0.0) AS rank FROM chunks_fts
                WHERE chunks_fts MATCH ?\(joined) ORDER BY bm25(chunks_fts, 1.0, 0.0) LIMIT ?
                """, [.text(match)] + values + [limit.sqlite]) { (try $0.int("id"), max(0, try $0.double("rank") ?? 0)) }
            let found = try find(ids: ranked.map(\.0))
            // A scope word is an id folded to lower case: what it matched is checked against the real ids.
            let allowedFiles = files.map(Set.init)
            return ranked.compactMap { id, rank in
                guard var hit = found[id], stores.contains(hit.store), allowedFiles?.contains(hit.file) ?? true else { return nil }
                hit.score = rank / (rank + 1)
                return hit
            }
        case .postgresql:
            let storeList = JSONValue.array(stores.map(JSONValue.string)).columnText
            let fileList = files.map { JSONValue.array($0.map(JSONValue.string)).columnText }
            let query = terms.map { "'" + $0.replacingAll("'", with: "''").replacingAll("\\", with: "") + "'" }
                .joined(separator: " | ")
            let fileClause = fileList == nil ? "" : " AND file_id IN (SELECT jsonb_array_elements_text(CAST(?3 AS jsonb)))"
            let found = try connection.query("""
                SELECT \(Self.hitColumns), CAST(ts_rank_cd(tsv, q) AS DOUBLE PRECISION) AS rank
                FROM chunks, to_tsquery('simple', ?1) q
                WHERE tsv @@ q AND vector_store_id IN (SELECT jsonb_array_elements_text(CAST(?2 AS jsonb)))\(fileClause)
                ORDER BY rank DESC LIMIT ?\(fileList == nil ? 3 : 4)
                """, [.text(query), storeList] + (fileList.map { [$0] } ?? []) + [limit.sqlite], Self.stored)
            return try withOverlaps(found)
        }
    }

    /// Below this many chunks every word is searched for: ranking them all is cheap.
    static let selectiveFrom = 1000

    /// The word every chunk's scope holds, whose count is the index's size.
    static let everyChunk = "runnelchunk"

    /// An id as the one word the index's `scope` holds for it (see the migration).
    static func scopeWord(store: String) -> String { store.replacingAll("_", with: "").lowercased() }
    static func scopeWord(file: String) -> String { file.replacingAll("-", with: "").lowercased() }

    /// Chunks holding `term` in any column.
    func documents(_ term: String) throws -> Int {
        try connection.queryOne("SELECT doc FROM chunks_terms WHERE term = ?", [term.sqlite]) { try $0.int("doc") } ?? 0
    }

    /// The terms that pick the candidates in a large index. A word in more than half of all
    /// chunks has no weight in BM25 and would make the search rank nearly every chunk, so it is
    /// left out; and while the query has a word in at most a tenth of the chunks, the words more
    /// common than that are left out of the candidate search too (as max-score retrieval skips
    /// low-impact terms): the best passages hold the rare words. Every word still counts in a
    /// passage's score. When every word is very common, the rarest one stays.
    func selective(_ terms: [String], total: Int) throws -> [String] {
        guard total >= Self.selectiveFrom else { return terms }
        let counted = try terms.map { ($0, try documents($0)) }
        let rare = counted.filter { $0.1 * 10 <= total }.map(\.0)
        if !rare.isEmpty { return rare }
        let weighty = counted.filter { $0.1 * 2 <= total }.map(\.0)
        if !weighty.isEmpty { return weighty }
        return counted.min { $0.1 < $1.1 }.map { [$0.0] } ?? terms
    }

    /// Chunks by id, for hits found by vector similarity.
    public func find(ids: [Int]) throws -> [Int: ChunkHit] {
        guard !ids.isEmpty else { return [:] }
        let list = JSONValue.array(ids.map { .integer($0) }).columnText
        let source = connection.dialect == .sqlite ? "(SELECT value FROM json_each(?))" : "(SELECT CAST(jsonb_array_elements_text(CAST(? AS jsonb)) AS BIGINT))"
        let rows = try connection.query("SELECT \(Self.hitColumns), CAST(0 AS DOUBLE PRECISION) AS rank FROM chunks WHERE id IN \(source)", [list], Self.stored)
        return Dictionary(try withOverlaps(rows).map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// A found chunk as stored: its own text, and how much of the chunks before it it starts with.
    private struct StoredHit {
        var hit: ChunkHit
        var seq: Int
        var overlapBytes: Int
    }

    private static let hitColumns = "id, vector_store_id, file_id, seq, text, overlap_bytes"

    private static func stored(_ row: any SQLRow) throws -> StoredHit {
        let rank = max(0, try row.double("rank") ?? 0)
        return StoredHit(hit: ChunkHit(id: try row.int("id"), store: try row.string("vector_store_id"), file: try row.string("file_id"),
                                       text: try row.string("text"), score: rank / (rank + 1)),
                         seq: try row.int("seq"), overlapBytes: try row.int("overlap_bytes"))
    }

    /// The chunks' text as cut: the overlap, read back from the end of the chunks before each,
    /// then the chunk's own text. An overlap is at most half a chunk, so it almost always lies in
    /// the one chunk before; a short one before it sends the reading further back.
    private func withOverlaps(_ found: [StoredHit]) throws -> [ChunkHit] {
        try found.map { stored in
            var hit = stored.hit
            var needed = stored.overlapBytes
            var seq = stored.seq - 1
            var overlap: [UInt8] = []
            while needed > 0, seq >= 0 {
                guard let before = try connection.queryOne("""
                    SELECT text FROM chunks WHERE vector_store_id = ? AND file_id = ? AND seq = ?
                    """, [hit.store.sqlite, hit.file.sqlite, seq.sqlite], { Array(try $0.string("text").utf8) }) else { break }
                let taken = before.suffix(needed)
                overlap.insert(contentsOf: taken, at: 0)
                needed -= taken.count
                seq -= 1
            }
            if !overlap.isEmpty { hit.text = String(decoding: overlap + Array(hit.text.utf8), as: UTF8.self) }
            return hit
        }
    }
}
