import CodeInterpreter
import Logging
import ModelBackends
import Observability
import RunsDomain
import RunsStorage
import RunsWire

/// Executes one turn of a run: queued → in_progress, one model call whose deltas become message
/// and step events as they arrive, then the ending the answer calls for (completed, requires_action,
/// incomplete, cancelled, expired or failed). Every change is committed before it is published.
struct RunExecutor {
    let engine: RunEngine
    let runID: String
    let control: RunControl

    private var database: any Store { engine.database }
    private var now: Int { engine.clock.nowSeconds() }

    func execute(_ assignment: Assignment) async {
        do {
            let taken: (Run, String)? = switch assignment {
            case .start: try await start()
            case .started(let run, let project): took(run, project: project)
            case .resume: try await resume()
            case .finishCancelling: try await finishCancelling()
            }
            guard let (run, project) = taken else { return }
            engine.live.track(run, project: project)
            try await generate(run, project: project)
        } catch {
            if Self.databaseUnavailable(error) {
                // Nothing is wrong with the run: it is taken up again (resumed if it had started)
                // once the database answers, here or on another node.
                note(.warning, "run \(runID): the database is unavailable; the run is left for another attempt: \(error)")
                return
            }
            note(.error, "run \(runID) failed inside the engine: \(error)")
            await settle(.fail(RunError(.serverError, Self.storageFailure(error)), usage: nil), recorder: nil)
        }
    }

    /// queued → in_progress; nil when the run is no longer queued (cancelled, expired, deleted)
    /// or this node does not hold it (every path that launches an executor took the lease first).
    private func start() async throws -> (Run, String)? {
        let (now, runID, node) = (now, runID, engine.node)
        let started = try await database.writing { db -> (RunTransitions.Applied, String)? in
            guard let (run, project) = try RunRepository(db, project: nil).findHeld(runID, by: node), run.status == .queued else {
                return nil
            }
            return (try RunTransitions.apply(.start, to: run, project: project, db: db, now: now), project)
        }
        guard let (applied, project) = started else { return nil }
        control.leased.store(true, ordering: .releasing)
        publish(applied.events)
        return (applied.run, project)
    }

    /// A run the write that queued it also started: its lease was stored with it.
    private func took(_ run: Run, project: String) -> (Run, String) {
        control.leased.store(true, ordering: .releasing)
        return (run, project)
    }

    /// Takes up a run whose turn was cut off: the partial message and open steps go, and the
    /// turn executes again from the last committed state, up to `runRetries` times.
    private func resume() async throws -> (Run, String)? {
        let (now, runID, node, retries) = (now, runID, engine.node, engine.settings.runRetries)
        let resumed = try await database.writing { db -> (run: Run, project: String, failed: [RunEvent]?)? in
            guard let (run, project) = try RunRepository(db, project: nil).findHeld(runID, by: node), run.status == .inProgress else {
                return nil
            }
            let interruptions = try RunLeases.countInterruption(db, runID: runID)
            guard interruptions <= retries else {
                let error = RunError(.serverError, "This run was interrupted \(interruptions) times (a Runnel node stopped or lost contact mid-answer) and was stopped. Create a new run to continue.")
                let applied = try RunTransitions.apply(.fail(error, usage: nil), to: run, project: project, db: db, now: now)
                return (applied.run, project, applied.events)
            }
            try MessageRepository(db, project: project).deleteOpen(runID: runID)
            try RunStepRepository(db).deleteOpen(runID: runID)
            return (run, project, nil)
        }
        guard let resumed else { return nil }
        if let failed = resumed.failed {
            publish(failed)
            return nil
        }
        control.leased.store(true, ordering: .releasing)
        note(.info, "run \(runID): executing its interrupted turn again")
        return (resumed.run, resumed.project)
    }

    /// A run left `cancelling` by a node that is gone ends cancelled.
    private func finishCancelling() async throws -> (Run, String)? {
        control.leased.store(true, ordering: .releasing)
        await settle(.finishCancelling(usage: nil), recorder: nil)
        return nil
    }

    private func publish(_ events: [RunEvent]) {
        engine.publish(runID, events, everywhere: control.relayEverything)
    }

