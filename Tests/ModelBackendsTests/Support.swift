import Synchronization
import RunsDomain
@testable import ModelBackends

typealias JSONValueAlias = JSONValue

/// Collects deltas emitted from any thread.
final class Collected: Sendable {
    private let deltas = Mutex<[ModelDelta]>([])

    func add(_ delta: ModelDelta) { deltas.withLock { $0.append(delta) } }
    var all: [ModelDelta] { deltas.withLock { $0 } }

    var text: String {
        all.map { if case .text(let piece) = $0 { piece } else { "" } }.joined()
    }
}
