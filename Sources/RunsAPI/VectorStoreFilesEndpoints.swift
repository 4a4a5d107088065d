import HTTPServer
import RunsDomain
import RunsEngine
import RunsStorage
import RunsWire

/// Files in a vector store, and batches of them.
enum VectorStoreFilesEndpoints {
    static func register(in router: inout Router<Route>, _ routes: RetrievalRoutes) {
        router.add("POST", "/vector_stores/:vector_store_id/files", .write(create))
        router.add("GET", "/vector_stores/:vector_store_id/files", .read(list))
        router.add("GET", "/vector_stores/:vector_store_id/files/:file_id", routes.holding(retrieve))
        router.add("POST", "/vector_stores/:vector_store_id/files/:file_id", .write(update))
        router.add("DELETE", "/vector_stores/:vector_store_id/files/:file_id", .write(delete))
        router.add("GET", "/vector_stores/:vector_store_id/files/:file_id/content", .bulkRead(content))
        router.add("POST", "/vector_stores/:vector_store_id/file_batches", .write(createBatch))
        router.add("GET", "/vector_stores/:vector_store_id/file_batches/:batch_id", routes.holding(retrieveBatch))
        router.add("POST", "/vector_stores/:vector_store_id/file_batches/:batch_id/cancel", .write(cancelBatch))
        router.add("GET", "/vector_stores/:vector_store_id/file_batches/:batch_id/files", .read(listBatch))
    }

    static func fileIDs(_ items: [JSONValue], param: String) throws(APIError) -> [String] {
        var ids: [String] = []
        for (index, item) in items.enumerated() { ids.append(try Validate.string(item, param: "\(param)[\(index)]", maxLength: 64)) }
        return ids
    }

    /// Queues one file of the project for ingestion into the store.
    @discardableResult
    static func add(_ fileID: String, to store: String, chunking: ChunkingStrategy, attributes: JSONValue, batch: String?,
                    context: APIContext, db: any SQLSession) throws -> VectorStoreFile {
        guard Validate.isIdentifier(fileID), try FileRepository(db, project: context.project).find(fileID) != nil else {
            throw APIError.notFound("file", String(fileID.prefix(100)))
        }
        let file = VectorStoreFile(vectorStoreID: store, fileID: fileID, createdAt: context.services.clock.nowSeconds(),
                                   chunking: chunking, attributes: attributes, batchID: batch)
        try VectorStoreFileRepository(db, project: context.project).upsert(file)
        return file
    }

    static func create(_ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        let body = try RequestObject(try context.body(), allowed: ["file_id", "chunking_strategy", "attributes"])
        let store = try VectorStoresEndpoints.existing(context, db)
        return try add(try body.requiredString("file_id"), to: store.id,
                       chunking: try ChunkingStrategy.parse(body.field("chunking_strategy")) ?? .auto,
                       attributes: try AttributeFilter.attributes(body.field("attributes")) ?? [:], batch: nil,
                       context: context, db: db).wire
    }

    static func existing(_ context: APIContext, _ db: any SQLSession) throws -> VectorStoreFile {
        let store = try VectorStoresEndpoints.existing(context, db)
        let id = context.parameter("file_id")
        guard let file = try VectorStoreFileRepository(db, project: context.project).find(store: store.id, file: id) else {
            throw APIError.notFound("file", id)
        }
        return file
    }

    static func retrieve(_ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        try existing(context, db).wire
    }

    static func statusFilter(_ context: APIContext) throws(APIError) -> VectorStoreFileStatus? {
        guard let filter = context.query("filter"), !filter.isEmpty else { return nil }
        guard let status = VectorStoreFileStatus(rawValue: filter) else {
            try Validate.oneOf(filter, VectorStoreFileStatus.allCases.map(\.rawValue), param: "filter")
            return nil
        }
        return status
    }

    static func list(_ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        let (query, status) = (try context.listQuery(), try statusFilter(context))
        let store = try VectorStoresEndpoints.existing(context, db)
        let page = try VectorStoreFileRepository(db, project: context.project).list(store: store.id, status: status, query)
        return Wire.list(page, \.wire, id: \.fileID)
    }

    static func update(_ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        let body = try RequestObject(try context.body(), allowed: ["attributes"])
        guard let attributes = try AttributeFilter.attributes(body.field("attributes")) else {
            throw APIError.invalid("Missing required parameter: 'attributes'.", param: "attributes", code: "missing_required_parameter")
        }
        var file = try existing(context, db)
        file.attributes = attributes
        try VectorStoreFileRepository(db, project: context.project).updateAttributes(store: file.vectorStoreID, file: file.fileID,
                                                                                      attributes: attributes)
        return file.wire
    }

    static func delete(_ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        let file = try existing(context, db)
        _ = try VectorStoreFileRepository(db, project: context.project).delete(store: file.vectorStoreID, file: file.fileID)
        return Wire.deleted(file.fileID, object: "vector_store.file.deleted")
    }

