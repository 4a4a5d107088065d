/// What may happen to a run.
public enum RunCommand: Sendable, Equatable {
    /// The executor picks a queued run up.
    case start
    /// The model asked for function calls; `usage` is the run's total so far.
    case requireAction([ToolCall], usage: Usage)
    /// Every pending call got its output.
    case submitToolOutputs
    case complete(Usage)
    /// A token budget ran out (`max_prompt_tokens` or `max_completion_tokens`).
    case incomplete(reason: String, usage: Usage)
    case fail(RunError, usage: Usage?)
    /// A client asked to cancel.
    case cancel
    /// The executor stopped the model after a cancel.
    case finishCancelling(usage: Usage?)
    case expire
}

public struct TransitionError: Error, Sendable, Equatable {
    public var status: RunStatus
    public var command: String

    public init(status: RunStatus, command: String) {
        self.status = status
        self.command = command
    }

    /// OpenAI's wording where it is known, e.g. `Runs in status "expired" do not accept tool outputs.`
    public var message: String {
        switch command {
        case "submitToolOutputs": "Runs in status \"\(status.rawValue)\" do not accept tool outputs."
        case "cancel": "Cannot cancel run with status '\(status.rawValue)'."
        default: "Run in status \"\(status.rawValue)\" cannot \(command)."
        }
    }
}

/// The run lifecycle as a pure function: a run, a command and the time in, the changed run out
/// (its status says which event announces it). Only the engine and the API call it, and they
/// store the result with a compare-and-set before publishing.
public enum RunStateMachine {
    public static func transition(_ run: Run, _ command: RunCommand, now: Int) throws(TransitionError) -> Run {
        var next = run
        switch (run.status, command) {
        case (.queued, .start):
            next.status = .inProgress
            if next.startedAt == nil { next.startedAt = now }
        case (.inProgress, .requireAction(let calls, let usage)):
            next.status = .requiresAction
            next.requiredAction = calls
            next.usage = usage
        case (.requiresAction, .submitToolOutputs):
            next.status = .queued
            next.requiredAction = nil
        case (.inProgress, .complete(let usage)):
            next.status = .completed
            next.completedAt = now
            next.usage = usage
        case (.inProgress, .incomplete(let reason, let usage)):
            next.status = .incomplete
            next.incompleteReason = reason
            next.usage = usage
        case (.queued, .fail(let error, let usage)), (.inProgress, .fail(let error, let usage)):
            next.status = .failed
            next.failedAt = now
            next.lastError = error
            next.usage = usage ?? run.usage
        case (.queued, .cancel), (.requiresAction, .cancel):
            next.status = .cancelled
            next.cancelledAt = now
            next.requiredAction = nil
        case (.inProgress, .cancel):
            next.status = .cancelling
        case (.cancelling, .cancel):
            // Asking again changes nothing; the first request is still being carried out.
            return run
        case (.cancelling, .finishCancelling(let usage)), (.cancelling, .complete(let usage as Usage?)),
             (.cancelling, .incomplete(_, let usage as Usage?)), (.cancelling, .fail(_, let usage)):
            // A cancel that was asked for wins over whatever the model did meanwhile.
            next.status = .cancelled
            next.cancelledAt = now
            next.usage = usage ?? run.usage
        case (.queued, .expire), (.inProgress, .expire), (.requiresAction, .expire), (.cancelling, .expire):
            next.status = .expired
            next.requiredAction = nil
        default:
            throw TransitionError(status: run.status, command: name(of: command))
        }
        if next.status.isTerminal {
            next.expiresAt = nil
            next.requiredAction = nil
        }
        next.version += 1
        return next
    }

    public static func name(of command: RunCommand) -> String {
        switch command {
        case .start: "start"
        case .requireAction: "requireAction"
        case .submitToolOutputs: "submitToolOutputs"
        case .complete: "complete"
        case .incomplete: "incomplete"
        case .fail: "fail"
        case .cancel: "cancel"
        case .finishCancelling: "finishCancelling"
        case .expire: "expire"
        }
    }
}
