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
    /// ASCII, nearly all of most text, is read byte by byte; other characters one scalar at a time.
    public static func terms(_ query: String, limit: Int = maxTerms) -> [String] {
        var terms: [String] = []
        var seen = Set<String>()
        var ascii: [UInt8] = []
        var other = ""
        func end() {
            guard !ascii.isEmpty || !other.isEmpty else { return }
            let word = other.isEmpty ? String(decoding: ascii, as: UTF8.self) : (String(decoding: ascii, as: UTF8.self) + other).lowercased()
            if terms.count < limit, seen.insert(word).inserted { terms.append(word) }
            ascii.removeAll(keepingCapacity: true)
            other = ""
        }
        for scalar in query.unicodeScalars {
            let value = scalar.value
            if value < 0x80 {
                let byte = UInt8(value)
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    if other.isEmpty { ascii.append(byte) } else { other.unicodeScalars.append(scalar) }
                case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                    if other.isEmpty { ascii.append(byte + 32) } else { other.unicodeScalars.append(Unicode.Scalar(byte + 32)) }
                default:
                    end()
                }
            } else if scalar.properties.isAlphabetic || scalar.properties.numericType != nil {
                other.unicodeScalars.append(scalar)
            } else {
                end()
            }
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
        let found: Int
        if let hashes = asciiWordHashes(hit.text), words.allSatisfy({ $0.utf8.allSatisfy { $0 < 0x80 } }) {
            found = words.filter { hashes.contains(hash($0.utf8)) }.count
        } else {
            let present = Set(terms(hit.text, limit: .max))
            found = words.filter(present.contains).count
        }
        return Double(found) / Double(words.count)
    }

    /// The words of an all-ASCII text as hashes of their lowercased bytes (no string is made per
    /// word: passages are scored many times per search); nil when the text is not all ASCII.
    static func asciiWordHashes(_ text: String) -> Set<UInt64>? {
        var hashes = Set<UInt64>()
        var current: UInt64 = basis
        var inWord = false
        for byte in text.utf8 {
            guard byte < 0x80 else { return nil }
            let lowered = byte >= 65 && byte <= 90 ? byte + 32 : byte
            if (lowered >= 97 && lowered <= 122) || (lowered >= 48 && lowered <= 57) {
                current = (current ^ UInt64(lowered)) &* prime
                inWord = true
            } else if inWord {
                hashes.insert(current)
                current = basis
                inWord = false
            }
        }
        if inWord { hashes.insert(current) }
        return hashes
    }

    /// FNV-1a over already lowercased bytes.
    static func hash(_ bytes: some Sequence<UInt8>) -> UInt64 {
        bytes.reduce(basis) { ($0 ^ UInt64($1)) &* prime }
    }

    static let basis: UInt64 = 0xcbf2_9ce4_8422_2325
    static let prime: UInt64 = 0x100_0000_01b3

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
