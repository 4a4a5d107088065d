import CMalloc
import Dispatch
import HTTPServer
import Logging
import RunsEngine
import Synchronization

/// Gives memory back to the system after a peak. glibc's malloc keeps what freed chunks it holds
/// in its arenas (15,000 streams ending leave hundreds of MB free but resident); every few seconds
/// this asks how much it holds free and, past a threshold, has it return the free pages.
final class MemoryTrimmer: Sendable {
    /// Free bytes held in the arenas above which the free pages go back. Low, so that what
    /// start-up leaves free (migrations, schema reads, statements prepared on every connection:
    /// about a MiB over several arenas) goes back too, at the first tick.
    static let thresholdBytes = 1 << 20
    /// How much what is free must have changed since the last trim: the last frees of a peak
    /// come in small amounts, and a trim that missed them left a MiB resident.
    static let changeBytes = 64 << 10

    /// `nonisolated(unsafe)`: set once in init; Dispatch sources may be cancelled from any thread.
    nonisolated(unsafe) private let timer: any DispatchSourceTimer
    /// What was free at the last trim.
    private let settled = Atomic<Int>(0)
    private let log: Logger

    /// Called first thing, before threads allocate: one arena per core. Each of glibc's default
    /// 16 (on 2 cores) kept pages that a few long-lived chunks pinned after a peak; with one per
    /// core, 15,000 streams left 37-39 MiB instead of 40-41 (measured with MALLOC_ARENA_MAX).
    static func limitArenas() {
        runnel_malloc_limit_arenas(Int32(max(2, System.coreCount)))
    }

    init(intervalSeconds: Double = 5, log: Logger) {
        self.log = log
        timer = DispatchSource.makeTimerSource(queue: .global(qos: .utility))
        timer.schedule(deadline: .now() + 1, repeating: intervalSeconds, leeway: .seconds(1))
        timer.setEventHandler { [weak self] in self?.trimIfWorthIt() }
        timer.activate()
    }

    deinit {
        timer.cancel()
    }

    /// Trims when much is free and that changed since the last trim (by `changeBytes`):
    /// trimming walks every arena, so it is not repeated for the same free memory; but what was
    /// freed since (the last objects of a peak) can let whole pages go that could not before.
    private func trimIfWorthIt() {
        let free = runnel_malloc_free_bytes()
        guard free > Self.thresholdBytes, abs(free - settled.load(ordering: .relaxed)) > Self.changeBytes else { return }
        _ = runnel_malloc_trim()
        settled.store(free, ordering: .relaxed)
        log.debug("memory: \(runnel_malloc_used_bytes() >> 20) MiB in use; \(free >> 20) MiB free, whose whole pages went back to the system")
    }
}
