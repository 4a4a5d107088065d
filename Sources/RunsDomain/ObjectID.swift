import Synchronization

/// The kinds of object ids, with OpenAI's prefixes.
public enum IDPrefix: String, Sendable {
    case assistant = "asst_"
    case thread = "thread_"
    case message = "msg_"
    case run = "run_"
    case step = "step_"
    case call = "call_"
    case file = "file-"
    case vectorStore = "vs_"
    case fileBatch = "vsfb_"
}

/// Makes ids that are unguessable (77 random bits) and ordered by creation: 8 base62 characters
/// of millisecond time, 3 of a counter within the millisecond, then 13 random. Ordering by id is
/// therefore ordering by creation, stable within a second, and sorted inserts keep SQLite's
/// indexes fast.
public final class ObjectIDGenerator: Sendable {
    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
    private let clock: any Clock
    private let last = Mutex<(milliseconds: Int64, counter: Int)>((0, 0))

    public init(clock: any Clock) {
        self.clock = clock
    }

    /// A new id and its creation time in Unix seconds (the same instant the id encodes).
    public func make(_ prefix: IDPrefix) -> (id: String, createdAt: Int) {
        let now = clock.nowMilliseconds()
        let (milliseconds, counter) = last.withLock { state -> (Int64, Int) in
            if now > state.milliseconds {
                state = (now, 0)
            } else {
                state.counter += 1
                // 62^3 ids in one millisecond: borrow the next millisecond rather than wrap.
                if state.counter >= 238_328 { state = (state.milliseconds + 1, 0) }
            }
            return state
        }
        var generator = SystemRandomNumberGenerator()
        var text = Array(prefix.rawValue.utf8)
        text.reserveCapacity(text.count + 24)
        Self.append(UInt64(milliseconds), digits: 8, to: &text)
        Self.append(UInt64(counter), digits: 3, to: &text)
        Self.append(generator.next() as UInt64, digits: 7, to: &text)
        Self.append(generator.next() as UInt64, digits: 6, to: &text)
        return (String(decoding: text, as: UTF8.self), Int(milliseconds / 1000))
    }

    public func id(_ prefix: IDPrefix) -> String { make(prefix).id }

    private static func append(_ value: UInt64, digits: Int, to text: inout [UInt8]) {
        var value = value
        var chunk = [UInt8](repeating: alphabet[0], count: digits)
        for position in stride(from: digits - 1, through: 0, by: -1) {
            chunk[position] = alphabet[Int(value % 62)]
            value /= 62
        }
        text.append(contentsOf: chunk)
    }
}
