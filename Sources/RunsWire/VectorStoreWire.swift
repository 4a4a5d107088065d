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
        // An unnamed store is named "" and one that never expires has no `expires_after`: OpenAI's
        // schema allows no null for either.
        var fields: [(String, JSONValue)] = [
            ("id", .string(id)), ("object", "vector_store"), ("created_at", .integer(createdAt)), ("name", .string(name ?? "")),
            ("usage_bytes", .integer(usageBytes)), ("file_counts", counts.wire), ("status", .string(status)),
        ]
        if let expiresAfter { fields.append(("expires_after", expiresAfter)) }
        fields += [("expires_at", JSONValue(expiresAt)), ("last_active_at", .integer(lastActiveAt)), ("metadata", metadata)]
        return .object(fields)
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
