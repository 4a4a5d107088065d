-- Several nodes share one database, so what memory used to guard moves here.
-- The thread lock: at most one unfinished run per thread, whichever node creates it (two nodes'
-- transactions cannot both see "no active run" and insert one).
CREATE UNIQUE INDEX runs_one_active_per_thread ON runs (thread_id)
    WHERE status IN ('queued', 'in_progress', 'requires_action', 'cancelling');

-- The node executing a run holds a lease on it until lease_expires_at (milliseconds since the
-- epoch), renewed by its heartbeat; a lease that ran out is taken over by another node.
ALTER TABLE runs ADD COLUMN lease_owner TEXT;
ALTER TABLE runs ADD COLUMN lease_expires_at BIGINT;
-- Model turns started and cut off by a crash or a lost lease; past --run-retries the run fails.
ALTER TABLE runs ADD COLUMN interrupted_turns BIGINT NOT NULL DEFAULT 0;
-- Claiming looks for queued runs and for in-progress runs whose lease ran out.
CREATE INDEX runs_claimable ON runs (lease_expires_at)
    WHERE status IN ('queued', 'in_progress', 'cancelling');
