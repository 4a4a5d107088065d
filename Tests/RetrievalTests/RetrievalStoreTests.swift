import StoreTestSupport
import Testing
@testable import Retrieval
@testable import RunsDomain
@testable import RunsStorage

/// Chunks, search, blobs and ingestion claims behave the same on SQLite and PostgreSQL.
struct RetrievalStoreTests {
    static func seed(_ db: any SQLSession, files: [(id: String, text: String, attributes: JSONValue)], store: String = "vs_1") throws {
        try VectorStoreRepository(db, project: "p").insert(VectorStore(id: store, createdAt: 1, name: nil, metadata: [:],
                                                                        expiresAfter: nil, lastActiveAt: 1))
        for file in files {
            let repository = FileRepository(db, project: "p")
            try repository.beginUpload(id: file.id, createdAt: 1, filename: file.id + ".txt", now: 1)
            try repository.appendPiece(fileID: file.id, seq: 0, data: Array(file.text.utf8), now: 1)
            _ = try repository.complete(fileID: file.id, filename: file.id + ".txt", purpose: "assistants", bytes: file.text.utf8.count)
            try VectorStoreFileRepository(db, project: "p").upsert(VectorStoreFile(
                vectorStoreID: store, fileID: file.id, createdAt: 1, status: .completed, chunking: .auto, attributes: file.attributes))
            try ChunkRepository(db).insert(store: store, file: file.id, [Chunk(seq: 0, text: file.text, freshFrom: 0)])
        }
    }

    @Test(arguments: StoreKind.available)
    func searchRanksFiltersAndForgetsDeletedFiles(kind: StoreKind) throws {
        let temporary = try TemporaryDatabase(kind)
        let results = try temporary.database.writeNow { db -> [[String]] in
            try Self.seed(db, files: [
                ("file-a", "Foxes are clever animals; the fox hunts at night.", ["kind": "mammal"]),
                ("file-b", "Whales are the largest animals.", ["kind": "mammal"]),
                ("file-c", "Sharks are fish \u{0} with cartilage.", ["kind": "fish"]),
            ])
            func search(_ query: String, filter: AttributeFilter? = nil, threshold: Double = 0) throws -> [String] {
                try FileSearch.search(db, project: "p", stores: ["vs_1"],
                                      SearchRequest(queries: [query], maxResults: 10, filter: filter, scoreThreshold: threshold)).map(\.fileID)
            }
            let fish = AttributeFilter.compare(op: "eq", key: "kind", value: "fish")
            let first = [try search("clever fox"), try search("animals fish", filter: fish), try search("\"quoted\" OR NEAR(x)"),
                         try search("foxes animals clever", threshold: 0.6), try search("in another project")]
            _ = try FileRepository(db, project: "p").delete("file-a")
            return first + [try search("clever fox animals")]
        }
        #expect(results[0] == ["file-a"])
        #expect(results[1] == ["file-c"])
        #expect(results[2] == [])
        #expect(results[3] == ["file-a"])
        #expect(results[4] == [])
        #expect(results[5] == ["file-b"])
    }

    @Test(arguments: StoreKind.available)
    func aSearchStaysInItsStoresAndFiles(kind: StoreKind) throws {
        let temporary = try TemporaryDatabase(kind)
        let found = try temporary.database.writeNow { db -> [[String]] in
            try Self.seed(db, files: [("file-a", "the red fox", [:]), ("file-b", "a red fox again", [:])], store: "vs_1")
            try Self.seed(db, files: [("file-c", "red foxes and a red fox", [:])], store: "vs_2")
            let repository = ChunkRepository(db)
            func search(_ stores: [String], files: [String]? = nil) throws -> [String] {
                try repository.search(stores: stores, files: files, terms: ["red", "fox"], limit: 10).map(\.file).sorted()
            }
            return [try search(["vs_1"]), try search(["vs_2"]), try search(["vs_1", "vs_2"]), try search(["vs_1"], files: ["file-b"])]
        }
        #expect(found == [["file-a", "file-b"], ["file-c"], ["file-a", "file-b", "file-c"], ["file-b"]])
    }

    /// Chunks are stored without their overlap; found, they read back exactly as cut, also when
    /// the overlap reaches back over several chunks.
    @Test(arguments: StoreKind.available)
    func foundChunksGetTheirOverlapBack(kind: StoreKind) throws {
        let temporary = try TemporaryDatabase(kind)
        let text = (0..<40).map { "w\($0)é" }.joined(separator: " \n")
        for overlap in [4, 8] {
            let cut = ChunkerTests.chunks(text, size: 10, overlap: overlap, feedSize: 7)
            let store = "vs_\(overlap)"
            let (found, content) = try temporary.database.writeNow { db in
                try Self.seed(db, files: [], store: store)
                let repository = ChunkRepository(db)
                try repository.insert(store: store, file: "file-t", cut)
                let ids = try db.query("SELECT id FROM chunks WHERE vector_store_id = ? ORDER BY seq", [store.sqlite]) { try $0.int("id") }
                let found = try repository.find(ids: ids)
                return (ids.compactMap { found[$0]?.text }, try repository.content(store: store, file: "file-t", limit: 100).map(\.text))
            }
            #expect(found == cut.map(\.text))
            #expect(content.joined() == text)
        }
    }

