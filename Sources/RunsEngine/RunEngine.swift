import Dispatch
import Logging
import Observability
#if canImport(Glibc)
import Glibc
#endif
import ModelBackends
import Retrieval
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

/// Whether the write that queued a run also gave it a slot on this node.
public final class Admission: Sendable {
    /// Set when this node reserved a slot for the run: the lease the write stores with it.
    public let lease: RunLease?
    /// Set once the slot was used or given back.
    let settled = Atomic<Bool>(false)
    /// The run as the write that queued it also started it, with its project.
    let started = Mutex<(run: Run, project: String)?>(nil)

    init(lease: RunLease?) {
        self.lease = lease
    }
}

/// Why an executing run is being stopped.
public enum StopReason: Sendable {
    case cancel
    case expire
    /// Another node took the run over (this node's lease ran out) or this node is stopping:
    /// the executor stops without writing, and whoever holds the lease carries on.
    case leaseLost
}

/// How an executor takes up a run.
enum Assignment: Sendable {
    /// A queued run: start its turn.
    case start
    /// A run the write that queued it also started (this node admitted it): its turn begins.
    case started(Run, project: String)
    /// An in-progress run whose turn was cut off (a crash, a lost lease): execute it again.
    case resume
    /// A cancelling run whose executor is gone: end it cancelled.
    case finishCancelling
}

/// The handle on one executing run: stopping it cancels its model call.
final class RunControl: Sendable {
    private let state = Mutex<(reason: StopReason?, task: Task<ModelOutcome, any Error>?)>((nil, nil))
    /// Runs claimed from the shared queue may be streamed on another node: all their events
    /// cross to the other nodes, not only status changes.
    let relayEverything: Bool
    /// Set once the executor holds the run's lease; the heartbeat checks only those.
    let leased = Atomic<Bool>(false)

    init(relayEverything: Bool) {
        self.relayEverything = relayEverything
    }

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

/// Runs the runs. The database holds the queue: a node executes a run while it holds the run's
/// lease, at most `maxConcurrentRuns` at once; runs beyond wait queued and are claimed as slots
/// free up, by this node or any other sharing the database. A sweeper expires overdue runs, and
/// a heartbeat keeps this node's leases while it works.
public final class RunEngine: Sendable {
    public let database: any Store
    public let hub: RunEventHub
    /// Executing runs' committed state, for polls.
    public let live: LiveRuns
    /// Keeps quiet streams alive.
    public let keepAlive: KeepAliveTicker
    let backend: any ModelBackend
    public let clock: any Clock
    public let ids: ObjectIDGenerator
    public let settings: RunEngineSettings
    public let log: Logger
    /// This process, as lease owner and bus sender.
    /// Search also ranks by meaning when set (`--embedding-model`).
    public let embeddings: Embeddings?
    public let code: CodeInterpreterSetup
    public let node: String
    let bus: any ClusterBus
    private let slots = Mutex<(running: Int, draining: Bool)>((0, false))
    private let controls = Mutex<[String: RunControl]>([:])
    /// Queued runs in the database, as of the last claim pass, plus those queued here since.
    private let waitingEstimate = Atomic<Int>(0)
    /// Timers' queues run on Dispatch's shared pool: each would otherwise take a thread of its own.
    let claimQueue = DispatchQueue(label: "runnel.claims", target: .global(qos: .utility))
    let claimRequested = Atomic<Bool>(false)
    let lastRenewal = Atomic<Int>(0)
    /// `nonisolated(unsafe)`: created once in init; Dispatch sources are safe to cancel anywhere.
    nonisolated(unsafe) private let timers: [any DispatchSourceTimer]

