public enum RunStatus: String, Sendable, CaseIterable {
    case queued
    case inProgress = "in_progress"
    case requiresAction = "requires_action"
    case cancelling
    case cancelled
    case failed
    case completed
    case incomplete
    case expired

    public var isTerminal: Bool {
        switch self {
        case .cancelled, .failed, .completed, .incomplete, .expired: true
        case .queued, .inProgress, .requiresAction, .cancelling: false
        }
    }

    /// The statuses the SDK poll helpers stop at.
    public var endsPolling: Bool { isTerminal || self == .requiresAction }

    public static let active: [RunStatus] = allCases.filter { !$0.isTerminal }
}

/// Token counts of one model call, a step or a whole run.
public struct Usage: Sendable, Equatable {
    public var promptTokens: Int
    public var completionTokens: Int

    public init(promptTokens: Int = 0, completionTokens: Int = 0) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
    }

    public var totalTokens: Int { Self.saturating(promptTokens, completionTokens) }

    /// Sums saturate: counts come from model servers, and an absurd one must not trap.
    public static func + (lhs: Usage, rhs: Usage) -> Usage {
        Usage(promptTokens: saturating(lhs.promptTokens, rhs.promptTokens),
              completionTokens: saturating(lhs.completionTokens, rhs.completionTokens))
    }

    static func saturating(_ a: Int, _ b: Int) -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b > 0 ? .max : .min) : sum
    }
}

/// `last_error` of a run or step.
public struct RunError: Sendable, Equatable, Error {
    public enum Code: String, Sendable {
        case serverError = "server_error"
        case rateLimitExceeded = "rate_limit_exceeded"
        case invalidPrompt = "invalid_prompt"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}

/// A function call the model asked for, as listed in `required_action`.
public struct ToolCall: Sendable, Equatable {
    public var id: String
    public var name: String
    public var arguments: String

    public init(id: String, name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}

/// A run. Its fields sit in one copy-on-write box, so a `Run` is a pointer wide: runs pass through
/// many async functions, and each frame that held one held all its fields, for as long as the
/// run executed (an async frame lives in its task's allocator, not on a thread's stack).
@dynamicMemberLookup
public struct Run: Sendable, Equatable {
    /// `@unchecked Sendable`: a box is never changed while shared; a change to a shared one copies it first.
    @usableFromInline final class Box: @unchecked Sendable {
        @usableFromInline var fields: RunFields

        @usableFromInline init(_ fields: RunFields) {
            self.fields = fields
        }
    }

    @usableFromInline var box: Box

    public init(_ fields: RunFields) {
        box = Box(fields)
    }

    public var fields: RunFields { box.fields }

    @inlinable public subscript<T>(dynamicMember key: WritableKeyPath<RunFields, T>) -> T {
        get { box.fields[keyPath: key] }
        set {
            if !isKnownUniquelyReferenced(&box) { box = Box(box.fields) }
            box.fields[keyPath: key] = newValue
        }
    }

    public static func == (lhs: Run, rhs: Run) -> Bool {
        lhs.box === rhs.box || lhs.box.fields == rhs.box.fields
    }
}

/// What a run holds.
public struct RunFields: Sendable, Equatable {
    public var id: String
    public var createdAt: Int
    public var threadID: String
    public var assistantID: String
    public var status: RunStatus
    public var requiredAction: [ToolCall]?
    public var lastError: RunError?
    public var expiresAt: Int?
    public var startedAt: Int?
    public var cancelledAt: Int?
    public var failedAt: Int?
    public var completedAt: Int?
    /// `max_completion_tokens` or `max_prompt_tokens` when the run ended incomplete.
    public var incompleteReason: String?
    public var model: String
    public var instructions: String
    public var tools: [JSONValue]
    public var metadata: JSONValue
    public var usage: Usage?
    public var temperature: Double?
    public var topP: Double?
    public var maxPromptTokens: Int?
    public var maxCompletionTokens: Int?
    public var truncationStrategy: JSONValue
    public var toolChoice: JSONValue
    public var parallelToolCalls: Bool
    public var responseFormat: JSONValue
    public var reasoningEffort: String?
    /// Bumped by every stored change; updates compare it, so concurrent writers cannot overwrite
    /// each other's transition.
    public var version: Int
    /// Whether streamed `file_search` steps carry their results' text (`include[]` on create).
    public var includeSearchContent = false

