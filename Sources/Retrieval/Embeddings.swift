import FoundationEssentials
import Glibc
import ModelBackends
import RunsDomain
import RunsStorage
import Synchronization

/// The embedding model search ranks with besides full-text search, and the vectors of the
/// stores' chunks held in memory for it (brute force: exact, and fast enough for stores of
/// some hundred thousand chunks).
public final class Embeddings: Sendable {
    public let backend: any EmbeddingBackend
    public let model: String
    /// Texts per request to the embedding server.
    static let batchSize = 64
    /// Vectors kept in memory over all stores; past it the cache starts over.
    static let maxCachedFloats = 64 << 20

    private let cache = Mutex<[String: StoreVectors]>([:])

    public init(backend: any EmbeddingBackend, model: String) {
        self.backend = backend
        self.model = model
    }

    /// Unit-length vectors of `texts`.
    public func vectors(_ texts: [String]) async throws -> [[Float]] {
        var vectors: [[Float]] = []
        vectors.reserveCapacity(texts.count)
        var start = 0
        while start < texts.count {
            let batch = Array(texts[start..<min(texts.count, start + Self.batchSize)])
            vectors += try await backend.embed(batch, model: model).map(Self.normalized)
            start += batch.count
        }
        return vectors
    }

    static func normalized(_ vector: [Float]) -> [Float] {
        let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? vector.map { $0 / norm } : vector
    }

    static func blob(_ vector: [Float]) -> [UInt8] {
        vector.withUnsafeBytes { Array($0) }
    }

    static func vector(_ blob: [UInt8]) -> [Float] {
        [Float](unsafeUninitializedCapacity: blob.count / 4) { buffer, count in
            _ = blob.withUnsafeBytes { memcpy(buffer.baseAddress!, $0.baseAddress!, blob.count / 4 * 4) }
            count = blob.count / 4
        }
    }

    /// The `limit` chunks of the stores nearest to `query` (cosine similarity), among `files` if given.
    func nearest(_ db: any SQLSession, stores: [String], files: Set<String>?, query: [Float], limit: Int) throws -> [(id: Int, score: Double)] {
        var scored: [(id: Int, score: Double)] = []
        for store in stores {
            let vectors = try storeVectors(db, store: store)
            guard vectors.dimensions == query.count else { continue }
            vectors.floats.withUnsafeBufferPointer { floats in
                for row in vectors.ids.indices {
                    if let files, !files.contains(vectors.files[row]) { continue }
                    var dot: Float = 0
                    let base = row * vectors.dimensions
                    for column in 0..<vectors.dimensions { dot += floats[base + column] * query[column] }
                    scored.append((vectors.ids[row], Double(dot)))
                }
            }
        }
        return Array(scored.sorted { $0.score > $1.score }.prefix(limit))
    }

    /// A store's vectors, from the cache while its chunks are unchanged (same count, same newest id).
    private func storeVectors(_ db: any SQLSession, store: String) throws -> StoreVectors {
        let signature = try db.queryOne("SELECT COUNT(*) AS n, COALESCE(MAX(id), 0) AS newest FROM chunks WHERE vector_store_id = ?",
                                        [.text(store)]) { "\(try $0.int("n")):\(try $0.int("newest"))" } ?? ""
        if let cached = cache.withLock({ $0[store] }), cached.signature == signature { return cached }
        var loaded = StoreVectors(signature: signature)
        for row in try db.query("SELECT id, file_id, embedding FROM chunks WHERE vector_store_id = ? AND embedding IS NOT NULL",
                                [.text(store)], { (try $0.int("id"), try $0.string("file_id"), try $0.bytes("embedding")) }) {
            let vector = Self.vector(row.2)
            if loaded.dimensions == 0 { loaded.dimensions = vector.count }
            guard vector.count == loaded.dimensions else { continue }
            loaded.ids.append(row.0)
            loaded.files.append(row.1)
            loaded.floats += vector
        }
        cache.withLock { cache in
            if cache.values.reduce(loaded.floats.count, { $0 + $1.floats.count }) > Self.maxCachedFloats { cache.removeAll() }
            cache[store] = loaded
        }
        return loaded
    }
}

struct StoreVectors: Sendable {
    var signature: String
    var dimensions = 0
    var ids: [Int] = []
    var files: [String] = []
    var floats: [Float] = []
}
