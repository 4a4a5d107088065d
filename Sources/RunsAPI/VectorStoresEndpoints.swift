import Dispatch
import HTTPServer
import Logging
import ModelBackends
import Retrieval
import RunsDomain
import RunsEngine
import RunsStorage
import RunsWire

/// What the vector store endpoints share: the store, how long a poll helper's GET may be held,
/// and the embedding model searches use. (Files queued by a write are found at once: every
/// write route wakes the ingestion workers.)
struct RetrievalRoutes: Sendable {
    let database: any Store
    let log: Logger
    let pollHoldSeconds: Double
    let embeddings: Embeddings?

    /// A GET that, for the SDK's poll helpers, waits while the object is `in_progress` (up to
    /// `pollHoldSeconds`), so `create_and_poll` returns soon after ingestion ends.
    func holding(_ handler: @escaping @Sendable (APIContext, any SQLSession) throws -> JSONValue) -> Route {
        .custom { [self] context, responder in
            let pollHelper = context.request.headers["x-stainless-poll-helper"] == "true"
            poll(context, responder, handler, deadline: DispatchTime.now() + (pollHelper ? pollHoldSeconds : 0))
        }
    }

    private func poll(_ context: APIContext, _ responder: HTTPResponder,
                      _ handler: @escaping @Sendable (APIContext, any SQLSession) throws -> JSONValue, deadline: DispatchTime) {
        database.read({ try handler(context, $0) }, completion: { [self] result in
            if case .success(let body) = result, body["status"]?.stringValue == "in_progress" {
                if DispatchTime.now() < deadline {
                    DispatchQueue.global().asyncAfter(deadline: .now() + 0.05) { poll(context, responder, handler, deadline: deadline) }
                    return
                }
                var headers = HTTPHeaders()
                headers.add("openai-poll-after-ms", "100")
                return responder.send(JSONResponse.make(body, headers: headers))
            }
            ErrorResponses.replier(responder, log: log)(result)
        })
    }
}

enum VectorStoresEndpoints {
    static let createFields = ["name", "file_ids", "expires_after", "chunking_strategy", "metadata", "description"]

    static func register(in router: inout Router<Route>, _ routes: RetrievalRoutes) {
        router.add("POST", "/vector_stores", .write(create))
        router.add("GET", "/vector_stores", .read(list))
        router.add("GET", "/vector_stores/:vector_store_id", .read(retrieve))
        router.add("POST", "/vector_stores/:vector_store_id", .write(modify))
        router.add("DELETE", "/vector_stores/:vector_store_id", .write(delete))
        router.add("POST", "/vector_stores/:vector_store_id/search", .custom { context, responder in
            search(context, responder, routes)
        })
    }

    static func create(_ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        let body = try RequestObject(try context.body(), allowed: createFields)
        let fileIDs = try VectorStoreFilesEndpoints.fileIDs(body.array("file_ids", maxItems: 500, nullable: false).value ?? [],
                                                            param: "file_ids")
        let store = try make(context, db, name: try body.string("name", maxLength: 256).value,
                             metadata: try Validate.metadata(body.field("metadata")) ?? [:],
                             expiresAfter: try expiresAfter(body.field("expires_after")) ?? .none,
                             fileIDs: fileIDs, chunking: try ChunkingStrategy.parse(body.field("chunking_strategy")))
        _ = try body.string("description", maxLength: 512)
        return try wire(store, context, db)
    }

    /// Creates a store holding `fileIDs` queued for ingestion (also for the `vector_stores`
    /// helper of tool resources and a thread's own store).
    static func make(_ context: APIContext, _ db: any SQLSession, name: String?, metadata: JSONValue, expiresAfter: JSONValue?,
                     fileIDs: [String], chunking: ChunkingStrategy?) throws -> VectorStore {
        let (id, createdAt) = context.services.ids.make(.vectorStore)
        let store = VectorStore(id: id, createdAt: createdAt, name: name, metadata: metadata, expiresAfter: expiresAfter,
                                lastActiveAt: createdAt)
        try VectorStoreRepository(db, project: context.project).insert(store)
        for fileID in fileIDs {
            try VectorStoreFilesEndpoints.add(fileID, to: store.id, chunking: chunking ?? .auto, attributes: [:], batch: nil,
                                              context: context, db: db)
        }
        return store
    }

    static func wire(_ store: VectorStore, _ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        let usage = try VectorStoreRepository(db, project: context.project).usage(store.id)
        return store.wire(counts: usage.counts, usageBytes: usage.bytes, now: context.services.clock.nowSeconds())
    }

    /// `{"anchor": "last_active_at", "days": 1…365}`; `null` clears it.
    static func expiresAfter(_ field: Field<JSONValue>) throws(APIError) -> JSONValue?? {
        switch field {
        case .absent: return nil
        case .null: return .some(.none)
        case .value(let value):
            let object = try RequestObject(value, path: "expires_after", allowed: ["anchor", "days"])
            let anchor = try object.requiredString("anchor")
            try Validate.oneOf(anchor, ["last_active_at"], param: "expires_after.anchor")
            guard let days = try object.integer("days", minimum: 1, maximum: 365, nullable: false).value else {
                throw .invalid("Missing required parameter: 'expires_after.days'.", param: "expires_after.days",
                               code: "missing_required_parameter")
            }
            return .some(["anchor": "last_active_at", "days": .integer(days)])
        }
    }

