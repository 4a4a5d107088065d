import CMalloc
import Dispatch

/// Gives memory back to the system after a peak. glibc's malloc keeps what freed chunks it holds
/// in its arenas (15,000 streams ending leave hundreds of MB free but resident); every few seconds
/// this asks how much it holds free and, past a threshold, has it return the free pages.
final class MemoryTrimmer {
    /// Free bytes held in the arenas above which the free pages go back.
    static let thresholdBytes = 8 << 20

    private let timer: any DispatchSourceTimer

    init(intervalSeconds: Double = 5) {
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "runnel.memory"))
        timer.setEventHandler { Self.trimIfWorthIt() }
        timer.schedule(deadline: .now() + intervalSeconds, repeating: intervalSeconds, leeway: .seconds(1))
        timer.activate()
    }

    func stop() {
        timer.cancel()
    }

    private static func trimIfWorthIt() {
        guard runnel_malloc_free_bytes() > thresholdBytes else { return }
        _ = runnel_malloc_trim()
    }
}
