import Dispatch
import HTTPServer
import RunsDomain
import RunsEngine
import RunsWire
import RunsStorage

enum RunsEndpoints {
    static func register(in router: inout Router<Route>, engine: RunEngine) {
        router.add("POST", "/threads/runs", .custom { createThreadAndRun($0, $1, engine) })
        router.add("POST", "/threads/:thread_id/runs", .custom { createRun($0, $1, engine) })
        router.add("GET", "/threads/:thread_id/runs", .read(list))
        router.add("GET", "/threads/:thread_id/runs/:run_id", .custom { retrieve($0, $1, engine) })
        router.add("POST", "/threads/:thread_id/runs/:run_id", .custom { modify($0, $1, engine) })
        router.add("POST", "/threads/:thread_id/runs/:run_id/cancel", .custom { cancel($0, $1, engine) })
        router.add("POST", "/threads/:thread_id/runs/:run_id/submit_tool_outputs", .custom { submitToolOutputs($0, $1, engine) })
        router.add("GET", "/threads/:thread_id/runs/:run_id/steps", .read(listSteps))
        router.add("GET", "/threads/:thread_id/runs/:run_id/steps/:step_id", .read(retrieveStep))
    }

    /// What a write produced: the events to publish, the run to answer with, and whether the
    /// client asked for a stream.
    struct Outcome: Sendable {
        var run: Run
        var events: [RunEvent]
        var stream: Bool
        /// Set when the write queued the run: it starts here or waits for a node with room.
        var admission: Admission?
    }

    static func createRun(_ context: APIContext, _ responder: HTTPResponder, _ engine: RunEngine) {
        let admission = engine.admission()
        engine.database.write({ db -> Outcome in
            let include = try checkInclude(context)
            let body = try RequestObject(try context.body(), allowed: RunRequests.createFields)
            let settings = try RunRequests.settings(body)
            var additional: [MessageInput] = []
            for (index, item) in (try body.array("additional_messages").value ?? []).enumerated() {
                additional.append(try MessageInput(item, path: "additional_messages[\(index)]"))
            }
            let thread = try ThreadCreation.existing(context.parameter("thread_id"), context: context, db: db)
            let assistant = try RunRequests.assistant(settings.assistantID, context: context, db: db)
            var run = try RunRequests.makeRun(settings, assistant: assistant, threadID: thread.id, context: context,
                                              expirySeconds: engine.settings.expirySeconds)
            run.includeSearchContent = include
            try engine.checkQueueRoom()
            if let active = try RunRepository(db, project: nil).activeRun(threadID: thread.id) {
                throw APIError.invalid("Thread \(thread.id) already has an active run \(active.id).")
            }
            let messages = additional.map { MessagesEndpoints.message(from: $0, threadID: thread.id, services: context.services) }
            let repository = MessageRepository(db, project: context.project)
            for message in messages { try repository.insert(message) }
            try ToolResourceStores.attach(messages, to: thread, context: context, db: db)
            do {
                try RunRepository(db, project: context.project).insert(run, project: context.project, lease: admission.lease)
            } catch let error as any StorageConditionError where error.isUniqueViolation {
                // Another node started a run on this thread a moment ago: the database's
                // one-active-run index holds the lock across nodes.
                throw APIError.invalid("Thread \(thread.id) already has an active run.")
            }
            let started = try engine.startAdmitted(run, project: context.project, admission: admission, db: db)
            return Outcome(run: run, events: [.run(created: run), .run(run)] + started,
                           stream: settings.stream, admission: admission)
        }, completion: { answer($0, context, responder, engine, admission) })
    }

    static func createThreadAndRun(_ context: APIContext, _ responder: HTTPResponder, _ engine: RunEngine) {
        let admission = engine.admission()
        engine.database.write({ db -> Outcome in
            let body = try RequestObject(try context.body(), allowed: RunRequests.threadAndRunFields)
            let settings = try RunRequests.settings(body)
            let threadBody = try RequestObject(body["thread"] ?? [:], path: "thread", allowed: ["messages", "tool_resources", "metadata"])
            _ = try Validate.toolResources(body.field("tool_resources"), allowVectorStores: false)
            let assistant = try RunRequests.assistant(settings.assistantID, context: context, db: db)
            try engine.checkQueueRoom()
            var thread = try ThreadCreation.create(from: threadBody, context: context, db: db)
            if let resources = try Validate.toolResources(body.field("tool_resources"), allowVectorStores: false) {
                thread.toolResources = try ToolResourceStores.resolve(resources, context: context, db: db) ?? .null
                try ThreadRepository(db, project: context.project).update(thread)
            }
            let run = try RunRequests.makeRun(settings, assistant: assistant, threadID: thread.id, context: context,
                                              expirySeconds: engine.settings.expirySeconds)
            try RunRepository(db, project: context.project).insert(run, project: context.project, lease: admission.lease)
            let started = try engine.startAdmitted(run, project: context.project, admission: admission, db: db)
            return Outcome(run: run, events: [.thread(created: thread), .run(created: run), .run(run)] + started,
                           stream: settings.stream, admission: admission)
        }, completion: { answer($0, context, responder, engine, admission) })
    }