    /// The most parsed text one page of a file's content carries.
    static let maxContentPageBytes = 16 << 20

    /// The parsed text, one item per chunk without its overlap with the one before, a page of
    /// at most `maxContentPageBytes`; `next_page` (given back as `?page=`) continues it.
    static func content(_ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        var seq = 0
        if let page = context.query("page"), !page.isEmpty {
            guard let start = Int(page), start >= 0 else {
                throw APIError.invalid("Invalid 'page': '\(page.prefix(40))' is not a page this server gave out.", param: "page", code: "invalid_value")
            }
            seq = start
        }
        let file = try existing(context, db)
        let chunks = ChunkRepository(db)
        var items: [JSONValue] = []
        var bytes = 0
        while bytes < maxContentPageBytes {
            let pieces = try chunks.content(store: file.vectorStoreID, file: file.fileID, fromSeq: seq, limit: 256)
            guard !pieces.isEmpty else { return page(items, next: nil) }
            for piece in pieces {
                guard bytes < maxContentPageBytes else { break }
                items.append(["type": "text", "text": .string(piece.text)])
                bytes += piece.text.utf8.count
                seq = piece.seq + 1
            }
        }
        let more = try !chunks.content(store: file.vectorStoreID, file: file.fileID, fromSeq: seq, limit: 1).isEmpty
        return page(items, next: more ? String(seq) : nil)
    }

    private static func page(_ items: [JSONValue], next: String?) -> JSONValue {
        ["object": "vector_store.file_content.page", "data": .array(items), "has_more": .bool(next != nil), "next_page": JSONValue(next)]
    }

    // MARK: Batches

    static func createBatch(_ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        let body = try RequestObject(try context.body(), allowed: ["file_ids", "files", "chunking_strategy", "attributes"])
        let store = try VectorStoresEndpoints.existing(context, db)
        let chunking = try ChunkingStrategy.parse(body.field("chunking_strategy")) ?? .auto
        let attributes = try AttributeFilter.attributes(body.field("attributes")) ?? [:]
        var entries: [(id: String, chunking: ChunkingStrategy, attributes: JSONValue)] = []
        let ids = try body.array("file_ids", maxItems: 2000, minItems: 1, nullable: false).value
        let files = try body.array("files", maxItems: 2000, minItems: 1, nullable: false).value
        switch (ids, files) {
        case (let ids?, nil):
            entries = try fileIDs(ids, param: "file_ids").map { ($0, chunking, attributes) }
        case (nil, let files?):
            for (index, item) in files.enumerated() {
                let path = "files[\(index)]"
                let object = try RequestObject(item, path: path, allowed: ["file_id", "chunking_strategy", "attributes"])
                entries.append((try object.requiredString("file_id"),
                                try ChunkingStrategy.parse(object.field("chunking_strategy"), param: "\(path).chunking_strategy") ?? .auto,
                                try AttributeFilter.attributes(object.field("attributes"), param: "\(path).attributes") ?? [:]))
            }
        case (nil, nil):
            throw APIError.invalid("Missing required parameter: 'file_ids' (or 'files').", param: "file_ids", code: "missing_required_parameter")
        default:
            throw APIError.invalid("Give either 'file_ids' or 'files', not both.", param: "files")
        }
        let (id, createdAt) = context.services.ids.make(.fileBatch)
        let repository = VectorStoreFileRepository(db, project: context.project)
        try repository.insertBatch(id: id, store: store.id, createdAt: createdAt)
        for entry in entries {
            try add(entry.id, to: store.id, chunking: entry.chunking, attributes: entry.attributes, batch: id, context: context, db: db)
        }
        return try existingBatch(context, db, id: id).wire
    }

    static func existingBatch(_ context: APIContext, _ db: any SQLSession, id: String? = nil) throws -> VectorStoreFileBatch {
        let store = try VectorStoresEndpoints.existing(context, db)
        let id = id ?? context.parameter("batch_id")
        guard let batch = try VectorStoreFileRepository(db, project: context.project).findBatch(store: store.id, id: id) else {
            throw APIError.notFound("vector store file batch", id)
        }
        return batch
    }

    static func retrieveBatch(_ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        try existingBatch(context, db).wire
    }

    static func cancelBatch(_ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        let batch = try existingBatch(context, db)
        try VectorStoreFileRepository(db, project: context.project).cancelBatch(store: batch.vectorStoreID, id: batch.id)
        return try existingBatch(context, db).wire
    }

    static func listBatch(_ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        let (query, status) = (try context.listQuery(), try statusFilter(context))
        let batch = try existingBatch(context, db)
        let page = try VectorStoreFileRepository(db, project: context.project)
            .list(store: batch.vectorStoreID, batch: batch.id, status: status, query)
        return Wire.list(page, \.wire, id: \.fileID)
    }
}
