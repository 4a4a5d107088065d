import CoreMetrics
import Dispatch
import Synchronization

/// What Runnel records, through swift-metrics, so whichever backend the process bootstraps
/// (Prometheus in `runnel serve`, nothing in tests) receives it. A metric object is made the
/// first time it is used, so the backend must be bootstrapped before anything is recorded.
public enum Telemetry {
    /// Monotonic nanoseconds, for durations.
    public static var now: UInt64 { DispatchTime.now().uptimeNanoseconds }

    static func elapsed(since start: UInt64) -> Int64 { Int64(clamping: now &- start) }

    // MARK: HTTP

    private struct RequestKey: Hashable {
        var route: String
        var method: String
        var status: Int
    }

    /// Made once per label set: requests are the hottest path, and the registry's lookup takes a lock.
    private static let requestSeries = Mutex<[RequestKey: (count: Counter, duration: Timer)]>([:])

    /// Methods past these are one `other` label: a client chooses the method, not the label set.
    private static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    public static func request(route: String, method: String, status: Int, nanoseconds: Int64) {
        let key = RequestKey(route: route, method: knownMethods.contains(method) ? method : "other", status: status)
        let series = requestSeries.withLock { cache in
            if let found = cache[key] { return found }
            let made = (Counter(label: MetricCatalogue.httpRequests,
                                dimensions: [("route", key.route), ("method", key.method), ("status", String(key.status))]),
                        Timer(label: MetricCatalogue.httpRequestDuration, dimensions: [("route", key.route), ("method", key.method)]))
            cache[key] = made
            return made
        }
        series.count.increment()
        series.duration.recordNanoseconds(nanoseconds)
    }

    // MARK: Runs

    public static func runCreated() {
        Counter(label: MetricCatalogue.runsCreated).increment()
    }

    public static func runFinished(status: String, seconds: Double) {
        Counter(label: MetricCatalogue.runsFinished, dimensions: [("status", status)]).increment()
        Timer(label: MetricCatalogue.runDuration).recordNanoseconds(Int64(max(0, min(seconds, 1e9)) * 1e9))
    }

    public static func firstToken(since start: UInt64) {
        Timer(label: MetricCatalogue.timeToFirstToken).recordNanoseconds(elapsed(since: start))
    }

    public static func modelCall(outcome: String, since start: UInt64, promptTokens: Int, completionTokens: Int) {
        Counter(label: MetricCatalogue.modelCalls, dimensions: [("outcome", outcome)]).increment()
        Timer(label: MetricCatalogue.modelCallDuration, dimensions: [("outcome", outcome)]).recordNanoseconds(elapsed(since: start))
        if promptTokens > 0 { Counter(label: MetricCatalogue.modelTokens, dimensions: [("kind", "prompt")]).increment(by: promptTokens) }
        if completionTokens > 0 {
            Counter(label: MetricCatalogue.modelTokens, dimensions: [("kind", "completion")]).increment(by: completionTokens)
        }
    }

    // MARK: Database

    public enum DatabaseOperation: Sendable { case read, write }

    /// One timer per operation and database, made once: every transaction records here.
    public struct DatabaseTimers: Sendable {
        let read: Timer
        let write: Timer

        public init(database: String) {
            read = Timer(label: MetricCatalogue.databaseDuration, dimensions: [("operation", "read"), ("database", database)])
            write = Timer(label: MetricCatalogue.databaseDuration, dimensions: [("operation", "write"), ("database", database)])
        }

        public func record(_ operation: DatabaseOperation, since start: UInt64) {
            (operation == .read ? read : write).recordNanoseconds(Telemetry.elapsed(since: start))
        }
    }

    // MARK: Read at scrape time

    /// Levels that are counted when Prometheus asks rather than updated on every change.
    public struct Levels: Sendable {
        public var connections: Int
        public var streams: Int
        public var executing: Int
        public var queued: Int
        /// Nil without PostgreSQL (SQLite needs no leases).
        public var leases: Int?

        public init(connections: Int, streams: Int, executing: Int, queued: Int, leases: Int?) {
            self.connections = connections
            self.streams = streams
            self.executing = executing
            self.queued = queued
            self.leases = leases
        }
    }

    public static func record(_ levels: Levels) {
        Gauge(label: MetricCatalogue.connectionsOpen).record(levels.connections)
        Gauge(label: MetricCatalogue.streamsOpen).record(levels.streams)
        Gauge(label: MetricCatalogue.runsExecuting).record(levels.executing)
        Gauge(label: MetricCatalogue.runsQueued).record(levels.queued)
        if let leases = levels.leases { Gauge(label: MetricCatalogue.leasesHeld).record(leases) }
    }
}

/// Records the time to a run's first model delta, once however many deltas follow.
public final class FirstTokenTimer: Sendable {
    private let start = Telemetry.now
    private let seen = Atomic<Bool>(false)

    public init() {}

    public func deltaArrived() {
        if !seen.exchange(true, ordering: .relaxed) { Telemetry.firstToken(since: start) }
    }
}
