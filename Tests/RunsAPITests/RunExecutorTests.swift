import Foundation
import Logging
import Testing
@testable import ModelBackends
@testable import RunsAPI
@testable import RunsEngine
import RunsWire
import StoreTestSupport
@testable import RunsDomain
@testable import RunsStorage

/// The engine over a temporary database, with a clock the test moves.
final class EngineHarness: @unchecked Sendable {
    let scratch: TemporaryDatabase
    let clock = ManualClock()
    let ids: ObjectIDGenerator
    let engine: RunEngine
    let hub: RunEventHub

    init(delayMilliseconds: Int = 0, endingRetry: RetryPolicy = RetryPolicy(), kind: StoreKind = .sqlite) throws {
        scratch = try TemporaryDatabase(kind)
        ids = ObjectIDGenerator(clock: clock)
        engine = RunEngine(database: scratch.database, backend: EchoBackend(delayPerTokenMilliseconds: delayMilliseconds), clock: clock,
                           ids: ids, settings: RunEngineSettings(expirySeconds: 600, endingRetry: endingRetry),
                           log: .quiet)
        hub = engine.hub
    }

    var database: any Store { scratch.database }

    deinit {
        engine.stop()
    }

    /// An assistant, a thread with one user message, and a queued run on it.
    func queuedRun(_ text: String, tools: [JSONValue] = [], configure: (inout Run) -> Void = { _ in }) throws -> Run {
        let now = clock.nowSeconds()
        let assistant = Assistant(id: ids.id(.assistant), createdAt: now, model: "m", tools: tools)
        let thread = ChatThread(id: ids.id(.thread), createdAt: now)
        let message = Message(id: ids.id(.message), createdAt: now, threadID: thread.id, role: .user, content: [MessageInput.textPart(text)])
        var run = Run(RunFields(id: ids.id(.run), createdAt: now, threadID: thread.id, assistantID: assistant.id, expiresAt: now + 600,
                      model: "m", instructions: "", tools: tools))
        configure(&run)
        try database.writeNow { db in
            try AssistantRepository(db, project: "p").insert(assistant)
            try ThreadRepository(db, project: "p").insert(thread)
            try MessageRepository(db, project: "p").insert(message)
            try RunRepository(db, project: "p").insert(run, project: "p")
        }
        return run
    }

    /// Lets the database grow by a few pages only: writes that need more fail with SQLITE_FULL, as
    /// on a full disk. `false` lifts the cap.
    func capDatabase(_ capped: Bool) throws {
        try database.writeNow { db in
            // A few pages of room: starting the run and opening its message may split a page
            // (where depends on the random ids), while the long answer needs dozens.
            let pages = capped ? (try db.queryOne("PRAGMA page_count") { try $0.int("page_count") } ?? 0) + 8 : 1 << 30
            _ = try db.queryOne("PRAGMA max_page_count = \(pages)") { try $0.int("max_page_count") }
        }
    }

    /// What creating a run does once it is stored: a slot here, or a wait in the database.
    func enqueue(_ run: Run) throws {
        let admission = engine.admission()
        if let lease = admission.lease {
            try database.writeNow { db in try RunLeases(db, owner: lease.owner).take(run.id, until: lease.expiresAt) }
        }
        engine.enqueue(run.id, admission)
    }

    /// What `POST …/cancel` does: the run goes to cancelling and its model call is stopped.
    @discardableResult
    func cancel(_ run: Run) throws -> Run {
        let now = clock.nowSeconds()
        let applied = try database.writeNow { db in
            try db.transaction {
                try RunTransitions.apply(.cancel, to: try RunRepository(db, project: "p").find(run.id) ?? run, project: "p", db: db, now: now)
            }
        }
        engine.stopExecution(run.id, .cancel)
        return applied.run
    }

    func run(_ id: String) throws -> Run {
        try database.readNow { db in try RunRepository(db, project: "p").find(id)! }
    }

    func messages(_ run: Run) throws -> [Message] {
        try database.readNow { db in try MessageRepository(db, project: "p").all(threadID: run.threadID) }
    }

    func steps(_ run: Run) throws -> [RunStep] {
        try database.readNow { db in try RunStepRepository(db).all(runID: run.id) }
    }

