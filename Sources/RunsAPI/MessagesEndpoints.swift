import HTTPServer
import RunsDomain
import RunsEngine
import RunsWire
import RunsStorage

enum MessagesEndpoints: EndpointGroup {
    static func register(in router: inout Router<Route>) {
        router.add("POST", "/threads/:thread_id/messages", .write(create))
        router.add("GET", "/threads/:thread_id/messages", .read(list))
        router.add("GET", "/threads/:thread_id/messages/:message_id", .read(retrieve))
        router.add("POST", "/threads/:thread_id/messages/:message_id", .write(modify))
        router.add("DELETE", "/threads/:thread_id/messages/:message_id", .write(delete))
    }

    static func message(from input: MessageInput, threadID: String, services: Services) -> Message {
        let (id, createdAt) = services.ids.make(.message)
        return Message(id: id, createdAt: createdAt, threadID: threadID, status: .completed, completedAt: createdAt,
                       role: input.role, content: input.content, attachments: input.attachments, metadata: input.metadata)
    }

    static func create(_ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        let input = try MessageInput(try context.body())
        let thread = try ThreadCreation.existing(context.parameter("thread_id"), context: context, db: db)
        if let active = try RunRepository(db, project: nil).activeRun(threadID: thread.id) {
            throw APIError.invalid("Can't add messages to \(thread.id) while a run \(active.id) is active.")
        }
        let message = message(from: input, threadID: thread.id, services: context.services)
        try MessageRepository(db, project: context.project).insert(message)
        try ToolResourceStores.attach([message], to: thread, context: context, db: db)
        return message.wire
    }

    static func list(_ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        let query = try context.listQuery()
        let thread = try ThreadCreation.existing(context.parameter("thread_id"), context: context, db: db)
        let runID = context.query("run_id").flatMap { $0.isEmpty ? nil : $0 }
        let page = try MessageRepository(db, project: context.project).list(threadID: thread.id, runID: runID, query)
        return Wire.list(page, \.wire, id: \.id)
    }

    static func retrieve(_ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        try existing(context, db).wire
    }

    static func modify(_ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        let body = try RequestObject(try context.body(), allowed: ["metadata"])
        var message = try existing(context, db)
        if let metadata = try Validate.metadata(body.field("metadata")) { message.metadata = metadata }
        try MessageRepository(db, project: context.project).update(message)
        return message.wire
    }

    static func delete(_ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        let message = try existing(context, db)
        _ = try MessageRepository(db, project: context.project).delete(message.id, threadID: message.threadID)
        return Wire.deleted(message.id, object: "thread.message.deleted")
    }

    /// The message in its thread; a missing thread is reported as such, like OpenAI does.
    static func existing(_ context: APIContext, _ db: any SQLSession) throws -> Message {
        let thread = try ThreadCreation.existing(context.parameter("thread_id"), context: context, db: db)
        let id = context.parameter("message_id")
        guard let message = try MessageRepository(db, project: context.project).find(id, threadID: thread.id) else {
            throw APIError.notFound("message", id)
        }
        return message
    }
}
