import DequeModule
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import ModelBackends
import RunsDomain
import RunsWire
import RunsStorage
import Synchronization

public struct RunEngineSettings: Sendable {
    public var expirySeconds: Int
    public var maxConcurrentRuns: Int
    /// How long a poll-helper GET of an unfinished run may wait for the run to change.
    public var pollHoldSeconds: Double
    public var pollAfterMilliseconds: Int
    public var sweepIntervalSeconds: Double
    /// A stream silent this long gets a `: keep-alive` comment, so proxies and clients keep it.
    public var streamKeepAliveSeconds: Double
    /// Runs waiting for an execution slot; past it, creating a run answers 429.
    public var maxQueuedRuns: Int
    public var endingRetry: RetryPolicy
    /// Times a run cut off mid-turn re-executes that turn before it fails.
    public var runRetries: Int
    /// How long a node's claim on a run lasts without a heartbeat (shared databases only).
    public var leaseSeconds: Double

    public init(expirySeconds: Int = 600, maxConcurrentRuns: Int = 64, pollHoldSeconds: Double = 2,
                pollAfterMilliseconds: Int = 500, sweepIntervalSeconds: Double = 1, streamKeepAliveSeconds: Double = 15,
                maxQueuedRuns: Int = 10_000, runRetries: Int = 2, leaseSeconds: Double = 10,
                endingRetry: RetryPolicy = RetryPolicy()) {
        self.expirySeconds = expirySeconds
        self.maxConcurrentRuns = maxConcurrentRuns
        self.pollHoldSeconds = pollHoldSeconds
        self.pollAfterMilliseconds = pollAfterMilliseconds
        self.sweepIntervalSeconds = sweepIntervalSeconds
        self.streamKeepAliveSeconds = streamKeepAliveSeconds
        self.maxQueuedRuns = maxQueuedRuns
        self.endingRetry = endingRetry
        self.runRetries = runRetries
        self.leaseSeconds = leaseSeconds
    }
}

/// How a write that failed (a full disk, an I/O error) is retried: exponential backoff up to a
/// ceiling, and a time after which the engine stops insisting on the original write.
public struct RetryPolicy: Sendable {
    public var initialDelaySeconds: Double
    public var maxDelaySeconds: Double
    public var giveUpSeconds: Double

    public init(initialDelaySeconds: Double = 0.05, maxDelaySeconds: Double = 2, giveUpSeconds: Double = 5) {
        self.initialDelaySeconds = initialDelaySeconds
        self.maxDelaySeconds = maxDelaySeconds
        self.giveUpSeconds = giveUpSeconds
    }

    /// The wait before attempt `attempt + 1` (the first retry follows attempt 1).
    public func delay(afterAttempt attempt: Int) -> Double {
        min(maxDelaySeconds, initialDelaySeconds * Double(1 << min(max(attempt - 1, 0), 20)))
    }
}

/// Why an executing run is being stopped.
public enum StopReason: Sendable {
    case cancel
    case expire
}

/// The handle on one executing run: stopping it cancels its model call.
final class RunControl: Sendable {
    private let state = Mutex<(reason: StopReason?, task: Task<ModelOutcome, any Error>?)>((nil, nil))

    var reason: StopReason? { state.withLock { $0.reason } }

    func stop(_ reason: StopReason) {
        let task = state.withLock { state -> Task<ModelOutcome, any Error>? in
            if state.reason == nil { state.reason = reason }
            return state.task
        }
        task?.cancel()
    }

    func attach(_ task: Task<ModelOutcome, any Error>) {
        let stopped = state.withLock { state -> Bool in
            state.task = task
            return state.reason != nil
        }
        if stopped { task.cancel() }
    }
}

/// Runs the runs: a bounded number execute at once, the rest wait queued; a sweeper expires
/// overdue runs; recovery settles what a crash left behind.
public final class RunEngine: Sendable {
    public let database: any Store
    public let hub: RunEventHub
    let backend: any ModelBackend
    public let clock: any Clock
    public let ids: ObjectIDGenerator
    public let settings: RunEngineSettings
    public let log: Logger
    /// A deque, so taking the next run is O(1) however many wait.
    private let queue = Mutex<(waiting: Deque<String>, running: Int, draining: Bool)>(([], 0, false))
    private let controls = Mutex<[String: RunControl]>([:])
    /// `nonisolated(unsafe)`: created once in init; Dispatch sources are safe to cancel anywhere.
    nonisolated(unsafe) private let sweeper: any DispatchSourceTimer

    public init(database: any Store, backend: any ModelBackend, clock: any Clock, ids: ObjectIDGenerator,
                settings: RunEngineSettings, log: Logger) {
        self.database = database
        self.backend = backend
        self.clock = clock
        self.ids = ids
        self.settings = settings
        self.log = log
        hub = RunEventHub()
        sweeper = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "runnel.sweeper"))
        // Active from the start (an inactive source may not be released), idle until `start`.
        sweeper.schedule(deadline: .distantFuture)
        sweeper.setEventHandler { [weak self] in self?.sweepExpired() }
        sweeper.activate()
    }

    /// Settles runs a previous process left unfinished, then starts the expiry sweeper.
    public func start() throws {
        try recover()
        sweeper.schedule(deadline: .now() + settings.sweepIntervalSeconds, repeating: settings.sweepIntervalSeconds)
    }

    /// Stops the sweeper and starting runs, then waits up to `timeout` seconds for executing runs
    /// to finish. Runs still queued stay queued and execute after the next start.
    public func stop(timeout: Double = 0) {
        sweeper.cancel()
        queue.withLock { $0.draining = true }
        let deadline = DispatchTime.now() + timeout
        while queue.withLock({ $0.running }) > 0, DispatchTime.now() < deadline {
            usleep(10_000)
        }
    }

    /// True once `stop` began: work that cannot finish now is left for recovery at the next start.
    var isStopping: Bool { queue.withLock { $0.draining } }

    /// Refuses a new run when as many are already waiting as allowed; the client retries later.
    public func checkQueueRoom() throws(APIError) {
        let waiting = queue.withLock { $0.waiting.count }
        guard waiting < settings.maxQueuedRuns else {
            throw APIError(.rateLimited, "Too many runs are waiting to execute (\(waiting)); retry shortly.", code: "rate_limit_exceeded")
        }
    }

    /// Starts the run now if a slot is free, else when one frees up.
    public func enqueue(_ runID: String) {
        let start = queue.withLock { state -> Bool in
            guard state.running < settings.maxConcurrentRuns, !state.draining else {
                state.waiting.append(runID)
                return false
            }
            state.running += 1
            return true
        }
        if start { launch(runID) }
    }

    private func launch(_ runID: String) {
        let control = RunControl()
        controls.withLock { $0[runID] = control }
        Task { [self] in
            await RunExecutor(engine: self, runID: runID, control: control).execute()
            controls.withLock { $0[runID] = nil }
            let next = queue.withLock { state -> String? in
                if state.waiting.isEmpty || state.draining {
                    state.running -= 1
                    return nil
                }
                return state.waiting.popFirst()
            }
            if let next { launch(next) }
        }
    }

    /// Stops an executing run's model call; false when the run is not executing here.
    @discardableResult
    public func stopExecution(_ runID: String, _ reason: StopReason) -> Bool {
        guard let control = controls.withLock({ $0[runID] }) else { return false }
        control.stop(reason)
        return true
    }

    public func publish(_ runID: String, _ events: [RunEvent]) {
        hub.publish(runID, events)
    }
}