    public init(
        id: String, createdAt: Int, threadID: String, assistantID: String, status: RunStatus = .queued,
        expiresAt: Int?, model: String, instructions: String, tools: [JSONValue] = [], metadata: JSONValue = [:],
        temperature: Double? = nil, topP: Double? = nil, maxPromptTokens: Int? = nil, maxCompletionTokens: Int? = nil,
        truncationStrategy: JSONValue = ["type": "auto", "last_messages": nil], toolChoice: JSONValue = "auto",
        parallelToolCalls: Bool = true, responseFormat: JSONValue = "auto", reasoningEffort: String? = nil
    ) {
        self.id = id
        self.createdAt = createdAt
        self.threadID = threadID
        self.assistantID = assistantID
        self.status = status
        self.expiresAt = expiresAt
        self.model = model
        self.instructions = instructions
        self.tools = tools
        self.metadata = metadata
        self.temperature = temperature
        self.topP = topP
        self.maxPromptTokens = maxPromptTokens
        self.maxCompletionTokens = maxCompletionTokens
        self.truncationStrategy = truncationStrategy
        self.toolChoice = toolChoice
        self.parallelToolCalls = parallelToolCalls
        self.responseFormat = responseFormat
        self.reasoningEffort = reasoningEffort
        version = 0
    }
}

public enum StepType: String, Sendable {
    case messageCreation = "message_creation"
    case toolCalls = "tool_calls"
}

public enum StepStatus: String, Sendable, CaseIterable {
    case inProgress = "in_progress"
    case cancelled
    case failed
    case completed
    case expired
}

/// A call inside a `tool_calls` step: a function call with its output once submitted, or a
/// `file_search` Runnel executed itself (its results kept in `fileSearch`, what the model was
/// handed in `output`).
public struct StepToolCall: Sendable, Equatable {
    public var id: String
    public var name: String
    public var arguments: String
    public var output: String?
    public var fileSearch: FileSearchCall?
    public var codeInterpreter: CodeInterpreterCall?

    public init(id: String, name: String, arguments: String, output: String? = nil, fileSearch: FileSearchCall? = nil,
                codeInterpreter: CodeInterpreterCall? = nil) {
        self.id = id
        self.name = name
        self.arguments = arguments
        self.output = output
        self.fileSearch = fileSearch
        self.codeInterpreter = codeInterpreter
    }
}

/// A `code_interpreter` call Runnel ran: the code, what it printed and the figures it drew, and
/// the files it wrote (kept for the answer's `file_path` annotations, not on the wire).
public struct CodeInterpreterCall: Sendable, Equatable {
    public var input: String
    public var outputs: [CodeOutput]
    /// Path as the code saw it (`/mnt/data/…`) → the File made of it.
    public var files: [String: String]

    public init(input: String, outputs: [CodeOutput], files: [String: String] = [:]) {
        self.input = input
        self.outputs = outputs
        self.files = files
    }

    public var images: [String] {
        outputs.compactMap { if case .image(let id) = $0 { id } else { nil } }
    }
}

public enum CodeOutput: Sendable, Equatable {
    case logs(String)
    case image(fileID: String)
}

/// What a `file_search` call found.
public struct FileSearchCall: Sendable, Equatable {
    /// `{"ranker", "score_threshold"}` as the search ran.
    public var rankingOptions: JSONValue
    public var results: [FileSearchHit]

    public init(rankingOptions: JSONValue, results: [FileSearchHit]) {
        self.rankingOptions = rankingOptions
        self.results = results
    }
}

public struct FileSearchHit: Sendable, Equatable {
    public var fileID: String
    public var fileName: String
    public var score: Double
    public var text: String

    public init(fileID: String, fileName: String, score: Double, text: String) {
        self.fileID = fileID
        self.fileName = fileName
        self.score = score
        self.text = text
    }
}

public struct RunStep: Sendable, Equatable {
    public var id: String
    public var createdAt: Int
    public var runID: String
    public var threadID: String
    public var assistantID: String
    public var type: StepType
    public var status: StepStatus
    /// For message_creation steps.
    public var messageID: String?
    /// For tool_calls steps.
    public var toolCalls: [StepToolCall]
    public var lastError: RunError?
    public var expiredAt: Int?
    public var cancelledAt: Int?
    public var failedAt: Int?
    public var completedAt: Int?
    public var metadata: JSONValue
    public var usage: Usage?

    public init(id: String, createdAt: Int, runID: String, threadID: String, assistantID: String, type: StepType,
                messageID: String? = nil, toolCalls: [StepToolCall] = []) {
        self.id = id
        self.createdAt = createdAt
        self.runID = runID
        self.threadID = threadID
        self.assistantID = assistantID
        self.type = type
        status = .inProgress
        self.messageID = messageID
        self.toolCalls = toolCalls
        metadata = [:]
    }

    /// Ends the step with the status its run ended with, stamping the matching time.
    public mutating func close(_ status: StepStatus, at now: Int, error: RunError? = nil) {
        guard self.status == .inProgress else { return }
        self.status = status
        switch status {
        case .completed: completedAt = now
        case .cancelled: cancelledAt = now
        case .failed: failedAt = now; lastError = error
        case .expired: expiredAt = now
        case .inProgress: break
        }
    }
}
