#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Where time comes from, so expiry and ordering can be tested with a clock the test moves.
public protocol Clock: Sendable {
    func nowMilliseconds() -> Int64
}

extension Clock {
    /// Unix seconds, the unit of every timestamp on the wire.
    public func nowSeconds() -> Int { Int(nowMilliseconds() / 1000) }

    /// Milliseconds since the epoch as an `Int`, for deadlines stored beside other integers.
    public var milliseconds: Int { Int(nowMilliseconds()) }
}

public struct SystemClock: Clock {
    public init() {}

    public func nowMilliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}

public final class ManualClock: Clock {
    private let now: Mutex<Int64>

    public init(milliseconds: Int64 = 1_700_000_000_000) {
        now = Mutex(milliseconds)
    }

    public func nowMilliseconds() -> Int64 { now.withLock { $0 } }

    public func advance(milliseconds: Int64) {
        now.withLock { $0 += milliseconds }
    }
}
