import RunsDomain

extension FileCounts {
    public var wire: JSONValue {
        ["in_progress": .integer(inProgress), "completed": .integer(completed), "failed": .integer(failed),
         "cancelled": .integer(cancelled), "total": .integer(total)]
    }
}

extension VectorStore {
    public func wire(counts: FileCounts, usageBytes: Int, now: Int) -> JSONValue {
        let status = isExpired(now: now) ? "expired" : (counts.inProgress > 0 ? "in_progress" : "completed")
        return [
            "id": .string(id), "object": "vector_store", "created_at": .integer(createdAt), "name": JSONValue(name),
            "usage_bytes": .integer(usageBytes), "file_counts": counts.wire, "status": .string(status),
            "expires_after": expiresAfter ?? .null, "expires_at": JSONValue(expiresAt), "last_active_at": .integer(lastActiveAt),
            "metadata": metadata,
        ]
    }
}

extension VectorStoreFile {
    public var wire: JSONValue {
        [
            "id": .string(fileID), "object": "vector_store.file", "usage_bytes": .integer(usageBytes), "created_at": .integer(createdAt),
            "vector_store_id": .string(vectorStoreID), "status": .string(status.rawValue), "last_error": lastError ?? .null,
            "chunking_strategy": chunking.wire, "attributes": attributes,
        ]
    }
}

extension VectorStoreFileBatch {
    public var wire: JSONValue {
        [
            "id": .string(id), "object": "vector_store.files_batch", "created_at": .integer(createdAt),
            "vector_store_id": .string(vectorStoreID), "status": .string(status), "file_counts": counts.wire,
        ]
    }
}