    private func generate(_ run: Run, project: String) async throws {
        let runID = runID
        let firstToken = FirstTokenTimer()
        let searchable = FileSearchTool.isOffered(in: run)
        if searchable { await waitForIngestion(run, project: project) }
        let coding = CodeInterpreterTool.isOffered(in: run)
        let code = coding ? await engine.code.current() : (sessions: nil, reason: "")
        // Without a sandbox the function is not offered, so the model uses the other tools; a run
        // that forces it cannot run.
        if coding, code.sessions == nil, run.toolChoice["type"]?.stringValue == CodeInterpreterTool.name {
            return await settle(.fail(RunError(.serverError, code.reason), usage: nil), recorder: nil)
        }
        var used = run.usage ?? Usage()
        // Images come from the messages the turn started with (what a round adds is the model's
        // own text), so they are read in the first round only.
        var images: [String: String]?
        // Each round is one model call; a round whose calls were all file_search goes on to the next.
        for round in 0... {
            let known = images
            let (messages, steps, loaded, inputs) = try await database.reading { db in
                let messages = try MessageRepository(db, project: project).all(threadID: run.threadID)
                return (messages, try RunStepRepository(db).all(runID: runID),
                        try known ?? ImageInputs.load(messages, project: project, db: db),
                        coding ? try CodeInterpreterTool.inputFiles(run: run, messages: messages, project: project, db: db) : [])
            }
            images = loaded
            let promptBudget = run.maxPromptTokens.map { $0 - used.promptTokens }
            let completionBudget = run.maxCompletionTokens.map { $0 - used.completionTokens }
            if let completionBudget, completionBudget <= 0 {
                return await settle(.incomplete(reason: "max_completion_tokens", usage: used), recorder: nil)
            }
            guard let request = ModelRequestBuilder.build(run: run, messages: messages, steps: steps, promptBudget: promptBudget,
                                                          completionBudget: completionBudget, searchRounds: round,
                                                          images: loaded, codeTool: code.sessions.map { codeTool($0, inputs) }) else {
                return await settle(.incomplete(reason: "max_prompt_tokens", usage: used), recorder: nil)
            }

            let recorder = TurnRecorder(run: run, project: project, engine: engine, relayEverything: control.relayEverything,
                                        searchable: searchable && round < FileSearchTool.maxRounds,
                                        citations: FileSearchTool.citations(steps),
                                        coding: coding && round < FileSearchTool.maxRounds,
                                        codeFiles: CodeInterpreterTool.files(in: steps), images: CodeInterpreterTool.pendingImages(in: steps))
            let backend = engine.backend
            // Deltas go straight from the backend into the recorder, one awaited at a time: nothing
            // queues between them, so a slow recorder slows the model's stream instead of filling memory.
            let call = Task<ModelOutcome, any Error> {
                try await backend.generate(request) { delta in
                    firstToken.deltaArrived()
                    try await recorder.record(delta)
                }
            }
            control.attach(call)
            let callStarted = Telemetry.now
            let result = await call.result
            recordModelCall(result, since: callStarted)
            if case .failure(let failure as TurnRecorder.StorageFailure) = result { throw failure.error }
            if case .success = result, control.reason == nil, recorder.isEmpty { try await recorder.openMessage() }
            if case .success(let outcome) = result, control.reason == nil, outcome.finishReason != .length,
               !recorder.searchCalls.isEmpty || !recorder.codeCalls.isEmpty {
                if !recorder.searchCalls.isEmpty {
                    try await search(recorder.searchCalls, run: run, project: project, steps: steps, recorder: recorder)
                }
                if !recorder.codeCalls.isEmpty {
                    // A model that calls the function although it was not offered gets the reason.
                    guard let sessions = code.sessions else {
                        return await settle(.fail(RunError(.serverError, code.reason), usage: used + outcome.usage), recorder: recorder)
                    }
                    try await runCode(recorder.codeCalls, in: sessions, run: run, project: project, inputs: inputs, recorder: recorder)
                }
                if recorder.functionCalls.isEmpty {
                    try await recorder.completeOwnCallsStep(usage: outcome.usage)
                    used = used + outcome.usage
                    if control.reason == nil { continue }
                }
            }
            return await settle(command(for: result, run: run, request: request, used: used, recorder: recorder), recorder: recorder)
        }
    }

