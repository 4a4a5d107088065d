/// Settings of Files, Vector Stores and `file_search`.
public struct RetrievalSettings: Sendable {
    /// The largest file `POST /files` accepts.
    public var maxFileBytes: Int
    /// Files parsed, chunked and indexed at once by this node.
    public var ingestionWorkers: Int
    /// An embedding model on the upstream (`/embeddings`); nil ranks by full-text search alone.
    public var embeddingModel: String?
    /// How long `pdftotext` may take for one file.
    public var pdfTimeoutSeconds: Double

    public init(maxFileBytes: Int = 512 << 20, ingestionWorkers: Int = 2, embeddingModel: String? = nil,
                pdfTimeoutSeconds: Double = 60) {
        self.maxFileBytes = maxFileBytes
        self.ingestionWorkers = ingestionWorkers
        self.embeddingModel = embeddingModel
        self.pdfTimeoutSeconds = pdfTimeoutSeconds
    }
}
