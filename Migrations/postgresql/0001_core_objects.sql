-- Every object carries the project it belongs to; every query filters on it, so one project's
-- ids answer 404 to another exactly as ids that never existed.
-- Ids are time-ordered (see ObjectID), so ordering by id is ordering by creation, stable within
-- a second, and a cursor keeps working after the object it names was deleted.
-- JSON columns hold the wire-shaped parts that are only ever read and written whole.

CREATE TABLE assistants (
    id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    name TEXT,
    description TEXT,
    model TEXT NOT NULL,
    instructions TEXT,
    tools TEXT NOT NULL DEFAULT '[]',
    tool_resources TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    temperature DOUBLE PRECISION,
    top_p DOUBLE PRECISION,
    response_format TEXT,
    reasoning_effort TEXT
);
CREATE INDEX assistants_by_project ON assistants (project, id);

CREATE TABLE threads (
    id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    tool_resources TEXT,
    metadata TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    thread_id TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    assistant_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    required_action TEXT,
    last_error TEXT,
    expires_at BIGINT,
    started_at BIGINT,
    cancelled_at BIGINT,
    failed_at BIGINT,
    completed_at BIGINT,
    incomplete_details TEXT,
    model TEXT NOT NULL,
    instructions TEXT NOT NULL,
    additional_instructions TEXT,
    tools TEXT NOT NULL DEFAULT '[]',
    metadata TEXT NOT NULL DEFAULT '{}',
    usage TEXT,
    temperature DOUBLE PRECISION,
    top_p DOUBLE PRECISION,
    max_prompt_tokens BIGINT,
    max_completion_tokens BIGINT,
    truncation_strategy TEXT NOT NULL,
    tool_choice TEXT NOT NULL,
    parallel_tool_calls BIGINT NOT NULL DEFAULT 1,
    response_format TEXT NOT NULL,
    reasoning_effort TEXT,
    -- Monotonic per run: every compare-and-set update bumps it, so the executor, the sweeper and
    -- a cancel can never overwrite each other's transition.
    version BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX runs_by_thread ON runs (thread_id, id);
-- The thread lock and the start-up recovery both look for the runs that are not finished yet.
CREATE INDEX runs_active ON runs (status)
    WHERE status IN ('queued', 'in_progress', 'requires_action', 'cancelling');

CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    thread_id TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    incomplete_details TEXT,
    completed_at BIGINT,
    incomplete_at BIGINT,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    assistant_id TEXT,
    run_id TEXT REFERENCES runs (id) ON DELETE SET NULL,
    attachments TEXT,
    metadata TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX messages_by_thread ON messages (thread_id, id);
CREATE INDEX messages_by_run ON messages (run_id, id) WHERE run_id IS NOT NULL;

CREATE TABLE run_steps (
    id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    thread_id TEXT NOT NULL,
    assistant_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    step_details TEXT NOT NULL,
    last_error TEXT,
    expired_at BIGINT,
    cancelled_at BIGINT,
    failed_at BIGINT,
    completed_at BIGINT,
    metadata TEXT NOT NULL DEFAULT '{}',
    usage TEXT
);
CREATE INDEX run_steps_by_run ON run_steps (run_id, id);