    /// Logs from a synchronous frame: swift-log's `Logger` is a large value, and a temporary of
    /// it in an async function takes room in the frame of every executing run's task (with
    /// 15,000 streamed runs, 24 MiB more at the peak).
    private func note(_ level: Logger.Level, _ message: String) {
        engine.log.log(level: level, "\(message)")
    }

    private func recordModelCall(_ result: Result<ModelOutcome, any Error>, since start: UInt64) {
        switch result {
        case .success(let outcome):
            Telemetry.modelCall(outcome: "ok", since: start, promptTokens: outcome.usage.promptTokens,
                                completionTokens: outcome.usage.completionTokens)
        case .failure(let error):
            let cancelled = error is CancellationError || control.reason != nil
            Telemetry.modelCall(outcome: cancelled ? "cancelled" : "error", since: start, promptTokens: 0, completionTokens: 0)
        }
    }

    /// Executes the model's file_search calls against the run's stores.
    private func search(_ calls: [StepToolCall], run: Run, project: String, steps: [RunStep], recorder: TurnRecorder) async throws {
        let earlier = FileSearchTool.searches(in: steps).count
        let now = now
        let embeddings = engine.embeddings
        var vectors: [[Float]?] = Array(repeating: nil, count: calls.count)
        if let embeddings {
            // A query the embedding model cannot take is still searched by its words.
            for (index, call) in calls.enumerated() {
                vectors[index] = try? await embeddings.vectors([FileSearchTool.query(of: call)]).first
            }
        }
        let executed = try await database.writing { [vectors] db in
            try calls.enumerated().map { offset, call in
                try FileSearchTool.execute(call, run: run, project: project, ordinal: earlier + offset, db: db, now: now,
                                           embeddings: embeddings, queryVector: vectors[offset])
            }
        }
        recorder.recordExecuted(executed)
    }

    /// The `code_interpreter` function offered to the model, telling it where its files are.
    private func codeTool(_ sessions: CodeSessions, _ inputs: [StoredFile]) -> JSONValue {
        let dataPath = CodeInterpreterSetup.dataPath(sessions)
        return CodeInterpreterTool.definition(inputs: CodeInterpreterTool.inputPaths(inputs, dataPath: dataPath), dataPath: dataPath)
    }

    /// Runs the model's code_interpreter calls in the thread's session.
    private func runCode(_ calls: [StepToolCall], in sessions: CodeSessions, run: Run, project: String, inputs: [StoredFile],
                         recorder: TurnRecorder) async throws {
        let database = database
        let codeInputs = inputs.map { file in
            CodeInput(id: file.id, name: file.filename) { seq in
                try database.readNow { db in try FileRepository.piece(db, fileID: file.id, seq: seq) }
            }
        }
        var executed: [StepToolCall] = []
        for call in calls {
            let code = CodeInterpreterTool.code(of: call)
            var done = call
            do {
                let result = try await sessions.execute(key: run.threadID, code: code, inputs: codeInputs)
                let recorded = try await CodeOutputs.store(result, code: code, project: project, engine: engine)
                done.codeInterpreter = recorded
                done.output = CodeOutputs.summary(result, files: recorded.files)
            } catch {
                done.codeInterpreter = CodeInterpreterCall(input: code, outputs: [.logs("\(error)")])
                done.output = "\(error)"
            }
            executed.append(done)
        }
        recorder.recordExecuted(executed)
    }

