import Dispatch
import RunsDomain
import RunsWire
import Synchronization

/// Fans a run's events out to its live streams, and wakes polls waiting for a status change.
/// Handlers are called outside the lock, in publishing order.
public final class RunEventHub: Sendable {
    /// Gets the events of one `publish` together, so a stream can write them in one piece.
    public typealias Subscriber = @Sendable ([RunEvent]) -> Void

    private struct Waiter {
        var id: Int
        var callback: @Sendable () -> Void
    }

    private struct State {
        /// In subscription order (tokens only grow), so publishing needs no sort.
        var subscribers: [String: [(token: Int, subscriber: Subscriber)]] = [:]
        var generations: [String: Int] = [:]
        var waiters: [String: [Waiter]] = [:]
        /// Finished runs with when they finished (uptime nanoseconds), oldest first, so their
        /// counters can be dropped after a while.
        var finished: [(runID: String, at: UInt64)] = []
        var nextID = 0
    }

    /// A finished run's counter: above any generation a waiter can hold, so late waiters wake at once.
    private static let finishedGeneration = Int.max
    private static let finishedKept = 10_000
    /// A waiter can only miss a finish in the moment between its read and its wait; the counters
    /// go after this, so a burst of finished runs does not pin scattered memory for good.
    static let finishedKeptNanoseconds: UInt64 = 5_000_000_000

    private let state = Mutex(State())

    public init() {}

    public func subscribe(_ runID: String, _ subscriber: @escaping Subscriber) -> Int {
        state.withLock { state in
            state.nextID += 1
            state.subscribers[runID, default: []].append((state.nextID, subscriber))
            return state.nextID
        }
    }

    public func unsubscribe(_ runID: String, _ token: Int) {
        state.withLock { state in
            state.subscribers[runID]?.removeAll { $0.token == token }
            if state.subscribers[runID]?.isEmpty == true { state.subscribers[runID] = nil }
        }
    }

    public func publish(_ runID: String, _ events: [RunEvent]) {
        guard !events.isEmpty else { return }
        let statuses = events.compactMap(\.runStatus)
        let changesStatus = !statuses.isEmpty
        let finishes = statuses.contains { $0.isTerminal }
        let (subscribers, waiters) = state.withLock { state -> ([Subscriber], [Waiter]) in
            let subscribers = state.subscribers[runID]?.map(\.subscriber) ?? []
            guard changesStatus else { return (subscribers, []) }
            if finishes {
                state.generations[runID] = Self.finishedGeneration
                state.finished.append((runID, DispatchTime.now().uptimeNanoseconds))
                if state.finished.count > Self.finishedKept { Self.dropFinished(state.finished.count - Self.finishedKept, from: &state) }
            } else if state.generations[runID] != Self.finishedGeneration {
                state.generations[runID, default: 0] += 1
            }
            let waiters = state.waiters.removeValue(forKey: runID) ?? []
            return (subscribers, waiters)
        }
        for subscriber in subscribers { subscriber(events) }
        for waiter in waiters { waiter.callback() }
    }

    /// Drops the counters of runs that finished more than `finishedKeptNanoseconds` ago.
    public func dropOldFinished() {
        let now = DispatchTime.now().uptimeNanoseconds
        state.withLock { state in
            let old = state.finished.prefix { now &- $0.at > Self.finishedKeptNanoseconds }.count
            Self.dropFinished(old, from: &state)
        }
    }

    private static func dropFinished(_ count: Int, from state: inout State) {
        guard count > 0 else { return }
        for old in state.finished.prefix(count) { state.generations[old.runID] = nil }
        state.finished.removeFirst(count)
        if state.finished.isEmpty { state.finished = [] }
        if state.generations.isEmpty { state.generations = [:] }
    }

    /// How many status changes of the run this process has seen; compare with `waitForChange`.
    public func generation(_ runID: String) -> Int {
        state.withLock { $0.generations[runID] ?? 0 }
    }

    /// Calls `callback` once: at the next status change after `generation`, or after `timeout`.
    public func waitForChange(_ runID: String, after generation: Int, timeout: Double, on queue: DispatchQueue,
                              _ callback: @escaping @Sendable () -> Void) {
        let fired = Atomic<Bool>(false)
        let once: @Sendable () -> Void = {
            if !fired.exchange(true, ordering: .acquiringAndReleasing) { callback() }
        }
        let id = state.withLock { state -> Int? in
            let current = state.generations[runID] ?? 0
            if current > generation || current == Self.finishedGeneration { return nil }
            state.nextID += 1
            state.waiters[runID, default: []].append(Waiter(id: state.nextID, callback: once))
            return state.nextID
        }
        guard let id else {
            queue.async(execute: once)
            return
        }
        queue.asyncAfter(deadline: .now() + timeout) { [self] in
            state.withLock { state in state.waiters[runID]?.removeAll { $0.id == id } }
            once()
        }
    }
}