    /// Indexing leaves segments unmerged; the merge steps end, and searches find the same.
    @Test(arguments: StoreKind.available)
    func theIndexMergesInStepsThatEnd(kind: StoreKind) throws {
        let temporary = try TemporaryDatabase(kind)
        try temporary.database.writeNow { try Self.seed($0, files: []) }
        for file in 0..<12 {
            try temporary.database.writeNow { db in
                try ChunkRepository(db).insert(store: "vs_1", file: "file-\(file)", (0..<20).map {
                    Chunk(seq: $0, text: "common word\(file)x\($0) tail", freshFrom: 0)
                })
            }
        }
        func search() throws -> [Int] {
            try temporary.database.readNow { try ChunkRepository($0).search(stores: ["vs_1"], files: nil, terms: ["common", "word3x7"], limit: 300) }
                .map(\.id).sorted()
        }
        let before = try search()
        var steps = 0
        while try temporary.database.writeNow({ try ChunkRepository($0).mergeStep() }) {
            steps += 1
            try #require(steps < 1000)
        }
        #expect(try search() == before && before.count == 240)
        // Twelve transactions left twelve segments on SQLite; PostgreSQL's index needs no steps.
        #expect(kind == .sqlite ? steps > 0 : steps == 0)
    }

    @Test(arguments: StoreKind.available)
    func blobsRoundTripEveryByte(kind: StoreKind) throws {
        let temporary = try TemporaryDatabase(kind)
        let bytes = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let read = try temporary.database.writeNow { db -> [[UInt8]?] in
            let files = FileRepository(db, project: "p")
            try files.beginUpload(id: "file-x", createdAt: 1, filename: "x.bin", now: 1)
            try files.appendPiece(fileID: "file-x", seq: 0, data: bytes, now: 1)
            try files.appendPiece(fileID: "file-x", seq: 1, data: [], now: 1)
            return [try FileRepository.piece(db, fileID: "file-x", seq: 0), try FileRepository.piece(db, fileID: "file-x", seq: 1),
                    try FileRepository.piece(db, fileID: "file-x", seq: 2)]
        }
        #expect(read == [bytes, [], nil])
    }

    @Test(arguments: StoreKind.available)
    func claimsAreExclusiveRenewableAndGiveUpAfterTheirAttempts(kind: StoreKind) throws {
        let temporary = try TemporaryDatabase(kind)
        try temporary.database.writeNow { db in
            try Self.seed(db, files: [])
            for id in ["file-1", "file-2"] {
                try VectorStoreFileRepository(db, project: "p").upsert(VectorStoreFile(
                    vectorStoreID: "vs_1", fileID: id, createdAt: 1, chunking: .auto, attributes: [:]))
            }
        }
        func claim(_ node: String, at now: Int) throws -> String? {
            try temporary.database.writeNow { db in
                try IngestionQueue.claim(db, node: node, nowMilliseconds: now, leaseMilliseconds: 1000, maxAttempts: 2)?.file
            }
        }
        #expect(try claim("a", at: 0) == "file-1")
        #expect(try claim("b", at: 10) == "file-2")
        #expect(try claim("c", at: 20) == nil)
        // a's lease runs out; c takes file-1 over, and a's renewal and ending are refused.
        #expect(try claim("c", at: 2000) == "file-1")
        let claimA = IngestionClaim(project: "p", store: "vs_1", file: "file-1", chunking: .auto)
        #expect(try temporary.database.writeNow { try IngestionQueue.renew($0, claimA, node: "a", until: 5000) } == false)
        #expect(try temporary.database.writeNow {
            try IngestionQueue.finish($0, store: "vs_1", file: "file-1", node: "a", status: .completed, usageBytes: 1, error: nil)
        } == false)
        // file-1 had its two attempts: it fails, and the next waiting file is claimed instead.
        #expect(try claim("d", at: 4000) == "file-2")
        let status = try temporary.database.readNow { db in
            try VectorStoreFileRepository(db, project: "p").find(store: "vs_1", file: "file-1")
        }
        #expect(status?.status == .failed)
        #expect(status?.lastError?["code"] == "server_error")
    }
}
