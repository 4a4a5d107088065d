import ModelBackends
import RunsDomain
import RunsWire
import RunsStorage

/// Turns one model call's deltas into a message_creation step with its message, or a tool_calls
/// step, publishing each delta in the shape the SDKs accumulate.
///
/// `@unchecked Sendable`: used by one task at a time: the model call's task while it generates
/// (which awaits each delta before the next), then the executor once it has awaited that task.
final class TurnRecorder: @unchecked Sendable {
    /// A delta could not be stored; the executor tells this apart from a fault of the model.
    struct StorageFailure: Error {
        var error: any Error
    }

    /// The most text and call arguments one answer may hold; a model server that streams on
    /// without end is stopped here rather than growing the process.
    static let maxAnswerBytes = 32 << 20

    private let run: Run
    private let project: String
    private let engine: RunEngine
    private var message: Message?
    private var messageStep: RunStep?
    private var text = ""
    private var toolStep: RunStep?
    /// Upstream tool-call index → dense index from 0, as the SDKs need.
    private var callIndexes: [Int: Int] = [:]
    private(set) var toolCalls: [StepToolCall] = []
    private var answerBytes = 0
    /// Tokens produced so far by the estimate the echo model counts with, for an answer cut off
    /// before the model could report its usage (a cancel mid-stream).
    private(set) var completionTokenEstimate = 0
    var callUsage: Usage?

    private let relayEverything: Bool
    /// Calls of `file_search` are Runnel's own: they stream as file_search calls, without arguments.
    private let searchable: Bool
    /// Marker number → file id of the run's searches, for the answer's citations.
    private let citations: [String: String]
    /// Calls of `code_interpreter` are Runnel's own too: they stream as code_interpreter calls.
    private let coding: Bool
    /// `sandbox:` path → File id of what the run's code wrote, for the answer's `file_path` annotations.
    private let codeFiles: [String: String]
    /// Figures of the run's code not shown yet: the message opened next starts with them.
    private let images: [String]
    private var showedImages = false
    private var codeStreams: [Int: CodeArgumentStream] = [:]

    init(run: Run, project: String, engine: RunEngine, relayEverything: Bool, searchable: Bool = false,
         citations: [String: String] = [:], coding: Bool = false, codeFiles: [String: String] = [:], images: [String] = []) {
        self.run = run
        self.project = project
        self.engine = engine
        self.relayEverything = relayEverything
        self.searchable = searchable
        self.citations = citations
        self.coding = coding
        self.codeFiles = codeFiles
        self.images = images
    }

    private func isSearch(_ call: StepToolCall) -> Bool { searchable && call.name == FileSearchTool.name }
    private func isCode(_ call: StepToolCall) -> Bool { coding && call.name == CodeInterpreterTool.name }

    /// The calls the model made of `file_search`, which Runnel executes.
    var searchCalls: [StepToolCall] { toolCalls.filter(isSearch) }

    /// The calls the model made of `code_interpreter`, which Runnel executes.
    var codeCalls: [StepToolCall] { toolCalls.filter(isCode) }

    /// The calls the client must answer.
    var functionCalls: [StepToolCall] { toolCalls.filter { !isSearch($0) && !isCode($0) } }

    /// Puts the executed calls in place of the calls the model made; a code call's outputs are
    /// streamed as they are known.
    func recordExecuted(_ executed: [StepToolCall]) {
        for call in executed {
            guard let index = toolCalls.firstIndex(where: { $0.id == call.id }) else { continue }
            toolCalls[index] = call
            if let code = call.codeInterpreter, let step = toolStep {
                publish([RunEvent(.stepDelta, DeltaWire.codeOutputs(stepID: step.id, index: index, outputs: code.outputs))])
            }
        }
    }

    /// The tool step, completed with what Runnel's own calls gave, as the turn goes on to another call.
    func completeOwnCallsStep(usage: Usage) async throws {
        guard var step = toolStep else { return }
        step.toolCalls = toolCalls
        step.usage = usage
        step.close(.completed, at: engine.clock.nowSeconds())
        let (stored, runID, node) = (step, run.id, engine.node)
        let held = try await engine.database.writing { db -> Bool in
            guard let (run, _) = try RunRepository(db, project: nil).findHeld(runID, by: node), !run.status.isTerminal else { return false }
            try RunStepRepository(db).update(stored)
            return true
        }
        guard held else { return }
        toolStep = step
        publish([RunEvent(.step(step.status), step.wire(includeSearchContent: run.includeSearchContent))])
    }

