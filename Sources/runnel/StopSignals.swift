import FoundationEssentials
import Glibc
import RunsDomain

/// Turns SIGINT and SIGTERM into a call on an ordinary thread. The handler only writes one byte
/// to a pipe (async-signal-safe); it is installed synchronously, so a signal that arrives the
/// moment the server reports it is listening is never lost or fatal.
enum StopSignals {
    private nonisolated(unsafe) static var writeEnd: Int32 = -1

    static func install(_ onSignal: @escaping @Sendable (Int32) -> Void) {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { fatalError("pipe() failed: \(errno)") }
        writeEnd = ends[1]
        let readEnd = ends[0]
        for number in [SIGINT, SIGTERM] {
            signal(number) { received in
                var byte = UInt8(truncatingIfNeeded: received)
                _ = write(StopSignals.writeEnd, &byte, 1)
            }
        }
        DetachedThread.start(name: "stop signals") {
            var byte: UInt8 = 0
            while read(readEnd, &byte, 1) != 1 {}
            onSignal(Int32(byte))
        }
    }
}
