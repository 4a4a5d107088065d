import FoundationEssentials
import RunsDomain

/// A source of embedding vectors (`POST {base}/embeddings`), for ranking search by meaning.
public protocol EmbeddingBackend: Sendable {
    /// One vector per text, in order; all of one length.
    func embed(_ texts: [String], model: String) async throws -> [[Float]]
}

extension OpenAICompatibleBackend: EmbeddingBackend {
    /// The largest answer read: 2,048 vectors of 8,192 numbers written out is well below it.
    static let maxEmbeddingAnswerBytes = 256 << 20
    static let maxDimensions = 16_384

    public func embed(_ texts: [String], model: String) async throws -> [[Float]] {
        guard !texts.isEmpty else { return [] }
        let body: JSONValue = ["model": .string(model), "input": .array(texts.map(JSONValue.string)), "encoding_format": "float"]
        var answer: [UInt8] = []
        try await post("/embeddings", body) { bytes in
            answer += bytes
            guard answer.count <= Self.maxEmbeddingAnswerBytes else {
                throw BackendError(.serverError, "The embedding server's answer grew past \(Self.maxEmbeddingAnswerBytes) bytes.")
            }
        }
        return try Self.vectors(answer, count: texts.count)
    }

    /// The vectors of an embeddings answer, checked: one per input, by `index`, finite numbers,
    /// all the same length.
    static func vectors(_ answer: [UInt8], count: Int) throws -> [[Float]] {
        guard let json = try? JSONValue.parse(answer), let data = json["data"]?.arrayValue else {
            throw BackendError(.serverError, "The embedding server's answer is not an embeddings list.")
        }
        var vectors = [[Float]?](repeating: nil, count: count)
        for (position, item) in data.enumerated() {
            let index = item["index"].flatMap { if case .integer(let n) = $0 { n } else { nil } } ?? position
            guard vectors.indices.contains(index), vectors[index] == nil, let numbers = item["embedding"]?.arrayValue,
                  !numbers.isEmpty, numbers.count <= maxDimensions else {
                throw BackendError(.serverError, "The embedding server's answer has a missing, repeated or malformed vector.")
            }
            vectors[index] = try numbers.map { number -> Float in
                let value: Double? = switch number {
                case .number(let value): value
                case .integer(let value): Double(value)
                default: nil
                }
                guard let value, value.isFinite else { throw BackendError(.serverError, "The embedding server sent a number that is not finite.") }
                return Float(value)
            }
        }
        let result = vectors.compactMap { $0 }
        guard result.count == count, Set(result.map(\.count)).count == 1 else {
            throw BackendError(.serverError, "The embedding server answered \(result.count) vectors of differing lengths for \(count) texts.")
        }
        return result
    }
}