    static func existing(_ context: APIContext, _ db: any SQLSession) throws -> VectorStore {
        let id = context.parameter("vector_store_id")
        guard let store = try VectorStoreRepository(db, project: context.project).find(id) else {
            throw APIError.notFound("vector store", id)
        }
        return store
    }

    static func retrieve(_ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        try wire(try existing(context, db), context, db)
    }

    static func list(_ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        let page = try VectorStoreRepository(db, project: context.project).list(try context.listQuery())
        var items: [JSONValue] = []
        for store in page.items { items.append(try wire(store, context, db)) }
        return Wire.list(Page(items: items, hasMore: page.hasMore), { $0 }, id: { $0["id"]?.stringValue ?? "" })
    }

    static func modify(_ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        let body = try RequestObject(try context.body(), allowed: ["name", "expires_after", "metadata"])
        var store = try existing(context, db)
        store.name = try body.string("name", maxLength: 256).applied(to: store.name)
        if let expiry = try expiresAfter(body.field("expires_after")) { store.expiresAfter = expiry }
        if let metadata = try Validate.metadata(body.field("metadata")) { store.metadata = metadata }
        try VectorStoreRepository(db, project: context.project).update(store)
        return try wire(store, context, db)
    }

    static func delete(_ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        let id = context.parameter("vector_store_id")
        guard try VectorStoreRepository(db, project: context.project).delete(id) else { throw APIError.notFound("vector store", id) }
        return Wire.deleted(id, object: "vector_store.deleted")
    }

    // MARK: Search

    static func search(_ context: APIContext, _ responder: HTTPResponder, _ routes: RetrievalRoutes) {
        guard let embeddings = routes.embeddings else { return search(context, responder, routes, vectors: nil) }
        // The queries' embeddings come first, off the database's queues.
        Task {
            let queries = (try? searchQueries((try? context.body())?["query"] ?? .null)) ?? []
            let vectors: [[Float]]
            do {
                vectors = try await embeddings.vectors(queries)
            } catch {
                let message = "The embedding model could not embed the query: \((error as? BackendError)?.error.message ?? "\(error)")"
                return ErrorResponses.replier(responder, log: routes.log)(.failure(APIError(.unavailable, message)))
            }
            search(context, responder, routes, vectors: queries.isEmpty ? nil : vectors)
        }
    }

    static func search(_ context: APIContext, _ responder: HTTPResponder, _ routes: RetrievalRoutes, vectors: [[Float]]?) {
        let now = context.services.clock.nowSeconds()
        routes.database.read({ db -> (JSONValue, VectorStore) in
            let body = try RequestObject(try context.body(), allowed: ["query", "max_num_results", "filters", "ranking_options", "rewrite_query"])
            let store = try existing(context, db)
            guard !store.isExpired(now: now) else {
                throw APIError.invalid("Vector store \(store.id) has expired; it can no longer be searched.", param: "vector_store_id")
            }
            let queries = try searchQueries(body.required("query"))
            _ = try body.bool("rewrite_query")
            let request = SearchRequest(
                queries: queries, maxResults: try body.integer("max_num_results", minimum: 1, maximum: 50).value ?? 10,
                filter: try body.nonNull("filters", expected: "an object").map { try AttributeFilter.parse($0) },
                scoreThreshold: try rankingOptions(body.field("ranking_options")) ?? 0, queryVectors: vectors)
            let results = try FileSearch.search(db, project: context.project, stores: [store.id], request, embeddings: routes.embeddings)
            let page: JSONValue = [
                "object": "vector_store.search_results.page", "search_query": .array(queries.map(JSONValue.string)),
                "data": .array(results.map { result in
                    ["file_id": .string(result.fileID), "filename": .string(result.filename), "score": .number(result.score),
                     "attributes": result.attributes, "content": [["type": "text", "text": .string(result.text)]]]
                }),
                "has_more": false, "next_page": nil,
            ]
            return (page, store)
        }, completion: { result in
            if case .success(let (_, store)) = result, store.lastActiveAt < now {
                // Using a store pushes its expiry back; the search itself did not wait for that write.
                let project = context.project
                routes.database.write({ db in try VectorStoreRepository(db, project: project).touch([store.id], now: now) },
                                      completion: { _ in })
            }
            ErrorResponses.replier(responder, log: routes.log)(result.map(\.0))
        })
    }

    static func searchQueries(_ value: JSONValue) throws(APIError) -> [String] {
        switch value {
        case .string(let text) where !text.isEmpty && text.count <= 4096: return [text]
        case .array(let items) where !items.isEmpty && items.count <= 16:
            var queries: [String] = []
            for (index, item) in items.enumerated() {
                queries.append(try Validate.string(item, param: "query[\(index)]", maxLength: 4096))
            }
            return queries
        default:
            throw APIError.invalid("Invalid 'query': expected a non-empty string (at most 4096 characters) or an array of 1 to 16 strings.",
                                   param: "query", code: "invalid_value")
        }
    }

    /// `{"ranker": "auto"|"default-2024-11-15"|"none", "score_threshold": 0…1}`; the threshold.
    static func rankingOptions(_ field: Field<JSONValue>, param: String = "ranking_options") throws(APIError) -> Double? {
        guard case .value(let value) = field else { return nil }
        let object = try RequestObject(value, path: param, allowed: ["ranker", "score_threshold"])
        _ = try object.oneOf("ranker", ["auto", "default-2024-11-15", "none"])
        return try object.number("score_threshold", in: 0...1).value
    }
}
