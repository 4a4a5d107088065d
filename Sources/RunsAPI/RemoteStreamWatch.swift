import Dispatch
import Logging
import RunsDomain
import RunsEngine
import RunsStorage
import RunsWire

/// A stream whose run executes on another node depends on that node's notifications. Were they
/// lost (this node's listener reconnecting after a database restart), the stream would wait for
/// ever; this watch ends it from the stored state once the run has stayed finished for a whole
/// check interval without its closing event arriving.
enum RemoteStreamWatch {
    static func start(_ runID: String, stream: SSEStream, engine: RunEngine, interval: Double = 2) {
        schedule(runID, stream: stream, engine: engine, interval: interval, endedBefore: false)
    }

    private static func schedule(_ runID: String, stream: SSEStream, engine: RunEngine, interval: Double, endedBefore: Bool) {
        DispatchQueue.global().asyncAfter(deadline: .now() + interval) {
            guard stream.isOpen else { return }
            engine.database.read({ db in try RunRepository(db, project: nil).find(runID) }, completion: { result in
                guard stream.isOpen else { return }
                let ended = (try? result.get())??.status.endsPolling == true
                if ended, endedBefore, case .success(let run?) = result {
                    engine.log.warning("run \(runID): its stream missed the events that end it; ended from the stored run")
                    stream.send([.run(run)])
                    return
                }
                schedule(runID, stream: stream, engine: engine, interval: interval, endedBefore: ended)
            })
        }
    }
}
