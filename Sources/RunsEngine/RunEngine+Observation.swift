import Logging
import Observability
import RunsDomain
import RunsWire

extension RunEngine {
    /// Logs and counts the run transitions this node stored, as their events are published:
    /// ids and statuses only, never content.
    func observe(_ events: [RunEvent]) {
        for event in events {
            switch event.kind {
            case .runCreated:
                Telemetry.runCreated()
                log.info("run created", metadata: ["run_id": "\(event.data["id"]?.stringValue ?? "")",
                                                   "thread_id": "\(event.data["thread_id"]?.stringValue ?? "")"])
            case .run(let status):
                guard let run = event.run else { continue }
                log.info("run \(status.rawValue)", metadata: ["run_id": "\(run.id)", "thread_id": "\(run.threadID)",
                                                             "status": "\(status.rawValue)"])
                if status.isTerminal {
                    // created_at has whole seconds: the duration is as exact as that.
                    Telemetry.runFinished(status: status.rawValue, seconds: Double(clock.milliseconds) / 1000 - Double(run.createdAt))
                }
            default:
                continue
            }
        }
    }
}