    public init(database: any Store, backend: any ModelBackend, clock: any Clock, ids: ObjectIDGenerator,
                settings: RunEngineSettings, log: Logger, node: String? = nil, bus: (any ClusterBus)? = nil,
                embeddings: Embeddings? = nil, code: CodeInterpreterSetup = CodeInterpreterSetup.off) {
        self.database = database
        self.embeddings = embeddings
        self.code = code
        self.backend = backend
        self.clock = clock
        self.ids = ids
        self.settings = settings
        self.log = log
        self.node = node ?? Self.makeNodeName()
        self.bus = bus ?? LocalBus()
        hub = RunEventHub()
        live = LiveRuns(enabled: database.dialect == .sqlite)
        keepAlive = KeepAliveTicker(interval: settings.streamKeepAliveSeconds, queue: claimQueue)
        let sweeper = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "runnel.sweeper", target: .global(qos: .utility)))
        let claimer = DispatchSource.makeTimerSource(queue: claimQueue)
        // On the claimer's queue: a run claimed is launched before a heartbeat can look at it.
        let heart = DispatchSource.makeTimerSource(queue: claimQueue)
        timers = [sweeper, claimer, heart]
        // Active from the start (an inactive source may not be released), idle until `start`.
        for timer in timers { timer.schedule(deadline: .distantFuture) }
        sweeper.setEventHandler { [weak self] in self?.sweepExpired() }
        claimer.setEventHandler { [weak self] in self?.claimPass() }
        heart.setEventHandler { [weak self] in self?.heartbeat() }
        for timer in timers { timer.activate() }
    }

    public static func makeNodeName() -> String {
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count - 1)
        let host = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(host.isEmpty ? "node" : host)-\(getpid())-\(UInt32.random(in: 0...UInt32.max) % 1_000_000)"
    }

    /// Takes up what the database holds for this node (with SQLite, everything a previous process
    /// left unfinished), then starts the sweeper, the claimer and the heartbeat.
    public func start() throws {
        if database.dialect == .sqlite {
            // One process per file: whoever held leases before this start is gone.
            try database.writeNow { db in try RunLeases.releaseEveryLease(db) }
        }
        lastRenewal.store(clock.milliseconds, ordering: .relaxed)
        bus.start { [weak self] message in self?.receive(message) }
        let claimInterval = database.dialect == .sqlite ? 1.0 : 0.5
        let heartbeatInterval = max(0.05, settings.leaseSeconds / 3)
        timers[0].schedule(deadline: .now() + settings.sweepIntervalSeconds, repeating: settings.sweepIntervalSeconds)
        timers[1].schedule(deadline: .now(), repeating: claimInterval)
        timers[2].schedule(deadline: .now() + heartbeatInterval, repeating: heartbeatInterval)
    }

    /// Stops claiming, then waits up to `timeout` seconds for executing runs to finish. Runs
    /// still executing are given up (their leases released, so another node, or the next start,
    /// executes their turn again); queued runs stay queued.
    public func stop(timeout: Double = 0) {
        for timer in timers { timer.cancel() }
        slots.withLock { $0.draining = true }
        let deadline = DispatchTime.now() + timeout
        while slots.withLock({ $0.running }) > 0, DispatchTime.now() < deadline {
            usleep(10_000)
        }
        let abandoned = controls.withLock { Array($0.values) }
        for control in abandoned { control.stop(.leaseLost) }
        if !abandoned.isEmpty || database.dialect == .postgresql {
            do {
                try database.writeNow { [node] db in try RunLeases(db, owner: node).releaseAll() }
            } catch {
                log.warning("could not release this node's run leases; other nodes take them when they run out: \(error)")
            }
        }
        bus.stop()
    }

    /// True once `stop` began: work that cannot finish now is left for recovery at the next start.
    var isStopping: Bool { slots.withLock { $0.draining } }

    /// Refuses a new run when as many are already waiting as allowed; the client retries later.
    public func checkQueueRoom() throws(APIError) {
        let waiting = waitingEstimate.load(ordering: .relaxed)
        guard waiting < settings.maxQueuedRuns else {
            throw APIError(.rateLimited, "Too many runs are waiting to execute (\(waiting)); retry shortly.", code: "rate_limit_exceeded")
        }
    }

    /// Before the write that queues a run (created, or given its tool outputs): when this node
    /// has a free slot, the write stores this node's lease with the run, so the node executes it
    /// itself and no other node's claim can take it first.
    public func admission() -> Admission {
        guard reserveSlots(1) == 1 else { return Admission(lease: nil) }
        return Admission(lease: RunLease(owner: node, expiresAt: leaseDeadline()))
    }

    /// The write failed: the slot its admission reserved is free again.
    public func abandon(_ admission: Admission) {
        if admission.lease != nil, !admission.settled.exchange(true, ordering: .acquiringAndReleasing) { releaseSlots(1) }
    }

    /// Inside the write that queues a run this node admitted: the run starts in that same
    /// transaction (one commit fewer per run) and its turn begins once it commits. Returns the
    /// events of the start, to publish after the queuing ones.
    public func startAdmitted(_ run: Run, project: String, admission: Admission, db: any SQLSession) throws -> [RunEvent] {
        guard admission.lease != nil else { return [] }
        let applied = try RunTransitions.apply(.start, to: run, project: project, db: db, now: clock.nowSeconds())
        admission.started.withLock { $0 = (applied.run, project) }
        return applied.events
    }

    /// The write that queued the run committed: it starts here if it was admitted, else it waits
    /// in the database for the first node with room.
    public func enqueue(_ runID: String, _ admission: Admission) {
        if admission.lease != nil, !admission.settled.exchange(true, ordering: .acquiringAndReleasing) {
            let started = admission.started.withLock { $0 }
            launch(runID, started.map { .started($0.run, project: $0.project) } ?? .start, relayEverything: false)
        } else {
            waitingEstimate.add(1, ordering: .relaxed)
            bus.announce(.work)
            requestClaim()
        }
    }

    /// Reserves up to `wanted` execution slots; how many it got.
    func reserveSlots(_ wanted: Int) -> Int {
        slots.withLock { state in
            guard !state.draining else { return 0 }
            let granted = max(0, min(wanted, settings.maxConcurrentRuns - state.running))
            state.running += granted
            return granted
        }
    }

    func releaseSlots(_ count: Int, requestingMore: Bool = true) {
        guard count > 0 else { return }
        slots.withLock { $0.running -= count }
        if requestingMore { requestClaim() }
    }

    func launch(_ runID: String, _ assignment: Assignment, relayEverything: Bool) {
        let control = RunControl(relayEverything: relayEverything)
        let fresh = controls.withLock { controls -> Bool in
            guard controls[runID] == nil else { return false }
            controls[runID] = control
            return true
        }
        guard fresh else { return releaseSlots(1) }
        live.hold(runID)
        Task { [self] in
            await RunExecutor(engine: self, runID: runID, control: control).execute(assignment)
            live.forget(runID)
            controls.withLock { $0[runID] = nil }
            releaseSlots(1, requestingMore: waitingEstimate.load(ordering: .relaxed) > 0)
        }
    }

    /// Stops an executing run's model call; false when the run is not executing here.
    @discardableResult
    public func stopExecution(_ runID: String, _ reason: StopReason) -> Bool {
        guard let control = controls.withLock({ $0[runID] }) else { return false }
        control.stop(reason)
        return true
    }

    /// Stops the run wherever it executes: here, or on the node that holds it.
    public func stopEverywhere(_ runID: String, _ reason: StopReason) {
        if !stopExecution(runID, reason), reason == .cancel { bus.announce(.cancel(runID: runID)) }
    }

    /// Hands events to this node's streams and polls, and to the other nodes': status changes
    /// always (polls anywhere wait for them), everything when a stream elsewhere may follow.
    public func publish(_ runID: String, _ events: [RunEvent], everywhere: Bool = false) {
        guard !events.isEmpty else { return }
        observe(events)
        live.update(events)
        hub.publish(runID, events)
        guard bus.reachesOtherNodes else { return }
        let relayed = everywhere ? events : events.filter { $0.runStatus != nil }
        if !relayed.isEmpty { bus.announce(.events(runID: runID, relayed)) }
    }

    var currentControls: [String: RunControl] { controls.withLock { $0 } }

    /// Runs executing on this node now; on PostgreSQL each holds a lease.
    public var executingCount: Int { controls.withLock { $0.count } }

    /// Runs waiting for a slot, as of the last claim pass plus those queued here since.
    public var queuedEstimate: Int { max(0, waitingEstimate.load(ordering: .relaxed)) }

    /// The lease deadline for a lease taken or renewed now, in milliseconds.
    func leaseDeadline() -> Int { clock.milliseconds + Int(settings.leaseSeconds * 1000) }

    func noteWaiting(_ count: Int) { waitingEstimate.store(count, ordering: .relaxed) }

    private func receive(_ message: ClusterMessage) {
        switch message {
        case .events(let runID, let events): hub.publish(runID, events)
        case .cancel(let runID): stopExecution(runID, .cancel)
        case .work: requestClaim()
        }
    }
}
