-- What memory used to guard moves into the database, so several nodes can share one (the
-- PostgreSQL file of this number). SQLite has one writer at a time, and a run is created in the
-- same write transaction that checks its thread for an unfinished run, so the thread lock needs
-- no index here; PostgreSQL's version adds a unique one.

-- The node executing a run holds a lease on it until lease_expires_at (milliseconds since the
-- epoch), renewed by its heartbeat; a lease that ran out is taken over.
ALTER TABLE runs ADD COLUMN lease_owner TEXT;
ALTER TABLE runs ADD COLUMN lease_expires_at INTEGER;
-- Model turns started and cut off by a crash or a lost lease; past --run-retries the run fails.
ALTER TABLE runs ADD COLUMN interrupted_turns INTEGER NOT NULL DEFAULT 0;
