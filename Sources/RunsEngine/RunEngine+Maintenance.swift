import RunsDomain
import RunsWire
import RunsStorage

extension RunEngine {
    /// After a crash: queued runs execute again, runs cut off mid-answer fail cleanly (their
    /// partial message marked incomplete), cancelling runs end cancelled, and runs waiting for
    /// tool outputs keep waiting (the sweeper still expires them).
    func recover() throws {
        let now = clock.nowSeconds()
        let (requeue, settled) = try database.writeNow { db -> ([String], [(String, [RunEvent])]) in
            var requeue: [String] = []
            var settled: [(String, [RunEvent])] = []
            try db.transaction {
                for (run, project) in try RunRepository(db, project: nil).unfinished() {
                    switch run.status {
                    case .queued:
                        requeue.append(run.id)
                    case .inProgress:
                        let error = RunError(.serverError, "Runnel restarted while this run was in progress; the run was stopped. Create a new run to continue.")
                        let applied = try RunTransitions.apply(.fail(error, usage: nil), to: run, project: project, db: db, now: now)
                        settled.append((run.id, applied.events))
                    case .cancelling:
                        let applied = try RunTransitions.apply(.finishCancelling(usage: nil), to: run, project: project, db: db, now: now)
                        settled.append((run.id, applied.events))
                    default:
                        break
                    }
                }
            }
            return (requeue, settled)
        }
        for (runID, events) in settled { publish(runID, events) }
        if !requeue.isEmpty || !settled.isEmpty {
            log.info("recovery: \(requeue.count) queued run(s) resumed, \(settled.count) interrupted run(s) settled")
        }
        for runID in requeue { enqueue(runID) }
    }

    /// Expires every unfinished run past its `expires_at`. Runs executing here are stopped
    /// through their executor, which then records the expiry itself.
    func sweepExpired() {
        let now = clock.nowSeconds()
        database.write({ [self] db -> [(String, [RunEvent])] in
            var expired: [(String, [RunEvent])] = []
            try db.transaction {
                for (run, project) in try RunRepository(db, project: nil).expired(now: now) {
                    if stopExecution(run.id, .expire) { continue }
                    let applied = try RunTransitions.apply(.expire, to: run, project: project, db: db, now: now)
                    expired.append((run.id, applied.events))
                }
            }
            return expired
        }, completion: { [self] result in
            switch result {
            case .success(let expired):
                for (runID, events) in expired { publish(runID, events) }
            case .failure(let error):
                log.error("expiry sweep failed: \(error)")
            }
        })
    }
}
