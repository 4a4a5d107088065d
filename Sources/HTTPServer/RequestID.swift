import Synchronization

/// `x-request-id` values: a random process prefix and a counter. They identify, they do not
/// authorize, so uniqueness is all they need, and they cost no system call.
final class RequestIDGenerator: Sendable {
    private let prefix: String
    private let counter = Atomic<UInt64>(0)

    init() {
        var generator = SystemRandomNumberGenerator()
        let random = generator.next() as UInt64
        let hex = String(random, radix: 16)
        prefix = "req_" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    func next() -> String {
        let value = counter.add(1, ordering: .relaxed).newValue
        let hex = String(value, radix: 16)
        return prefix + String(repeating: "0", count: max(0, 12 - hex.count)) + hex
    }
}
