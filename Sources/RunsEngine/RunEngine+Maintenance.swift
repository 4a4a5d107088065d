import Dispatch
import Logging
import RunsDomain
import RunsStorage
import RunsWire

extension RunEngine {
    /// Asks for a claim pass soon (a slot freed up, or another node said runs wait).
    func requestClaim() {
        guard !claimRequested.exchange(true, ordering: .acquiringAndReleasing) else { return }
        claimQueue.async { [self] in claimPass() }
    }

    /// Claims as many waiting runs as this node has free slots: queued runs start, runs cut
    /// off mid-turn (their node died or this process restarted) execute that turn again, and
    /// runs left mid-cancel end cancelled.
    func claimPass() {
        claimRequested.store(false, ordering: .releasing)
        let free = reserveSlots(64)
        let now = clock.milliseconds
        let until = leaseDeadline()
        do {
            let (claimed, waiting) = try database.writeNow { [node] db in
                let claimed = free > 0 ? try RunLeases(db, owner: node).claim(now: now, until: until, limit: free) : []
                return (claimed, try RunLeases.waitingCount(db, now: now))
            }
            noteWaiting(waiting)
            releaseSlots(free - claimed.count, requestingMore: false)
            for (runID, status) in claimed {
                let assignment: Assignment = switch status {
                case .queued: .start
                case .cancelling: .finishCancelling
                default: .resume
                }
                launch(runID, assignment, relayEverything: true)
            }
            if claimed.count == free, free > 0 { requestClaim() }
        } catch {
            releaseSlots(free, requestingMore: false)
            log.warning("claiming waiting runs failed (retrying): \(error)")
        }
    }

    /// Renews this node's leases. A run it executes but no longer holds was taken over (this
    /// node was cut off longer than the lease): it stops without writing. A run that turned
    /// `cancelling` is stopped here even if the cancel's notification was lost. A run it holds
    /// but no longer executes (its executor gave up while the database was unreachable) is
    /// let go, so a claim takes it up again.
    func heartbeat() {
        let all = currentControls
        let executing = all.filter { $0.value.leased.load(ordering: .acquiring) }
        do {
            let held = try database.writeNow { [node, leaseDeadline] db in
                try RunLeases(db, owner: node).renew(until: leaseDeadline())
            }
            lastRenewal.store(clock.milliseconds, ordering: .relaxed)
            let abandoned = held.map(\.id).filter { all[$0] == nil && currentControls[$0] == nil }
            if !abandoned.isEmpty {
                try database.writeNow { [node] db in
                    for runID in abandoned { try RunLeases(db, owner: node).release(runID) }
                }
                requestClaim()
            }
            let statuses = Dictionary(held.map { ($0.id, $0.status) }, uniquingKeysWith: { first, _ in first })
            // A run that finished meanwhile gave its lease back on purpose.
            for (runID, control) in executing where control.leased.load(ordering: .acquiring) {
                switch statuses[runID] {
                case nil:
                    log.warning("run \(runID): this node no longer holds it; stopping here")
                    control.stop(.leaseLost)
                case .cancelling?: control.stop(.cancel)
                default: break
                }
            }
        } catch {
            let silentFor = Double(clock.milliseconds - lastRenewal.load(ordering: .relaxed)) / 1000
            log.warning("could not renew run leases for \(Int(silentFor)) s: \(error)")
            guard silentFor >= settings.leaseSeconds, database.dialect == .postgresql else { return }
            // Other nodes may take these runs over now; executing them on would run them twice.
            for (_, control) in executing { control.stop(.leaseLost) }
        }
    }

    /// Expires every unfinished run past its `expires_at` that no other live node executes.
    /// Runs executing here are stopped through their executor, which records the expiry itself.
    func sweepExpired() {
        hub.dropOldFinished()
        let now = clock.nowSeconds()
        let nowMilliseconds = clock.milliseconds
        database.write({ [self] db -> [(String, [RunEvent])] in
            var expired: [(String, [RunEvent])] = []
            for (run, project) in try RunRepository(db, project: nil).expired(now: now, owner: node, nowMilliseconds: nowMilliseconds) {
                if stopExecution(run.id, .expire) { continue }
                let applied = try RunTransitions.apply(.expire, to: run, project: project, db: db, now: now)
                expired.append((run.id, applied.events))
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