    static func submitToolOutputs(_ context: APIContext, _ responder: HTTPResponder, _ engine: RunEngine) {
        let now = engine.clock.nowSeconds()
        let admission = engine.admission()
        engine.database.write({ db -> Outcome in
            let body = try RequestObject(try context.body(), allowed: ["tool_outputs", "stream"])
            let stream = try body.bool("stream").value ?? false
            guard case .value(let items) = try body.array("tool_outputs") else {
                throw APIError.invalid("Missing required parameter: 'tool_outputs'.", param: "tool_outputs", code: "missing_required_parameter")
            }
            var outputs: [(id: String, output: String)] = []
            for (index, item) in items.enumerated() {
                let object = try RequestObject(item, path: "tool_outputs[\(index)]", allowed: ["tool_call_id", "output"])
                outputs.append((try object.string("tool_call_id").value ?? "", try object.string("output").value ?? ""))
            }
            let run = try existingRun(context, db, locking: true)
            guard run.status == .requiresAction, let pending = run.requiredAction else {
                throw APIError.invalid(TransitionError(status: run.status, command: "submitToolOutputs").message)
            }
            let expected = pending.map(\.id)
            let given = outputs.map(\.id)
            guard Set(given) == Set(expected), given.count == expected.count else {
                let list = { (ids: [String]) in "[" + ids.map { "'\($0)'" }.joined(separator: ", ") + "]" }
                throw APIError.invalid("Expected tool outputs for call_ids \(list(expected)), got \(list(given))", param: "tool_outputs")
            }
            var events: [RunEvent] = []
            let steps = RunStepRepository(db)
            for var step in try steps.all(runID: run.id) where step.type == .toolCalls && step.status == .inProgress {
                // Calls Runnel ran itself (file_search) keep what they found.
                for index in step.toolCalls.indices {
                    if let output = outputs.first(where: { $0.id == step.toolCalls[index].id })?.output {
                        step.toolCalls[index].output = output
                    }
                }
                step.close(.completed, at: now)
                try steps.update(step)
                events.append(.step(step))
            }
            let applied = try RunTransitions.apply(.submitToolOutputs, to: run, project: context.project, db: db, now: now)
            if let lease = admission.lease { try RunLeases(db, owner: lease.owner).take(run.id, until: lease.expiresAt) }
            return Outcome(run: applied.run, events: events + applied.events, stream: stream, admission: admission)
        }, completion: { answer($0, context, responder, engine, admission) })
    }

    static func cancel(_ context: APIContext, _ responder: HTTPResponder, _ engine: RunEngine) {
        let now = engine.clock.nowSeconds()
        engine.database.write({ db -> Outcome in
            let run = try existingRun(context, db, locking: true)
            guard !run.status.isTerminal else {
                throw APIError.invalid(TransitionError(status: run.status, command: "cancel").message)
            }
            let applied = try RunTransitions.apply(.cancel, to: run, project: context.project, db: db, now: now)
            return Outcome(run: applied.run, events: run.status == .cancelling ? [] : applied.events, stream: false, admission: nil)
        }, completion: { result in
            if case .success(let outcome) = result, outcome.run.status == .cancelling {
                engine.stopEverywhere(outcome.run.id, .cancel)
            }
            answer(result, context, responder, engine)
        })
    }

    /// Publishes a write's events and answers: as JSON, or as a stream that starts with them and
    /// follows the run until it ends or needs action.
    static func answer(_ result: Result<Outcome, any Error>, _ context: APIContext, _ responder: HTTPResponder, _ engine: RunEngine,
                       _ admission: Admission? = nil) {
        let outcome: Outcome
        switch result {
        case .failure(let error):
            if let admission { engine.abandon(admission) }
            responder.send(ErrorResponses.response(for: error, requestID: responder.requestID, log: engine.log))
            return
        case .success(let value):
            outcome = value
        }
        let runID = outcome.run.id
        if outcome.stream {
            let stream = SSEStream(responder: responder, keepAlive: engine.keepAlive)
            let token = engine.hub.subscribe(runID) { events in stream.send(events) }
            stream.onClose { engine.hub.unsubscribe(runID, token) }
            if engine.database.dialect == .postgresql, outcome.admission?.lease == nil {
                RemoteStreamWatch.start(runID, stream: stream, engine: engine)
            }
        } else {
            responder.send(JSONResponse.make(outcome.run.wire))
        }
        engine.publish(runID, outcome.events)
        if let admission = outcome.admission { engine.enqueue(runID, admission) }
    }

