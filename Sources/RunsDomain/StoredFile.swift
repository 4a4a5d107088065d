/// An uploaded file's description; its bytes are kept apart, in pieces.
public struct StoredFile: Sendable, Equatable {
    public var id: String
    public var createdAt: Int
    public var filename: String
    public var purpose: String
    public var bytes: Int
    public var expiresAt: Int?

    public init(id: String, createdAt: Int, filename: String, purpose: String, bytes: Int, expiresAt: Int? = nil) {
        self.id = id
        self.createdAt = createdAt
        self.filename = filename
        self.purpose = purpose
        self.bytes = bytes
        self.expiresAt = expiresAt
    }

    /// Files uploaded for batches expire after 30 days unless told otherwise, as OpenAI's did.
    public static let batchExpirySeconds = 30 * 86_400

    /// What `POST /files` accepts (the `*_output` purposes are only ever given by OpenAI itself).
    public static let uploadPurposes = ["assistants", "batch", "fine-tune", "vision", "user_data", "evals"]
    /// Purposes whose files a message may show as an image.
    public static let imagePurposes = ["vision", "assistants", "user_data"]
}
