import FoundationEssentials
import Logging
import RunsDomain
import Synchronization

/// swift-log's handler for Runnel: each record is one line on standard error, in the chosen
/// format. Writes take a lock so that lines from different threads never interleave.
public struct LineLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String
    private let format: LogFormat
    private static let output = Mutex(())

    public init(label: String, format: LogFormat, level: Logger.Level) {
        self.label = label
        self.format = format
        logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let line = LogLine.render(format, time: Date(), level: event.level, label: label, message: "\(event.message)",
                                  metadata: merged)
        Self.output.withLock { _ in StandardError.write(line) }
    }

    /// Routes every `Logger` of the process here; call once, before the first is made.
    public static func bootstrap(format: LogFormat, level: Logger.Level) {
        LoggingSystem.bootstrap { label in LineLogHandler(label: label, format: format, level: level) }
    }
}
