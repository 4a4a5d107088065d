import RunsDomain
import RunsStorage

/// The vector stores behind `tool_resources.file_search`: the `vector_stores` helper becomes a
/// real store made of its files, named stores must exist, and files attached to messages for
/// `file_search` go into the thread's own store, made on first use, as OpenAI did.
enum ToolResourceStores {
    /// `resources` as stored: helpers replaced by the ids of the stores they made.
    static func resolve(_ resources: JSONValue?, context: APIContext, db: any SQLSession) throws -> JSONValue? {
        guard let resources, let search = resources["file_search"], case .object = search else { return resources }
        var ids = (search["vector_store_ids"]?.arrayValue ?? []).compactMap(\.stringValue)
        let stores = VectorStoreRepository(db, project: context.project)
        for id in ids where try stores.find(id) == nil { throw APIError.notFound("vector store", String(id.prefix(100))) }
        for (index, helper) in (search["vector_stores"]?.arrayValue ?? []).enumerated() {
            let param = "tool_resources.file_search.vector_stores[\(index)]"
            let fileIDs = try VectorStoreFilesEndpoints.fileIDs(helper["file_ids"]?.arrayValue ?? [], param: "\(param).file_ids")
            let chunking = try ChunkingStrategy.parse(helper["chunking_strategy"].map(Field.value) ?? .absent, param: "\(param).chunking_strategy")
            let store = try VectorStoresEndpoints.make(context, db, name: nil, metadata: helper["metadata"] ?? [:], expiresAfter: nil,
                                                       fileIDs: fileIDs, chunking: chunking)
            ids.append(store.id)
        }
        guard ids.count <= 1 else {
            throw APIError.invalid("Invalid 'tool_resources.file_search': at most 1 vector store may be attached, but got \(ids.count).",
                                   param: "tool_resources.file_search.vector_store_ids", code: "array_above_max_length")
        }
        return replacing(resources, storeIDs: ids)
    }

    /// Checks the files new messages name (images must be uploaded images, attachments must
    /// exist) and adds those attached for `file_search` to the thread's store.
    static func attach(_ messages: [Message], to thread: ChatThread, context: APIContext, db: any SQLSession) throws {
        let repository = FileRepository(db, project: context.project)
        for message in messages {
            for part in message.content where part["type"]?.stringValue == "image_file" {
                let id = part["image_file"]?["file_id"]?.stringValue ?? ""
                guard let file = try repository.find(id) else { throw APIError.notFound("file", String(id.prefix(100))) }
                guard StoredFile.imagePurposes.contains(file.purpose), ContentTypes.of(filename: file.filename).hasPrefix("image/") else {
                    throw APIError.invalid("File \(id) cannot be shown as an image: upload a PNG, JPEG, GIF or WebP file with purpose 'vision' or 'assistants'.",
                                           param: "content", code: "invalid_value")
                }
            }
            for attachment in message.attachments.arrayValue ?? [] {
                let id = attachment["file_id"]?.stringValue ?? ""
                guard Validate.isIdentifier(id), try repository.find(id) != nil else {
                    throw APIError.notFound("file", String(id.prefix(100)))
                }
            }
        }
        let files = messages.flatMap { message in
            (message.attachments.arrayValue ?? []).filter { attachment in
                (attachment["tools"]?.arrayValue ?? []).contains { $0["type"]?.stringValue == "file_search" }
            }.compactMap { $0["file_id"]?.stringValue }
        }
        guard !files.isEmpty else { return }
        var thread = thread
        let store: String
        if let existing = thread.toolResources["file_search"]?["vector_store_ids"]?.arrayValue?.first?.stringValue {
            store = existing
        } else {
            // A thread's own store lapses a week after its last use, as OpenAI's did.
            store = try VectorStoresEndpoints.make(context, db, name: "Thread \(thread.id) files", metadata: [:],
                                                   expiresAfter: ["anchor": "last_active_at", "days": 7], fileIDs: [], chunking: nil).id
            thread.toolResources = replacing(thread.toolResources.isNull ? [:] : thread.toolResources, storeIDs: [store])
            try ThreadRepository(db, project: context.project).update(thread)
        }
        for file in Set(files).sorted() {
            try VectorStoreFilesEndpoints.add(file, to: store, chunking: .auto, attributes: [:], batch: nil, context: context, db: db)
        }
    }

    private static func replacing(_ resources: JSONValue, storeIDs: [String]) -> JSONValue {
        guard case .object(var fields) = resources else { return resources }
        fields.removeAll { $0.0 == "file_search" }
        fields.append(("file_search", ["vector_store_ids": .array(storeIDs.map(JSONValue.string))]))
        return .object(fields)
    }
}
