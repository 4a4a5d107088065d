import CCurl
import FoundationEssentials
import RunsDomain
import Synchronization

/// Every upstream HTTP exchange of the process, driven by libcurl's multi interface on one
/// thread: connections to the model server are kept and reused across runs, and a stream whose
/// reader falls behind is paused at the socket instead of buffered.
final class UpstreamLoop: Sendable {
    enum Command {
        case add(UpstreamTransfer)
        case resume(UpstreamTransfer)
        case cancel(UpstreamTransfer)
    }

    /// Started at the first exchange; a node on the built-in model never loads libcurl.
    static let shared: Result<UpstreamLoop, BackendError> = {
        var error: UnsafePointer<CChar>?
        guard runnel_curl_load(&error) == 0, let multi = runnel_curl_multi_new() else {
            let reason = error.map { String(cString: $0) } ?? "libcurl could not start"
            return .failure(BackendError(.serverError, "Runnel cannot reach the model server: \(reason)."))
        }
        let loop = UpstreamLoop(multi: multi)
        DetachedThread.start(name: "upstream") { loop.run() }
        return .success(loop)
    }()

    /// `nonisolated(unsafe)`: used only on the loop's thread, apart from the thread-safe wakeup.
    nonisolated(unsafe) private let multi: UnsafeMutableRawPointer
    private let commands = Mutex<[Command]>([])

    private init(multi: UnsafeMutableRawPointer) {
        self.multi = multi
    }

    func submit(_ command: Command) {
        commands.withLock { $0.append(command) }
        runnel_curl_multi_wakeup(multi)
    }

    private func run() {
        // The transfers in the multi handle, by their handle; holding them here keeps each
        // alive for as long as libcurl may call back into it.
        var active: [OpaquePointer: UpstreamTransfer] = [:]
        while true {
            for command in commands.withLock({ pending in defer { pending = [] }; return pending }) {
                switch command {
                case .add(let transfer):
                    // Cancelled before it began (the task was cancelled as it called).
                    guard !transfer.isCancelled else {
                        transfer.ended(code: nil)
                        continue
                    }
                    active[transfer.handle] = transfer
                    runnel_curl_multi_add(multi, transfer.handle)
                case .resume(let transfer):
                    if active[transfer.handle] != nil { runnel_curl_transfer_pause(transfer.handle, 0) }
                case .cancel(let transfer):
                    guard active.removeValue(forKey: transfer.handle) != nil else { continue }
                    runnel_curl_multi_remove(multi, transfer.handle)
                    transfer.ended(code: nil)
                }
            }
            runnel_curl_multi_perform(multi)
            var code: Int32 = 0
            while let handle = runnel_curl_multi_next_done(multi, &code) {
                guard let transfer = active.removeValue(forKey: handle) else { continue }
                runnel_curl_multi_remove(multi, handle)
                transfer.ended(code: code)
            }
            runnel_curl_multi_wait(multi, 1000)
        }
    }
}
