import Testing
@testable import RunsDomain

/// Every (status, command) pair, and what it must lead to (nil: refused).
struct RunStateMachineTests {
    static let usage = Usage(promptTokens: 3, completionTokens: 4)
    static let commands: [RunCommand] = [
        .start, .requireAction([ToolCall(id: "call_1", name: "f", arguments: "{}")], usage: usage), .submitToolOutputs,
        .complete(usage), .incomplete(reason: "max_completion_tokens", usage: usage),
        .fail(RunError(.serverError, "boom"), usage: usage), .cancel, .finishCancelling(usage: usage), .expire,
    ]

    static func expected(_ status: RunStatus, _ command: RunCommand) -> RunStatus? {
        switch (status, command) {
        case (.queued, .start): .inProgress
        case (.inProgress, .requireAction): .requiresAction
        case (.requiresAction, .submitToolOutputs): .queued
        case (.inProgress, .complete): .completed
        case (.inProgress, .incomplete): .incomplete
        case (.queued, .fail), (.inProgress, .fail): .failed
        case (.queued, .cancel), (.requiresAction, .cancel): .cancelled
        case (.inProgress, .cancel), (.cancelling, .cancel): .cancelling
        case (.cancelling, .finishCancelling), (.cancelling, .complete), (.cancelling, .incomplete), (.cancelling, .fail): .cancelled
        case (.queued, .expire), (.inProgress, .expire), (.requiresAction, .expire), (.cancelling, .expire): .expired
        default: nil
        }
    }

    static let pairs: [(RunStatus, Int)] = RunStatus.allCases.flatMap { status in commands.indices.map { (status, $0) } }

    func run(_ status: RunStatus) -> Run {
        var run = Run(RunFields(id: "run_1", createdAt: 100, threadID: "thread_1", assistantID: "asst_1", status: status,
                      expiresAt: status.isTerminal ? nil : 700, model: "m", instructions: ""))
        run.version = 5
        if status == .requiresAction { run.requiredAction = [ToolCall(id: "call_1", name: "f", arguments: "{}")] }
        return run
    }

    @Test(arguments: pairs)
    func transition(_ status: RunStatus, _ commandIndex: Int) throws {
        let command = Self.commands[commandIndex]
        let expected = Self.expected(status, command)
        let before = run(status)
        do {
            let after = try RunStateMachine.transition(before, command, now: 150)
            let expected = try #require(expected, "\(status) + \(RunStateMachine.name(of: command)) should be refused")
            #expect(after.status == expected)
            if after.status.isTerminal {
                #expect(after.expiresAt == nil)
                #expect(after.requiredAction == nil)
            } else {
                #expect(after.expiresAt == 700)
            }
            if status != .cancelling || command != .cancel { #expect(after.version == 6) }
            switch after.status {
            case .inProgress: #expect(after.startedAt == 150)
            case .completed: #expect(after.completedAt == 150 && after.usage == Self.usage)
            case .failed: #expect(after.failedAt == 150 && after.lastError?.code == .serverError)
            case .cancelled: #expect(after.cancelledAt == 150)
            case .incomplete: #expect(after.incompleteReason == "max_completion_tokens")
            case .requiresAction: #expect(after.requiredAction?.map(\.id) == ["call_1"] && after.usage == Self.usage)
            case .queued: #expect(after.requiredAction == nil)
            default: break
            }
        } catch {
            #expect(expected == nil, "\(status) + \(RunStateMachine.name(of: command)) should lead to \(String(describing: expected))")
            #expect((error as? TransitionError)?.status == status)
        }
    }

    @Test func refusalsUseOpenAIsWording() {
        #expect(TransitionError(status: .expired, command: "submitToolOutputs").message == "Runs in status \"expired\" do not accept tool outputs.")
    }

    @Test func restartingKeepsTheFirstStartTime() throws {
        var run = run(.queued)
        run.startedAt = 120
        let after = try RunStateMachine.transition(run, .start, now: 150)
        #expect(after.startedAt == 120)
    }
}