    /// Waits (in real time, bounded) until the run has written a few words of its answer.
    func waitForAnswer(_ run: Run, seconds: Double = 10) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let answer = try messages(run).last, answer.role == .assistant {
                try await Task.sleep(nanoseconds: 100_000_000)
                return
            }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
    }

    /// Waits (in real time, bounded) for the run to reach a status.
    /// Suspends rather than blocks: the engine's tasks need the same cooperative threads.
    func wait(_ id: String, for statuses: Set<RunStatus>, seconds: Double = 5) async throws -> Run {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            let current = try run(id)
            if statuses.contains(current.status) || Date() > deadline { return current }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
    }
}

struct RunExecutorTests {
    static let function: JSONValue = ["type": "function", "function": ["name": "lookup"]]

    @Test func completesWithItsMessageStepAndUsage() async throws {
        let harness = try EngineHarness()
        let run = try harness.queuedRun("three little words")
        try harness.enqueue(run)
        let done = try await harness.wait(run.id, for: [.completed])
        #expect(done.status == .completed && done.usage == Usage(promptTokens: 3, completionTokens: 3))
        #expect(done.startedAt == harness.clock.nowSeconds() && done.expiresAt == nil)
        let answer = try #require(try harness.messages(run).last)
        #expect(answer.role == .assistant && answer.status == .completed && answer.runID == run.id)
        #expect(answer.content == [MessageInput.textPart("three little words")])
        let steps = try harness.steps(run)
        #expect(steps.map(\.type) == [.messageCreation] && steps[0].status == .completed && steps[0].messageID == answer.id)
    }

    @Test func toolCallsWaitThenExpireWhenTheClockPassesExpiresAt() async throws {
        let harness = try EngineHarness()
        let run = try harness.queuedRun("/call lookup {\"q\": 1}", tools: [Self.function])
        try harness.enqueue(run)
        let waiting = try await harness.wait(run.id, for: [.requiresAction])
        #expect(waiting.requiredAction?.map(\.name) == ["lookup"])
        harness.engine.sweepExpired()
        try await Task.sleep(nanoseconds: 100_000_000)
        #expect(try harness.run(run.id).status == .requiresAction, "not yet due")
        harness.clock.advance(milliseconds: 601_000)
        harness.engine.sweepExpired()
        let expired = try await harness.wait(run.id, for: [.expired])
        #expect(expired.status == .expired && expired.expiresAt == nil && expired.requiredAction == nil)
        #expect(try harness.steps(run).map(\.status) == [.expired])
    }

    @Test func expiryStopsARunThatIsStillGenerating() async throws {
        let (harness, run) = try await Self.generatingRun()
        harness.clock.advance(milliseconds: 601_000)
        harness.engine.sweepExpired()
        let expired = try await harness.wait(run.id, for: [.expired])
        #expect(expired.status == .expired)
        let message = try #require(try harness.messages(run).last)
        #expect(message.status == .incomplete && message.incompleteDetails["reason"] == "run_expired")
    }

    @Test func cancelInProgressEndsCancelledWithAnIncompleteMessage() async throws {
        let harness = try EngineHarness(delayMilliseconds: 20)
        let run = try harness.queuedRun(Array(repeating: "word", count: 200).joined(separator: " "))
        let events = EventLog()
        _ = harness.hub.subscribe(run.id) { for event in $0 { events.add(event.name) } }
        try harness.enqueue(run)
        try await harness.waitForAnswer(run)
        #expect(try harness.cancel(run).status == .cancelling)
        let cancelled = try await harness.wait(run.id, for: [.cancelled])
        #expect(cancelled.status == .cancelled && cancelled.cancelledAt != nil)
        let message = try #require(try harness.messages(run).last)
        #expect(message.status == .incomplete && message.incompleteDetails["reason"] == "run_cancelled")
        let text = message.content.first?["text"]?["value"]?.stringValue ?? ""
        #expect(!text.isEmpty && text.count < 200 * 5)
        #expect(try harness.steps(run).map(\.status) == [.cancelled])
        try await Task.sleep(nanoseconds: 50_000_000)
        #expect(events.names.suffix(3) == ["thread.message.incomplete", "thread.run.step.cancelled", "thread.run.cancelled"])
    }

    @Test func completionBudgetIsSharedAcrossTheRun() async throws {
        let harness = try EngineHarness()
        let run = try harness.queuedRun(Array(repeating: "w", count: 300).joined(separator: " ")) { $0.maxCompletionTokens = 256 }
        try harness.enqueue(run)
        let done = try await harness.wait(run.id, for: [.incomplete])
        #expect(done.incompleteReason == "max_completion_tokens" && done.usage?.completionTokens == 256)
        #expect(try harness.messages(run).last?.incompleteDetails["reason"] == "max_tokens")
    }