    /// A run starts searching once its stores' files are indexed (as OpenAI's runs did), or
    /// after a minute, or when it is cancelled meanwhile.
    private func waitForIngestion(_ run: Run, project: String) async {
        let deadline = engine.clock.milliseconds + 60_000
        while control.reason == nil, engine.clock.milliseconds < deadline {
            let waiting = (try? await database.reading { db in
                try FileSearchTool.stores(run: run, project: project, db: db).contains {
                    try VectorStoreRepository(db, project: project).usage($0).counts.inProgress > 0
                }
            }) ?? false
            guard waiting else { return }
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
    }

    /// What the model call's result means for the run.
    private func command(for result: Result<ModelOutcome, any Error>, run: Run, request: ModelRequest, used: Usage,
                         recorder: TurnRecorder) -> RunCommand {
        // What the call cost so far by the token estimate, for endings that come before the model
        // could report its usage.
        func estimatedCallUsage() -> Usage {
            Usage(promptTokens: request.messages.reduce(0) { $0 + TokenEstimate.count(message: $1) },
                  completionTokens: recorder.completionTokenEstimate)
        }
        switch control.reason {
        case .cancel:
            let call = estimatedCallUsage()
            recorder.callUsage = call
            return .finishCancelling(usage: used + call)
        case .expire: return .expire
        case .leaseLost, nil: break
        }
        switch result {
        case .failure(let error as BackendError):
            return .fail(error.error, usage: recorder.isEmpty ? used : used + estimatedCallUsage())
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
            let calls = recorder.functionCalls
            if !calls.isEmpty {
                return .requireAction(calls.map { ToolCall(id: $0.id, name: $0.name, arguments: $0.arguments) }, usage: total)
            }
            return .complete(total)
        }
    }

    /// Stores the ending with the turn's message and steps, then publishes it. A cancel that
    /// arrived meanwhile wins (the state machine turns the ending into `cancelled`).
    ///
    /// An ending that cannot be stored (a full disk, an I/O error) is retried with backoff for a
    /// while; after that the run is ended `failed`, stored as soon as a write succeeds again, so a
    /// run is never left `in_progress` by a storage failure.
    private func settle(_ command: RunCommand, recorder: TurnRecorder?) async {
        if control.reason == .leaseLost {
            note(.info, "run \(runID): left to the node that holds it now")
            return
        }
        let policy = engine.settings.endingRetry
        var attempt = 0
        var ending = (command: command, pending: recorder?.pendingWrites())
        var fallenBack = false
        let started = engine.clock.milliseconds
        while true {
            do {
                try await store(ending.command, pending: ending.pending)
                if attempt > 0 { note(.info, "run \(runID): its ending was stored after \(attempt) failed attempt(s)") }
                return
            } catch {
                attempt += 1
                if attempt == 1 { note(.error, "run \(runID): could not store its ending (will retry): \(error)") }
                if engine.isStopping || control.reason == .leaseLost {
                    note(.warning, "run \(runID): stopping with its ending unstored; recovery settles it at the next start")
                    return
                }
                let waited = Double(engine.clock.milliseconds - started) / 1000
                // An unreachable database gets the original ending once it is back (unless the
                // lease runs out meanwhile and another node takes the run over).
                if !fallenBack, waited >= policy.giveUpSeconds, !Self.databaseUnavailable(error) {
                    fallenBack = true
                    let error = RunError(.serverError, Self.storageFailure(error))
                    ending = (.fail(error, usage: nil), nil)
                    note(.error, "run \(runID): giving up on its ending; it ends failed once a write succeeds")
                }
                try? await Task.sleep(nanoseconds: UInt64(policy.delay(afterAttempt: attempt) * 1e9))
            }
        }
    }

    private func store(_ command: RunCommand, pending: PendingTurnWrites?) async throws {
        let (now, runID, node, control) = (now, runID, engine.node, control)
        let applied = try await database.writing { db -> RunTransitions.Applied? in
            // A node that lost the run's lease writes nothing: the run is someone else's now.
            guard let (run, project) = try RunRepository(db, project: nil).findHeld(runID, by: node), !run.status.isTerminal else {
                return nil
            }
            try pending?.store(db: db, project: project)
            let applied = try RunTransitions.apply(command, to: run, project: project, db: db, now: now, stepUsage: pending?.callUsage)
            // The update gave the lease back if the run ended or waits: before it commits, so the
            // heartbeat never mistakes that for a lost lease.
            if applied.run.status.isTerminal || applied.run.status == .requiresAction { control.leased.store(false, ordering: .releasing) }
            return applied
        }
        if let applied { publish(applied.events) }
    }

    /// The database server cannot be reached or is restarting, as opposed to refusing the write.
    static func databaseUnavailable(_ error: any Error) -> Bool {
        let underlying = (error as? TurnRecorder.StorageFailure)?.error ?? error
        return (underlying as? any StorageConditionError)?.isConnectionLost == true
    }

    /// The `last_error` message of a run the engine could not carry on storing.
    static func storageFailure(_ error: any Error) -> String {
        if let error = error as? any StorageConditionError, case .full? = error.condition {
            return "Runnel could not store this run's result because the server's disk is full; the run was stopped."
        }
        return "The server had an error while running this run."
    }
}
