import Dispatch
import Synchronization

/// A stream that says something (an SSE comment) when it has been quiet too long.
public protocol QuietStream: AnyObject, Sendable {
    /// Called every third of the interval; sends a keep-alive if nothing went out for about an interval.
    func keepAliveIfQuiet(interval: Double)
}

/// One timer for the keep-alives of every open stream, instead of a timer per stream: 15,000
/// streams held 15,000 Dispatch timers, and their firings spread over worker threads.
public final class KeepAliveTicker: Sendable {
    private let streams = Mutex<[ObjectIdentifier: any QuietStream]>([:])
    private let interval: Double
    /// `nonisolated(unsafe)`: set once in init; Dispatch sources may be cancelled from any thread.
    nonisolated(unsafe) private let timer: any DispatchSourceTimer

    init(interval: Double, queue: DispatchQueue) {
        self.interval = interval
        timer = DispatchSource.makeTimerSource(queue: queue)
        let tick = max(0.01, interval / 3)
        timer.schedule(deadline: .now() + tick, repeating: tick, leeway: .milliseconds(Int(tick * 100)))
        timer.setEventHandler { [weak self] in self?.tick() }
        timer.activate()
    }

    deinit {
        timer.cancel()
    }

    public func add(_ stream: any QuietStream) {
        streams.withLock { $0[ObjectIdentifier(stream)] = stream }
    }

    public func remove(_ stream: any QuietStream) {
        streams.withLock { streams in
            streams[ObjectIdentifier(stream)] = nil
            if streams.isEmpty { streams = [:] }
        }
    }

    /// How many streams it keeps alive now.
    public var streamCount: Int { streams.withLock { $0.count } }

    private func tick() {
        let open = streams.withLock { Array($0.values) }
        for stream in open { stream.keepAliveIfQuiet(interval: interval) }
    }
}
