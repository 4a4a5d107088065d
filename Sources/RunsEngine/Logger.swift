import FoundationEssentials
import RunsDomain
import Synchronization

/// Line-oriented log to standard error. Never given secrets: callers log ids and reasons only.
public final class Logger: Sendable {
    public enum Level: Int, Sendable, Comparable {
        case debug, info, warning, error

        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    private let minimum: Level
    private let lock = Mutex(())

    public init(minimum: Level = .info) {
        self.minimum = minimum
    }

    public func debug(_ message: @autoclosure () -> String) { log(.debug, message()) }
    public func info(_ message: @autoclosure () -> String) { log(.info, message()) }
    public func warning(_ message: @autoclosure () -> String) { log(.warning, message()) }
    public func error(_ message: @autoclosure () -> String) { log(.error, message()) }

    private func log(_ level: Level, _ message: String) {
        guard level >= minimum else { return }
        let line = "\(Date().ISO8601Format()) \(level) \(message)\n"
        lock.withLock { _ in StandardError.write(line) }
    }
}
