import RunsDomain

extension StoredFile {
    /// `expires_at` only when the file expires (OpenAI's schema has no null for it).
    public var wire: JSONValue {
        var fields: [(String, JSONValue)] = [
            ("id", .string(id)), ("object", "file"), ("bytes", .integer(bytes)), ("created_at", .integer(createdAt)),
            ("filename", .string(filename)), ("purpose", .string(purpose)), ("status", "processed"),
        ]
        if let expiresAt { fields.append(("expires_at", .integer(expiresAt))) }
        return .object(fields)
    }
}