    @Test func promptBudgetDropsOldMessagesOrEndsIncomplete() async throws {
        let harness = try EngineHarness()
        let run = try harness.queuedRun(Array(repeating: "w", count: 300).joined(separator: " ")) { $0.maxPromptTokens = 256 }
        try harness.enqueue(run)
        let done = try await harness.wait(run.id, for: [.incomplete])
        #expect(done.incompleteReason == "max_prompt_tokens")
    }

    /// A run of 200 words at 20 ms a word, some way into its answer.
    static func generatingRun() async throws -> (EngineHarness, Run) {
        let harness = try EngineHarness(delayMilliseconds: 20)
        let run = try harness.queuedRun(Array(repeating: "word", count: 200).joined(separator: " "))
        try harness.enqueue(run)
        try await harness.waitForAnswer(run)
        return (harness, run)
    }

    static let longAnswer = (0..<3000).map { "word\($0)-" + String(repeating: "x", count: 30) }.joined(separator: " ")

    /// A run whose answer cannot be stored: the database may not grow while it executes.
    func runOnAFullDatabase() async throws -> (EngineHarness, Run) {
        let harness = try EngineHarness(endingRetry: RetryPolicy(initialDelaySeconds: 0.01, maxDelaySeconds: 0.05, giveUpSeconds: 5))
        let run = try harness.queuedRun(Self.longAnswer)
        try harness.capDatabase(true)
        try harness.enqueue(run)
        // Under a loaded test run the start itself may wait for a thread; then its ending fails
        // and is retried for a while.
        let deadline = Date().addingTimeInterval(10)
        while try harness.run(run.id).status == .queued, Date() < deadline { try await Task.sleep(nanoseconds: 10_000_000) }
        try await Task.sleep(nanoseconds: 300_000_000)
        let status = try harness.run(run.id).status
        #expect(status == .inProgress, "still retrying its ending")
        return (harness, run)
    }

    @Test func anEndingThatCannotBeStoredIsRetriedAndStoredWhenRoomReturns() async throws {
        let (harness, run) = try await runOnAFullDatabase()
        try harness.capDatabase(false)
        let done = try await harness.wait(run.id, for: [.completed])
        #expect(done.status == .completed)
        #expect(try harness.messages(run).last?.content == [MessageInput.textPart(Self.longAnswer)])
    }

    @Test func anEndingThatStillCannotBeStoredEndsFailedAsSoonAsAWriteSucceeds() async throws {
        let (harness, run) = try await runOnAFullDatabase()
        // The engine's clock moves on while the ending keeps failing; the smaller `failed` ending
        // fits where the answer did not.
        for _ in 0..<100 where try harness.run(run.id).status == .inProgress {
            harness.clock.advance(milliseconds: 1_000)
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        let failed = try harness.run(run.id)
        #expect(failed.status == .failed && failed.lastError?.code == .serverError)
        #expect(failed.lastError?.message.contains("disk is full") == true)
        #expect(try harness.messages(run).last?.status == .incomplete)
        try harness.capDatabase(false)
    }

    @Test func aRunCancelledMidStreamReportsTheTokensItUsed() async throws {
        let (harness, run) = try await Self.generatingRun()
        try harness.cancel(run)
        let cancelled = try await harness.wait(run.id, for: [.cancelled])
        let streamed = try harness.messages(run).last?.content.first?["text"]?["value"]?.stringValue ?? ""
        #expect(cancelled.usage?.promptTokens == 200)
        #expect(cancelled.usage?.completionTokens == TokenEstimate.count(streamed) && !streamed.isEmpty)
        #expect(try harness.steps(run).first?.usage == cancelled.usage)
    }

    /// What a start finds unfinished is claimed: queued runs execute, and a run cut off mid-turn
    /// executes that turn again instead of failing.
    @Test(arguments: StoreKind.available)
    func startClaimsQueuedAndResumesInterruptedRuns(kind: StoreKind) async throws {
        let harness = try EngineHarness(kind: kind)
        let queued = try harness.queuedRun("still queued")
        let interrupted = try harness.queuedRun("was running") { $0.status = .inProgress }
        try harness.engine.start()
        #expect(try await harness.wait(queued.id, for: [.completed]).status == .completed)
        #expect(try await harness.wait(interrupted.id, for: [.completed]).status == .completed)
        #expect(try harness.messages(interrupted).last?.content.first?["text"]?["value"]?.stringValue == "was running")
    }
}

final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []

    func add(_ name: String) { lock.withLock { stored.append(name) } }
    var names: [String] { lock.withLock { stored } }
}
