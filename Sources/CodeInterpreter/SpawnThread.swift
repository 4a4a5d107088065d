import Dispatch
import FoundationEssentials
import RunsDomain
import Synchronization

/// One thread that lives as long as the process and starts every sandbox. bubblewrap's
/// `--die-with-parent` (PR_SET_PDEATHSIG) fires when the *thread* that started it ends, and
/// Dispatch ends idle worker threads after a few seconds: a sandbox started from one would be
/// killed under the code it runs. Started from here, it dies with the server and only then.
final class SpawnThread: Sendable {
    static let shared = SpawnThread()

    private let work = Mutex<[@Sendable () -> Void]>([])
    private let ready = DispatchSemaphore(value: 0)

    private init() {
        DetachedThread.start(name: "sandbox.spawn") { [self] in
            while true {
                ready.wait()
                let next = work.withLock { $0.isEmpty ? nil : $0.removeFirst() }
                next?()
            }
        }
    }

    /// Runs `body` on the spawn thread and waits for its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () -> T) -> T {
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<T?>(nil)
        work.withLock {
            $0.append {
                let value = body()
                result.withLock { $0 = value }
                done.signal()
            }
        }
        ready.signal()
        done.wait()
        return result.withLock { $0! }
    }
}
