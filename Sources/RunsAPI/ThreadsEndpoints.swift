import HTTPServer
import RunsDomain
import RunsEngine
import RunsWire
import RunsStorage

enum ThreadsEndpoints: EndpointGroup {
    static func register(in router: inout Router<Route>) {
        router.add("POST", "/threads", .write(create))
        router.add("GET", "/threads", .read(list))
        router.add("GET", "/threads/:thread_id", .read(retrieve))
        router.add("POST", "/threads/:thread_id", .write(modify))
        router.add("DELETE", "/threads/:thread_id", .write(delete))
    }

    static func create(_ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        let body = try RequestObject(try context.body(), allowed: ["messages", "tool_resources", "metadata"])
        let thread = try ThreadCreation.create(from: body, context: context, db: db)
        return thread.wire
    }

    static func list(_ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        Wire.list(try ThreadRepository(db, project: context.project).list(try context.listQuery()), \.wire, id: \.id)
    }

    static func retrieve(_ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        try ThreadCreation.existing(context.parameter("thread_id"), context: context, db: db).wire
    }

    static func modify(_ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        let body = try RequestObject(try context.body(), allowed: ["tool_resources", "metadata"])
        var thread = try ThreadCreation.existing(context.parameter("thread_id"), context: context, db: db)
        if let resources = try Validate.toolResources(body.field("tool_resources"), allowVectorStores: false) {
            thread.toolResources = try ToolResourceStores.resolve(resources, context: context, db: db) ?? .null
        }
        if let metadata = try Validate.metadata(body.field("metadata")) { thread.metadata = metadata }
        try ThreadRepository(db, project: context.project).update(thread)
        return thread.wire
    }

    static func delete(_ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        let id = context.parameter("thread_id")
        guard try ThreadRepository(db, project: context.project).delete(id) else {
            throw APIError.notFound("thread", id)
        }
        return Wire.deleted(id, object: "thread.deleted")
    }
}

/// Thread creation is shared by `POST /threads` and (later) create-thread-and-run.
enum ThreadCreation {
    /// Validates everything first, then writes the thread and its messages (inside the caller's
    /// write, which is one transaction).
    static func create(from body: RequestObject, context: APIContext, db: any SQLSession) throws -> ChatThread {
        var inputs: [MessageInput] = []
        for (index, item) in (try body.array("messages").value ?? []).enumerated() {
            inputs.append(try MessageInput(item, path: "\(body.param("messages"))[\(index)]"))
        }
        let resources = try Validate.toolResources(body.field("tool_resources"), param: body.param("tool_resources"),
                                                   allowVectorStores: true) ?? .null
        let metadata = try Validate.metadata(body.field("metadata"), param: body.param("metadata")) ?? [:]
        let (id, createdAt) = context.services.ids.make(.thread)
        let thread = ChatThread(id: id, createdAt: createdAt,
                                toolResources: try ToolResourceStores.resolve(resources, context: context, db: db) ?? .null,
                                metadata: metadata)
        try ThreadRepository(db, project: context.project).insert(thread)
        let messages = inputs.map { MessagesEndpoints.message(from: $0, threadID: id, services: context.services) }
        let repository = MessageRepository(db, project: context.project)
        for message in messages { try repository.insert(message) }
        // Attachments may give the thread a store of its own: it is read back with it.
        try ToolResourceStores.attach(messages, to: thread, context: context, db: db)
        return try existing(id, context: context, db: db)
    }

    static func existing(_ id: String, context: APIContext, db: any SQLSession) throws -> ChatThread {
        guard let thread = try ThreadRepository(db, project: context.project).find(id) else {
            throw APIError.notFound("thread", id)
        }
        return thread
    }
}
