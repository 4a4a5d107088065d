-- Uploaded files live in the database, in pieces, so a backup holds them and every node reads
-- them. A file is 'uploading' (and invisible) until its last piece is stored.
CREATE TABLE files (
    id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    filename TEXT NOT NULL,
    purpose TEXT NOT NULL,
    bytes BIGINT NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    -- `expires_after` on upload (batch files: 30 days); an expired file is swept like a deleted one.
    expires_at BIGINT,
    -- Seconds since the epoch of the last piece written; a stale upload is swept.
    updated_at BIGINT NOT NULL
);
CREATE INDEX files_by_project ON files (project, id);
CREATE INDEX files_expiring ON files (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE file_pieces (
    file_id TEXT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (file_id, seq)
);

CREATE TABLE vector_stores (
    id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    name TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    expires_after TEXT,
    last_active_at BIGINT NOT NULL
);
CREATE INDEX vector_stores_by_project ON vector_stores (project, id);

CREATE TABLE vector_store_file_batches (
    id TEXT PRIMARY KEY,
    vector_store_id TEXT NOT NULL REFERENCES vector_stores (id) ON DELETE CASCADE,
    project TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    cancelled BIGINT NOT NULL DEFAULT 0
);

-- A file in a store, and its ingestion: 'in_progress' files are claimed by a node's worker with
-- a lease (milliseconds since the epoch), so an interrupted ingestion is taken up again.
CREATE TABLE vector_store_files (
    vector_store_id TEXT NOT NULL REFERENCES vector_stores (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    project TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    last_error TEXT,
    usage_bytes BIGINT NOT NULL DEFAULT 0,
    chunking_strategy TEXT NOT NULL,
    attributes TEXT NOT NULL DEFAULT '{}',
    batch_id TEXT,
    lease_owner TEXT,
    lease_expires_at BIGINT,
    attempts BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (vector_store_id, id)
);
CREATE INDEX vector_store_files_by_file ON vector_store_files (id);
CREATE INDEX vector_store_files_by_batch ON vector_store_files (batch_id) WHERE batch_id IS NOT NULL;
CREATE INDEX vector_store_files_pending ON vector_store_files (lease_expires_at) WHERE status = 'in_progress';

-- Searchable pieces of the files' text, indexed for full-text search with the 'simple'
-- configuration (no stemming or stop words, as SQLite's unicode61 tokenizer), `tsv` over `text`.
CREATE TABLE chunks (
    id BIGSERIAL PRIMARY KEY,
    vector_store_id TEXT NOT NULL,
    file_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    -- Only what the chunk adds to the ones before it: the chunk as cut begins with the last
    -- `overlap_bytes` UTF-8 bytes of the previous chunks' text, read back from them.
    text TEXT NOT NULL,
    overlap_bytes BIGINT NOT NULL DEFAULT 0,
    embedding BYTEA,
    tsv TSVECTOR NOT NULL
);
CREATE INDEX chunks_by_file ON chunks (vector_store_id, file_id, seq);
CREATE INDEX chunks_search ON chunks USING GIN (tsv);

-- Whether a run's streamed file_search steps carry their results' text (include[] on create).
ALTER TABLE runs ADD COLUMN include_search_content BIGINT NOT NULL DEFAULT 0;
