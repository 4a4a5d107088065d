import FoundationEssentials
import Logging
import RunsDomain

/// How a log record is written: one line each, as text for people or JSON for collectors.
public enum LogFormat: String, Sendable, CaseIterable {
    case text, json
}

/// Renders one record as a line. Metadata keys are sorted so that lines compare and grep alike.
enum LogLine {
    static func render(_ format: LogFormat, time: Date, level: Logger.Level, label: String, message: String,
                       metadata: Logger.Metadata) -> String {
        let stamp = time.ISO8601Format(.iso8601WithTimeZone(includingFractionalSeconds: true))
        let keys = metadata.keys.sorted()
        switch format {
        case .text:
            var line = "\(stamp) \(level) \(message)"
            for key in keys { line += " \(key)=\(textValue(metadata[key]!))" }
            return line + "\n"
        case .json:
            var object: [(String, JSONValue)] = [("time", .string(stamp)), ("level", .string(level.rawValue)),
                                                 ("logger", .string(label)), ("message", .string(message))]
            for key in keys where !["time", "level", "logger", "message"].contains(key) {
                object.append((key, jsonValue(metadata[key]!)))
            }
            return JSONValue.object(object).jsonText + "\n"
        }
    }

    /// A value with a space, a quote or an equals sign is quoted, so `key=value` pairs stay parseable.
    private static func textValue(_ value: Logger.MetadataValue) -> String {
        let text = "\(value)"
        guard text.isEmpty || text.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }) else { return text }
        return JSONValue.string(text).jsonText
    }

    private static func jsonValue(_ value: Logger.MetadataValue) -> JSONValue {
        switch value {
        case .string(let text): .string(text)
        // Numbers given as numbers stay numbers, for collectors that sum and compare them.
        case .stringConvertible(let convertible as Int): .integer(convertible)
        case .stringConvertible(let convertible as Double): convertible.isFinite ? .number(convertible) : .string("\(convertible)")
        case .stringConvertible(let convertible): .string(convertible.description)
        case .array(let items): .array(items.map(jsonValue))
        case .dictionary(let entries): .object(entries.keys.sorted().map { ($0, jsonValue(entries[$0]!)) })
        }
    }
}
