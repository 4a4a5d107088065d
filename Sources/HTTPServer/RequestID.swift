import Synchronization

/// `x-request-id` values: a random process prefix and a counter. They identify, they do not
/// authorize, so uniqueness is all they need, and they cost no system call.
final class RequestIDGenerator: Sendable {
    /// `req_` and 16 hex digits.
    private let prefix: [UInt8]
    private let counter = Atomic<UInt64>(0)
    private static let digits = Array("0123456789abcdef".utf8)

    init() {
        var generator = SystemRandomNumberGenerator()
        prefix = Array("req_".utf8) + Self.hex(generator.next() as UInt64, width: 16)
    }

    /// Written straight into one string: this runs for every request.
    func next() -> String {
        let value = counter.add(1, ordering: .relaxed).newValue
        return String(unsafeUninitializedCapacity: prefix.count + 12) { out in
            _ = out.initialize(from: prefix)
            var rest = value & 0xffff_ffff_ffff
            for index in stride(from: prefix.count + 11, through: prefix.count, by: -1) {
                out[index] = Self.digits[Int(rest & 15)]
                rest >>= 4
            }
            return prefix.count + 12
        }
    }

    private static func hex(_ value: UInt64, width: Int) -> [UInt8] {
        (0..<width).reversed().map { digits[Int((value >> (4 * UInt64($0))) & 15)] }
    }
}
