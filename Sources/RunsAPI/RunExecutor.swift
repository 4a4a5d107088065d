import ModelBackends
import RunsDomain
import RunsStorage

/// Executes one turn of a run: queued → in_progress, one model call whose deltas become message
/// and step events as they arrive, then the ending the answer calls for (completed, requires_action,
/// incomplete, cancelled, expired or failed). Every change is committed before it is published.
struct RunExecutor {
    let engine: RunEngine
    let runID: String
    let control: RunControl

    private var database: Database { engine.database }
    private var now: Int { engine.clock.nowSeconds() }

    func execute() async {
        do {
            guard let (run, project) = try await start() else { return }
            try await generate(run, project: project)
        } catch {
            engine.log.error("run \(runID) failed inside the engine: \(error)")
            await settle(.fail(RunError(.serverError, "The server had an error while running this run."), usage: nil), recorder: nil)
        }
    }

    /// queued → in_progress; nil when the run is no longer queued (cancelled, expired, deleted).
    private func start() async throws -> (Run, String)? {
        let now = now
        let runID = runID
        let started = try await database.writing { db -> (RunTransitions.Applied, String)? in
            try db.transaction {
                guard let (run, project) = try RunRepository(db, project: nil).findWithProject(runID), run.status == .queued else {
                    return nil
                }
                return (try RunTransitions.apply(.start, to: run, project: project, db: db, now: now), project)
            }
        }
        guard let (applied, project) = started else { return nil }
        engine.publish(runID, applied.events)
        return (applied.run, project)
    }

    private func generate(_ run: Run, project: String) async throws {
        let runID = runID
        let (messages, steps) = try await database.reading { db in
            (try MessageRepository(db, project: project).all(threadID: run.threadID), try RunStepRepository(db).all(runID: runID))
        }
        let used = run.usage ?? Usage()
        let promptBudget = run.maxPromptTokens.map { $0 - used.promptTokens }
        let completionBudget = run.maxCompletionTokens.map { $0 - used.completionTokens }
        if let completionBudget, completionBudget <= 0 {
            return await settle(.incomplete(reason: "max_completion_tokens", usage: used), recorder: nil)
        }
        guard let request = ModelRequestBuilder.build(run: run, messages: messages, steps: steps,
                                                      promptBudget: promptBudget, completionBudget: completionBudget) else {
            return await settle(.incomplete(reason: "max_prompt_tokens", usage: used), recorder: nil)
        }

        let recorder = TurnRecorder(run: run, project: project, engine: engine)
        let (deltas, continuation) = AsyncStream<ModelDelta>.makeStream()
        let backend = engine.backend
        let call = Task<ModelOutcome, any Error> {
            defer { continuation.finish() }
            return try await backend.generate(request) { continuation.yield($0) }
        }
        control.attach(call)
        do {
            for await delta in deltas { try await recorder.record(delta) }
        } catch {
            call.cancel()
            throw error
        }
        let result = await call.result
        if case .success = result, control.reason == nil, recorder.isEmpty { try await recorder.openMessage() }
        await settle(command(for: result, run: run, used: used, recorder: recorder), recorder: recorder)
    }

    /// What the model call's result means for the run.
    private func command(for result: Result<ModelOutcome, any Error>, run: Run, used: Usage, recorder: TurnRecorder) -> RunCommand {
        switch control.reason {
        case .cancel: return .finishCancelling(usage: used)
        case .expire: return .expire
        case nil: break
        }
        switch result {
        case .failure(let error as BackendError):
            return .fail(error.error, usage: used)
        case .failure(is CancellationError):
            return .fail(RunError(.serverError, "The model call was cancelled."), usage: used)
        case .failure(let error):
            return .fail(RunError(.serverError, "The model call failed: \(error)"), usage: used)
        case .success(let outcome):
            recorder.callUsage = outcome.usage
            let total = used + outcome.usage
            if let limit = run.maxPromptTokens, total.promptTokens > limit {
                return .incomplete(reason: "max_prompt_tokens", usage: total)
            }
            if outcome.finishReason == .length { return .incomplete(reason: "max_completion_tokens", usage: total) }
            let calls = recorder.toolCalls
            if !calls.isEmpty {
                return .requireAction(calls.map { ToolCall(id: $0.id, name: $0.name, arguments: $0.arguments) }, usage: total)
            }
            return .complete(total)
        }
    }

    /// Stores the ending with the turn's message and steps, then publishes it. A cancel that
    /// arrived meanwhile wins (the state machine turns the ending into `cancelled`).
    private func settle(_ command: RunCommand, recorder: TurnRecorder?) async {
        let now = now
        let runID = runID
        let pending = recorder?.pendingWrites()
        do {
            let applied = try await database.writing { db -> RunTransitions.Applied? in
                try db.transaction {
                    guard let (run, project) = try RunRepository(db, project: nil).findWithProject(runID), !run.status.isTerminal else {
                        return nil
                    }
                    try pending?.store(db: db, project: project)
                    return try RunTransitions.apply(command, to: run, project: project, db: db, now: now, stepUsage: pending?.callUsage)
                }
            }
            guard let applied else { return }
            engine.publish(runID, applied.events)
        } catch {
            engine.log.error("run \(runID): could not store its ending: \(error)")
        }
    }
}