    static func retrieve(_ context: APIContext, _ responder: HTTPResponder, _ engine: RunEngine) {
        let pollHelper = context.request.headers["x-stainless-poll-helper"] == "true"
        // A run executing here is answered from its committed state, right on the I/O loop.
        if let live = engine.live.answer(context.parameter("run_id"), project: context.project, threadID: context.parameter("thread_id")),
           !pollHelper || live.run.status.endsPolling {
            var headers = HTTPHeaders()
            headers.add("content-type", "application/json")
            if !live.run.status.isTerminal { headers.add("openai-poll-after-ms", String(engine.settings.pollAfterMilliseconds)) }
            responder.sendInline(HTTPResponse(status: 200, headers: headers, body: live.body))
            return
        }
        let deadline = DispatchTime.now() + (pollHelper ? engine.settings.pollHoldSeconds : 0)
        poll(context, responder, engine, pollHelper: pollHelper, deadline: deadline)
    }

    /// Answers at once, or for the SDK's poll helper, once the run reaches a state the helper
    /// stops at (or the hold runs out), so `create_and_poll` returns as soon as the run does.
    private static func poll(_ context: APIContext, _ responder: HTTPResponder, _ engine: RunEngine, pollHelper: Bool,
                             deadline: DispatchTime) {
        let runID = context.parameter("run_id")
        let generation = engine.hub.generation(runID)
        engine.database.read({ db in try existingRun(context, db) }, completion: { result in
            switch result {
            case .failure(let error):
                responder.send(ErrorResponses.response(for: error, requestID: responder.requestID, log: engine.log))
            case .success(let run) where !pollHelper || run.status.endsPolling || DispatchTime.now() >= deadline:
                var headers = HTTPHeaders()
                if !run.status.isTerminal {
                    headers.add("openai-poll-after-ms", String(pollHelper ? 100 : engine.settings.pollAfterMilliseconds))
                }
                responder.send(JSONResponse.make(run.wire, headers: headers))
            case .success:
                // Signed: the deadline may have passed since the check above.
                let remaining = max(0, Double(Int64(bitPattern: deadline.uptimeNanoseconds &- DispatchTime.now().uptimeNanoseconds)) / 1e9)
                engine.hub.waitForChange(runID, after: generation, timeout: remaining, on: .global()) {
                    poll(context, responder, engine, pollHelper: pollHelper, deadline: deadline)
                }
            }
        })
    }

    static func list(_ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        let query = try context.listQuery()
        let thread = try ThreadCreation.existing(context.parameter("thread_id"), context: context, db: db)
        let page = try RunRepository(db, project: context.project).list(threadID: thread.id, query)
        return Wire.list(page, \.wire, id: \.id)
    }

    static func modify(_ context: APIContext, _ responder: HTTPResponder, _ engine: RunEngine) {
        engine.database.write({ db -> Run in
            let body = try RequestObject(try context.body(), allowed: ["metadata"])
            var run = try existingRun(context, db, locking: true)
            guard let metadata = try Validate.metadata(body.field("metadata")) else { return run }
            let version = run.version
            run.metadata = metadata
            run.version += 1
            guard try RunRepository(db, project: context.project).compareAndSet(run, expectedVersion: version) else {
                throw APIError(.unavailable, "The run changed while it was being updated; please retry.")
            }
            return run
        }, completion: { result in
            // Polls of an executing run read the kept state: it gets the new metadata too.
            if case .success(let run) = result { engine.live.update(run) }
            ErrorResponses.replier(responder, log: engine.log)(result.map(\.wire))
        })
    }

    static func listSteps(_ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        let include = try checkInclude(context)
        let query = try context.listQuery()
        let run = try existingRun(context, db)
        let page = try RunStepRepository(db).list(runID: run.id, query)
        return Wire.list(page, { $0.wire(includeSearchContent: include) }, id: \.id)
    }

    static func retrieveStep(_ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        let include = try checkInclude(context)
        let run = try existingRun(context, db)
        let id = context.parameter("step_id")
        guard let step = try RunStepRepository(db).find(id, runID: run.id) else { throw APIError.notFound("run step", id) }
        return step.wire(includeSearchContent: include)
    }

    /// The run in its thread, in the caller's project; a missing thread is reported as such.
    /// - Parameter locking: the caller will change the run (its row is locked on PostgreSQL).
    static func existingRun(_ context: APIContext, _ db: any SQLSession, locking: Bool = false) throws -> Run {
        let thread = try ThreadCreation.existing(context.parameter("thread_id"), context: context, db: db)
        let id = context.parameter("run_id")
        guard let run = try RunRepository(db, project: context.project).find(id, threadID: thread.id, locking: locking) else {
            throw APIError.notFound("run", id)
        }
        return run
    }

    /// `include[]` takes one documented value (file search results, which Runnel never has).
    /// `include[]`: the one value there is asks for file_search results' text. Returns whether it was given.
    @discardableResult
    static func checkInclude(_ context: APIContext) throws(APIError) -> Bool {
        let allowed = "step_details.tool_calls[*].file_search.results[*].content"
        let items = context.request.queryItems.filter { $0.name == "include[]" || $0.name == "include" }
        for (index, item) in items.enumerated() where item.value != allowed {
            throw APIError.invalid("Invalid value: '\(item.value)'. Supported values are: '\(allowed)'.",
                                   param: "include[\(index)]", code: "invalid_value")
        }
        return !items.isEmpty
    }
}
