import RunsDomain
import RunsEngine
import RunsWire

/// Maps bearer keys to projects. With no keys configured every request belongs to one project.
public struct APIKeys: Sendable {
    public struct Entry: Sendable {
        public var key: String
        public var project: String

        public init(key: String, project: String) {
            self.key = key
            self.project = project
        }
    }

    public static let defaultProject = "default"
    private let entries: [(key: [UInt8], project: String)]

    public init(_ entries: [Entry]) {
        self.entries = entries.map { (Array($0.key.utf8), $0.project) }
    }

    public var isEnabled: Bool { !entries.isEmpty }

    /// The project of the `Authorization: Bearer` key. Every configured key is compared in full,
    /// in time independent of where the bytes differ, so timing reveals nothing about any key.
    public func project(authorization: String?) throws(APIError) -> String {
        guard isEnabled else { return Self.defaultProject }
        guard let authorization, authorization.lowercased().hasPrefix("bearer ") else {
            throw APIError(.authentication,
                           "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                           code: "invalid_api_key")
        }
        let presented = Array(authorization.dropFirst(7).utf8)
        var match: String?
        for entry in entries where Self.constantTimeEquals(entry.key, presented) {
            match = entry.project
        }
        guard let match else {
            throw APIError(.authentication, "Incorrect API key provided.", code: "invalid_api_key")
        }
        return match
    }

    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        let length = max(a.count, b.count)
        for index in 0..<length {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            difference |= x ^ y
        }
        return difference == 0
    }
}