    /// The message's content: the figures it shows, then its text with its annotations.
    private var content: [JSONValue] {
        func start(_ annotation: JSONValue) -> Int {
            if case .integer(let index)? = annotation["start_index"] { index } else { 0 }
        }
        let annotations = (FileSearchTool.annotations(text, citations: citations) + CodeInterpreterTool.annotations(text, files: codeFiles))
            .sorted { start($0) < start($1) }
        let figures: [JSONValue] = showedImages ? images.map { ["type": "image_file", "image_file": ["file_id": .string($0), "detail": "auto"]] } : []
        return figures + [MessageInput.textPart(text, annotations: annotations)]
    }

    private var textIndex: Int { showedImages ? images.count : 0 }

    private func publish(_ events: [RunEvent]) {
        engine.publish(run.id, events, everywhere: relayEverything)
    }

    /// The async part is only the first delta's: storing the message or step it opens (out of
    /// line). The rest is synchronous, so its locals stay on the thread's stack; an async frame
    /// would hold them (several KB) in the model call's task for as long as the answer streams.
    func record(_ delta: ModelDelta) async throws {
        if opens(delta) {
            do {
                try await open(for: delta)
            } catch {
                throw StorageFailure(error: error)
            }
        }
        try recordOpened(delta)
    }

    /// Whether the delta is the first of a message or of a tool step.
    private func opens(_ delta: ModelDelta) -> Bool {
        switch delta {
        case .text(let piece): toolStep == nil && !piece.isEmpty && message == nil
        case .toolCall: toolStep == nil
        }
    }

    /// In a task of its own: a task keeps the largest stack of frames it ever had until it ends, and
    /// storing the message or step takes several KB of frames the model call's task, which lives
    /// as long as the answer streams, would otherwise keep.
    @inline(never)
    private func open(for delta: ModelDelta) async throws {
        let opening = if case .text = delta {
            Task { [self] in _ = try await openMessage() }
        } else {
            Task { [self] in _ = try await openToolStep() }
        }
        try await withTaskCancellationHandler { try await opening.value } onCancel: { opening.cancel() }
    }

    /// Records a delta once its message or step is open. Out of line, so its locals stay on the
    /// thread's stack.
    @inline(never)
    private func recordOpened(_ delta: ModelDelta) throws {
        switch delta {
        case .text(let piece):
            guard toolStep == nil, !piece.isEmpty, let messageID = message?.id else { return }
            try count(bytes: piece.utf8.count, tokens: TokenEstimate.count(piece))
            let first = text.isEmpty
            text += piece
            publish([RunEvent(.messageDelta, DeltaWire.messageText(messageID: messageID, text: piece, first: first, index: textIndex))])
        case .toolCall(let upstreamIndex, let id, let name, let arguments):
            guard let stepID = toolStep?.id else { return }
            try count(bytes: arguments.utf8.count + (id?.utf8.count ?? 0) + (name?.utf8.count ?? 0),
                      tokens: TokenEstimate.count(arguments) + (callIndexes[upstreamIndex] == nil ? 1 : 0))
            if let index = callIndexes[upstreamIndex] {
                guard !arguments.isEmpty else { return }
                toolCalls[index].arguments += arguments
                if isSearch(toolCalls[index]) { return }
                if isCode(toolCalls[index]) { return streamCode(arguments, stepID: stepID, index: index) }
                publish([RunEvent(.stepDelta, DeltaWire.toolCallArguments(stepID: stepID, index: index, fragment: arguments))])
            } else {
                let index = toolCalls.count
                callIndexes[upstreamIndex] = index
                let call = StepToolCall(id: id ?? engine.ids.id(.call), name: name ?? "", arguments: arguments)
                toolCalls.append(call)
                if isSearch(call) {
                    publish([RunEvent(.stepDelta, DeltaWire.fileSearchStart(stepID: stepID, index: index, callID: call.id))])
                } else if isCode(call) {
                    publish([RunEvent(.stepDelta, DeltaWire.codeStart(stepID: stepID, index: index, callID: call.id))])
                    streamCode(arguments, stepID: stepID, index: index)
                } else {
                    publish([RunEvent(.stepDelta, DeltaWire.toolCallStart(stepID: stepID, index: index, call: call))])
                }
            }
        }
    }

