/// Why a request could not be read; answered with `status` and the connection closed, since
/// after a framing error nothing that follows on the connection can be trusted.
public struct HTTPParseError: Error, Sendable, Equatable {
    public var status: Int
    public var message: String

    public init(_ status: Int, _ message: String) {
        self.status = status
        self.message = message
    }

    static func bad(_ message: String) -> HTTPParseError { HTTPParseError(400, message) }
}
