/// How a file's text is cut into chunks. Tokens are counted as the echo model counts them: one
/// per whitespace-separated word.
public struct ChunkingStrategy: Sendable, Equatable {
    public var maxTokens: Int
    public var overlapTokens: Int
    /// Chosen by the server (`auto`) rather than the client; the wire says `static` either way.
    public var isAuto: Bool

    public static let auto = ChunkingStrategy(maxTokens: 800, overlapTokens: 400, isAuto: true)

    public init(maxTokens: Int, overlapTokens: Int, isAuto: Bool = false) {
        self.maxTokens = maxTokens
        self.overlapTokens = overlapTokens
        self.isAuto = isAuto
    }

    /// `{"type": "auto"}` or `{"type": "static", "static": {max_chunk_size_tokens, chunk_overlap_tokens}}`.
    public static func parse(_ field: Field<JSONValue>, param: String = "chunking_strategy") throws(APIError) -> ChunkingStrategy? {
        guard case .value(let value) = field else { return nil }
        let object = try RequestObject(value, path: param, allowed: ["type", "static"])
        let type = try object.requiredString("type")
        try Validate.oneOf(type, ["auto", "static"], param: object.param("type"))
        if type == "auto" {
            guard try object.nonNull("static", expected: "an object") == nil else {
                throw .invalid("Invalid '\(object.param("static"))': only a `static` strategy takes settings.", param: object.param("static"))
            }
            return .auto
        }
        let settings = try RequestObject(try object.required("static"), path: object.param("static"),
                                         allowed: ["max_chunk_size_tokens", "chunk_overlap_tokens"])
        guard let size = try settings.integer("max_chunk_size_tokens", minimum: 100, maximum: 4096, nullable: false).value else {
            throw .invalid("Missing required parameter: '\(settings.param("max_chunk_size_tokens"))'.",
                           param: settings.param("max_chunk_size_tokens"), code: "missing_required_parameter")
        }
        guard let overlap = try settings.integer("chunk_overlap_tokens", minimum: 0, nullable: false).value else {
            throw .invalid("Missing required parameter: '\(settings.param("chunk_overlap_tokens"))'.",
                           param: settings.param("chunk_overlap_tokens"), code: "missing_required_parameter")
        }
        guard overlap <= size / 2 else {
            throw .invalid("Invalid '\(settings.param("chunk_overlap_tokens"))': \(overlap). The overlap must not exceed half of max_chunk_size_tokens (\(size / 2)).",
                           param: settings.param("chunk_overlap_tokens"), code: "invalid_value")
        }
        return ChunkingStrategy(maxTokens: size, overlapTokens: overlap)
    }

    public var wire: JSONValue {
        ["type": "static", "static": ["max_chunk_size_tokens": .integer(maxTokens), "chunk_overlap_tokens": .integer(overlapTokens)]]
    }

    /// As stored: the wire form, with `auto` remembered.
    public var stored: JSONValue {
        ["type": isAuto ? "auto" : "static", "max_chunk_size_tokens": .integer(maxTokens), "chunk_overlap_tokens": .integer(overlapTokens)]
    }

    public init?(stored: JSONValue) {
        guard case .integer(let size)? = stored["max_chunk_size_tokens"], case .integer(let overlap)? = stored["chunk_overlap_tokens"] else {
            return nil
        }
        self.init(maxTokens: size, overlapTokens: overlap, isAuto: stored["type"]?.stringValue == "auto")
    }
}
