import RunsDomain
import RunsWire
import RunsStorage

/// Stores a run transition together with what it means for the run's open message and steps,
/// inside the caller's transaction, and returns the events to publish once it commits.
public enum RunTransitions {
    public struct Applied: Sendable {
        public var run: Run
        public var events: [RunEvent]
    }

    /// - Parameter keepToolStepOpen: a run waiting for tool outputs keeps its tool_calls step open.
    public static func apply(_ command: RunCommand, to run: Run, project: String, db: any SQLSession, now: Int,
                      stepUsage: Usage? = nil) throws -> Applied {
        let next = try RunStateMachine.transition(run, command, now: now)
        guard try RunRepository(db, project: nil).compareAndSet(next, expectedVersion: run.version) else {
            throw APIError(.unavailable, "Run \(run.id) changed while it was being updated; please retry.")
        }
        var events = try closeArtifacts(of: next, project: project, db: db, now: now, stepUsage: stepUsage)
        events.append(.run(next))
        return Applied(run: next, events: events)
    }

    /// Ends the run's in-progress message and steps the way the run ended.
    static func closeArtifacts(of run: Run, project: String, db: any SQLSession, now: Int, stepUsage: Usage?) throws -> [RunEvent] {
        guard run.status.isTerminal || run.status == .requiresAction else { return [] }
        var events: [RunEvent] = []
        let messages = MessageRepository(db, project: project)
        for var message in try messages.open(runID: run.id) {
            switch run.status {
            case .completed, .requiresAction:
                message.status = .completed
                message.completedAt = now
            default:
                message.status = .incomplete
                message.incompleteAt = now
                message.incompleteDetails = ["reason": .string(incompleteReason(for: run))]
            }
            try messages.update(message)
            events.append(.message(message))
        }
        let steps = RunStepRepository(db)
        let open = try steps.all(runID: run.id).filter { $0.status == .inProgress }
        for (offset, var step) in open.enumerated() {
            if run.status == .requiresAction, step.type == .toolCalls { continue }
            let status: StepStatus = switch run.status {
            case .cancelled: .cancelled
            case .expired: .expired
            case .failed: .failed
            default: .completed
            }
            step.close(status, at: now, error: run.lastError)
            if offset == open.count - 1, let stepUsage { step.usage = stepUsage }
            try steps.update(step)
            events.append(.step(step))
        }
        return events
    }

    static func incompleteReason(for run: Run) -> String {
        switch run.status {
        case .cancelled: "run_cancelled"
        case .expired: "run_expired"
        case .failed: "run_failed"
        default: "max_tokens"
        }
    }
}
