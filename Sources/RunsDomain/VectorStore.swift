/// A searchable collection of files.
public struct VectorStore: Sendable, Equatable {
    public var id: String
    public var createdAt: Int
    public var name: String?
    public var metadata: JSONValue
    /// `{"anchor": "last_active_at", "days": N}` or nil.
    public var expiresAfter: JSONValue?
    public var lastActiveAt: Int

    public init(id: String, createdAt: Int, name: String?, metadata: JSONValue, expiresAfter: JSONValue?, lastActiveAt: Int) {
        self.id = id
        self.createdAt = createdAt
        self.name = name
        self.metadata = metadata
        self.expiresAfter = expiresAfter
        self.lastActiveAt = lastActiveAt
    }

    public var expiresAt: Int? {
        guard case .integer(let days)? = expiresAfter?["days"] else { return nil }
        return lastActiveAt + days * 86_400
    }

    public func isExpired(now: Int) -> Bool { expiresAt.map { $0 <= now } ?? false }
}

public enum VectorStoreFileStatus: String, Sendable, CaseIterable {
    case inProgress = "in_progress"
    case completed
    case cancelled
    case failed
}

/// How many of a store's (or a batch's) files are in each state.
public struct FileCounts: Sendable, Equatable {
    public var inProgress = 0
    public var completed = 0
    public var failed = 0
    public var cancelled = 0

    public init() {}

    public var total: Int { inProgress + completed + failed + cancelled }

    public mutating func add(_ status: VectorStoreFileStatus, _ count: Int) {
        switch status {
        case .inProgress: inProgress += count
        case .completed: completed += count
        case .failed: failed += count
        case .cancelled: cancelled += count
        }
    }
}

/// A file in a vector store, with its ingestion state.
public struct VectorStoreFile: Sendable, Equatable {
    public var vectorStoreID: String
    public var fileID: String
    public var createdAt: Int
    public var status: VectorStoreFileStatus
    /// `{"code", "message"}` once ingestion failed.
    public var lastError: JSONValue?
    public var usageBytes: Int
    public var chunking: ChunkingStrategy
    public var attributes: JSONValue
    public var batchID: String?

    public init(vectorStoreID: String, fileID: String, createdAt: Int, status: VectorStoreFileStatus = .inProgress,
                lastError: JSONValue? = nil, usageBytes: Int = 0, chunking: ChunkingStrategy, attributes: JSONValue,
                batchID: String? = nil) {
        self.vectorStoreID = vectorStoreID
        self.fileID = fileID
        self.createdAt = createdAt
        self.status = status
        self.lastError = lastError
        self.usageBytes = usageBytes
        self.chunking = chunking
        self.attributes = attributes
        self.batchID = batchID
    }
}

public struct VectorStoreFileBatch: Sendable, Equatable {
    public var id: String
    public var vectorStoreID: String
    public var createdAt: Int
    public var cancelled: Bool
    public var counts: FileCounts

    public init(id: String, vectorStoreID: String, createdAt: Int, cancelled: Bool, counts: FileCounts) {
        self.id = id
        self.vectorStoreID = vectorStoreID
        self.createdAt = createdAt
        self.cancelled = cancelled
        self.counts = counts
    }

    public var status: String {
        if cancelled { return "cancelled" }
        if counts.inProgress > 0 { return "in_progress" }
        return counts.total > 0 && counts.failed == counts.total ? "failed" : "completed"
    }
}
