import RunsDomain
import RunsStorage

/// What to look for in a set of vector stores.
public struct SearchRequest: Sendable {
    public var queries: [String]
    public var maxResults: Int
    public var filter: AttributeFilter?
    public var scoreThreshold: Double
    /// The queries' embeddings, when search also ranks by meaning.
    public var queryVectors: [[Float]]?

    public init(queries: [String], maxResults: Int, filter: AttributeFilter? = nil, scoreThreshold: Double = 0,
                queryVectors: [[Float]]? = nil) {
        self.queries = queries
        self.maxResults = maxResults
        self.filter = filter
        self.scoreThreshold = scoreThreshold
        self.queryVectors = queryVectors
    }
}

public struct SearchResult: Sendable, Equatable {
    public var fileID: String
    public var filename: String
    public var score: Double
    public var attributes: JSONValue
    public var text: String
}

/// Search over the completed files of some vector stores, ranked by full-text relevance.
///
/// The index's best candidates (three times as many as asked for) are scored from 0 to 1 as
/// 0.7 × the share of the query's words the passage holds + 0.3 × its BM25 rank mapped into 0…1,
/// and the best by that score are returned: a score means the same whatever the corpus size,
/// so `score_threshold` does too.
///
/// With an embedding model the candidates are the union of the full-text and the nearest-vector
/// ones, and the score fuses both: 0.5 × the share of words + 0.5 × cosine similarity (0 for a
/// passage not among the nearest).
public enum FileSearch {
    /// The most words of a query searched for.
    public static let maxTerms = 64

    /// The words of a query as the indexes split text: runs of letters and digits, lowercased.
    public static func terms(_ query: String, limit: Int = maxTerms) -> [String] {
        var terms: [String] = []
        var seen = Set<String>()
        var current = ""
        func end() {
            if !current.isEmpty, terms.count < limit, seen.insert(current).inserted { terms.append(current) }
            current = ""
        }
        for character in query.lowercased() {
            if character.isLetter || character.isNumber { current.append(character) } else { end() }
        }
        end()
        return terms
    }

    static func score(_ hit: ChunkHit, words: [String]) -> Double {
        min(1, max(0, 0.7 * coverage(hit, words: words) + 0.3 * hit.score))
    }

    /// The share of the query's words the passage holds.
    static func coverage(_ hit: ChunkHit, words: [String]) -> Double {
        guard !words.isEmpty else { return 0 }
        let present = Set(terms(hit.text, limit: .max))
        return Double(words.filter(present.contains).count) / Double(words.count)
    }

    public static func search(_ db: any SQLSession, project: String, stores: [String], _ request: SearchRequest,
                              embeddings: Embeddings? = nil) throws -> [SearchResult] {
        let files = try VectorStoreFileRepository(db, project: project).searchable(stores: stores)
        let usable = files.filter { $0.status == .completed && (request.filter?.matches($0.attributes) ?? true) }
        let attributes = Dictionary(usable.map { ($0.file, $0.attributes) }, uniquingKeysWith: { first, _ in first })
        // Chunks of files still being indexed (or filtered out) must not be found.
        let restrict = usable.count < files.count ? Array(Set(usable.map(\.file))) : nil
        var best: [String: ChunkHit] = [:]
        let chunks = ChunkRepository(db)
        for (index, query) in request.queries.enumerated() {
            let words = terms(query)
            var candidates = try chunks.search(stores: stores, files: restrict, terms: words, limit: request.maxResults * 3)
            var similarity: [Int: Double] = [:]
            if let embeddings, let vector = request.queryVectors?[index] {
                let nearest = try embeddings.nearest(db, stores: stores, files: restrict.map(Set.init), query: vector,
                                                     limit: request.maxResults * 3)
                similarity = Dictionary(nearest.map { ($0.id, $0.score) }, uniquingKeysWith: max)
                let known = Set(candidates.map(\.id))
                candidates += try chunks.find(ids: nearest.map(\.id).filter { !known.contains($0) }).values
            }
            for var hit in candidates {
                hit.score = request.queryVectors == nil
                    ? score(hit, words: words)
                    : min(1, max(0, 0.5 * coverage(hit, words: words) + 0.5 * max(0, similarity[hit.id] ?? 0)))
                guard hit.score >= request.scoreThreshold else { continue }
                let key = hit.store + "\u{0}" + hit.file + "\u{0}" + hit.text
                if best[key].map({ $0.score < hit.score }) ?? true { best[key] = hit }
            }
        }
        let ranked = best.values.sorted { $0.score != $1.score ? $0.score > $1.score : ($0.file, $0.text) < ($1.file, $1.text) }
            .prefix(request.maxResults)
        var names: [String: String] = [:]
        let repository = FileRepository(db, project: project)
        return try ranked.map { hit in
            if names[hit.file] == nil { names[hit.file] = try repository.find(hit.file)?.filename ?? hit.file }
            return SearchResult(fileID: hit.file, filename: names[hit.file] ?? hit.file, score: hit.score,
                                attributes: attributes[hit.file] ?? [:], text: hit.text)
        }
    }
}
