import HTTPServer
import RunsDomain
import RunsEngine
import RunsStorage
import RunsWire

/// `GET /v1/threads/{thread_id}/runs/{run_id}/events`, Runnel's own: OpenAI's API has no way to
/// join a run's stream once it has started, and the inspector watches runs started elsewhere.
/// Server-Sent Events in OpenAI's shapes: the run as it stands, then its events until it ends
/// or needs action, then `done`. With several nodes, a run executing on another node shows its
/// status changes (its text deltas travel only to streams opened on the node that runs it).
enum RunWatchEndpoint {
    static func register(in router: inout Router<Route>, engine: RunEngine) {
        router.add("GET", "/threads/:thread_id/runs/:run_id/events", .custom { watch($0, $1, engine) })
    }

    static func watch(_ context: APIContext, _ responder: HTTPResponder, _ engine: RunEngine) {
        let database = engine.database
        database.read({ db in try RunsEndpoints.existingRun(context, db) }, completion: { result in
            let run: Run
            switch result {
            case .failure(let error):
                return responder.send(ErrorResponses.response(for: error, requestID: responder.requestID, log: engine.log))
            case .success(let found):
                run = found
            }
            let stream = SSEStream(responder: responder, keepAlive: engine.keepAlive)
            stream.send([.run(run)])
            guard !run.status.endsPolling else { return }
            let token = engine.hub.subscribe(run.id) { events in stream.send(events) }
            stream.onClose { engine.hub.unsubscribe(run.id, token) }
            // An ending stored between the first read and the subscription published its events
            // to no one: read once more, now that nothing can be missed.
            database.read({ db in try RunRepository(db, project: nil).find(run.id) }, completion: { again in
                if case .success(let latest?) = again, latest.status.endsPolling { stream.send([.run(latest)]) }
            })
            if database.dialect == .postgresql { RemoteStreamWatch.start(run.id, stream: stream, engine: engine) }
        })
    }
}
