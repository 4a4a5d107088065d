import RunsDomain

extension StoredFile {
    public var wire: JSONValue {
        [
            "id": .string(id), "object": "file", "bytes": .integer(bytes), "created_at": .integer(createdAt),
            "expires_at": nil, "filename": .string(filename), "purpose": .string(purpose), "status": "processed",
            "status_details": nil,
        ]
    }
}