    /// Streams what a code call's argument fragment adds to its code, as an `input` piece.
    private func streamCode(_ arguments: String, stepID: String, index: Int) {
        let piece = codeStreams[index, default: CodeArgumentStream()].feed(arguments)
        if !piece.isEmpty { publish([RunEvent(.stepDelta, DeltaWire.codeInput(stepID: stepID, index: index, fragment: piece))]) }
    }

    private func count(bytes: Int, tokens: Int) throws(BackendError) {
        answerBytes += bytes
        guard answerBytes <= Self.maxAnswerBytes else {
            throw BackendError(.serverError, "The model server's answer grew past \(Self.maxAnswerBytes) bytes; it was stopped there.")
        }
        completionTokenEstimate += tokens
    }

    private func stored<T>(_ write: () async throws -> T) async throws -> T {
        do {
            return try await write()
        } catch {
            throw StorageFailure(error: error)
        }
    }

    /// True when the model produced neither text nor calls.
    var isEmpty: Bool { message == nil && toolStep == nil }

    /// The step and message come into being (stored, then announced) with the first text, or
    /// before the ending of an answer with no text, so a finished run always has its message.
    @discardableResult @inline(never)
    func openMessage() async throws -> Message {
        let (stepID, stepCreated) = engine.ids.make(.step)
        let (messageID, messageCreated) = engine.ids.make(.message)
        let step = RunStep(id: stepID, createdAt: stepCreated, runID: run.id, threadID: run.threadID,
                           assistantID: run.assistantID, type: .messageCreation, messageID: messageID)
        let message = Message(id: messageID, createdAt: messageCreated, threadID: run.threadID, status: .inProgress,
                              role: .assistant, content: [], assistantID: run.assistantID, runID: run.id, attachments: [])
        let project = project
        try await engine.database.writing { db in
            try RunStepRepository(db).insert(step, project: project)
            try MessageRepository(db, project: project).insert(message)
        }
        self.message = message
        messageStep = step
        publish([
            .step(created: step), .step(step), .message(created: message), .message(message),
        ])
        if !images.isEmpty {
            showedImages = true
            publish([RunEvent(.messageDelta, DeltaWire.messageImages(messageID: messageID, fileIDs: images))])
        }
        return message
    }

    @inline(never)
    private func openToolStep() async throws -> RunStep {
        // A message written before the calls ends first: the SDKs stream one thing at a time.
        let closing = try await closeMessageBeforeTools()
        let (stepID, created) = engine.ids.make(.step)
        let step = RunStep(id: stepID, createdAt: created, runID: run.id, threadID: run.threadID,
                           assistantID: run.assistantID, type: .toolCalls)
        let project = project
        try await engine.database.writing { db in try RunStepRepository(db).insert(step, project: project) }
        toolStep = step
        publish(closing + [.step(created: step), .step(step)])
        return step
    }

    private func closeMessageBeforeTools() async throws -> [RunEvent] {
        guard var message, var step = messageStep else { return [] }
        let now = engine.clock.nowSeconds()
        message.content = content
        message.status = .completed
        message.completedAt = now
        step.close(.completed, at: now)
        let (storedMessage, storedStep, project) = (message, step, project)
        try await engine.database.writing { db in
            try MessageRepository(db, project: project).update(storedMessage)
            try RunStepRepository(db).update(storedStep)
        }
        self.message = nil
        messageStep = nil
        return [.message(message), .step(step)]
    }

    /// What the run's ending must store besides the run: the message text and the tool calls.
    func pendingWrites() -> PendingTurnWrites {
        PendingTurnWrites(message: message, content: content, toolStep: toolStep, toolCalls: toolCalls, callUsage: callUsage)
    }
}

struct PendingTurnWrites: Sendable {
    let message: Message?
    let content: [JSONValue]
    let toolStep: RunStep?
    let toolCalls: [StepToolCall]
    let callUsage: Usage?

    /// Runs inside the ending's transaction, before the run's own change.
    func store(db: any SQLSession, project: String) throws {
        if var message {
            message.content = content
            try MessageRepository(db, project: project).update(message)
        }
        if var toolStep {
            toolStep.toolCalls = toolCalls
            toolStep.usage = callUsage
            try RunStepRepository(db).update(toolStep)
        }
    }
}
