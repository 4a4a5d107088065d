-- Uploaded files live in the database, in pieces, so a backup holds them and every node reads
-- them. A file is 'uploading' (and invisible) until its last piece is stored.
CREATE TABLE files (
    id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    filename TEXT NOT NULL,
    purpose TEXT NOT NULL,
    bytes INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    -- `expires_after` on upload (batch files: 30 days); an expired file is swept like a deleted one.
    expires_at INTEGER,
    -- Seconds since the epoch of the last piece written; a stale upload is swept.
    updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX files_by_project ON files (project, id);
CREATE INDEX files_expiring ON files (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE file_pieces (
    file_id TEXT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (file_id, seq)
) STRICT;

CREATE TABLE vector_stores (
    id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    name TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    expires_after TEXT,
    last_active_at INTEGER NOT NULL
) STRICT;
CREATE INDEX vector_stores_by_project ON vector_stores (project, id);

CREATE TABLE vector_store_file_batches (
    id TEXT PRIMARY KEY,
    vector_store_id TEXT NOT NULL REFERENCES vector_stores (id) ON DELETE CASCADE,
    project TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    cancelled INTEGER NOT NULL DEFAULT 0
) STRICT;

-- A file in a store, and its ingestion: 'in_progress' files are claimed by a node's worker with
-- a lease (milliseconds since the epoch), so an interrupted ingestion is taken up again.
CREATE TABLE vector_store_files (
    vector_store_id TEXT NOT NULL REFERENCES vector_stores (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    project TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    status TEXT NOT NULL,
    last_error TEXT,
    usage_bytes INTEGER NOT NULL DEFAULT 0,
    chunking_strategy TEXT NOT NULL,
    attributes TEXT NOT NULL DEFAULT '{}',
    batch_id TEXT,
    lease_owner TEXT,
    lease_expires_at INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (vector_store_id, id)
) STRICT;
CREATE INDEX vector_store_files_by_file ON vector_store_files (id);
CREATE INDEX vector_store_files_by_batch ON vector_store_files (batch_id) WHERE batch_id IS NOT NULL;
CREATE INDEX vector_store_files_pending ON vector_store_files (lease_expires_at) WHERE status = 'in_progress';

-- Searchable pieces of the files' text. `embedding` holds float32s when an embedding model is set.
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY,
    vector_store_id TEXT NOT NULL,
    file_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    -- Only what the chunk adds to the ones before it: the chunk as cut begins with the last
    -- `overlap_bytes` UTF-8 bytes of the previous chunks' text, read back from them. Each word is
    -- stored and indexed once, and the parsed file reads back without repeats.
    text TEXT NOT NULL,
    overlap_bytes INTEGER NOT NULL DEFAULT 0,
    embedding BLOB
) STRICT;
CREATE INDEX chunks_by_file ON chunks (vector_store_id, file_id, seq);
-- The full-text index (BM25) over the chunks' text, kept in step by triggers. `scope` holds
-- the word `runnelchunk` (so the index knows its size) and the chunk's store and file ids as one
-- word each (ids without their `_`/`-`, lowercased), so a search is confined to its stores (and
-- files) inside the index instead of by looking every match up. Only the index is ever read,
-- never the columns through it, so `scope` need not exist in `chunks`.
CREATE VIRTUAL TABLE chunks_fts USING fts5 (text, scope, content = 'chunks', content_rowid = 'id');
-- Indexing merges segments only when 64 pile up on one level; the rest is merged while no file
-- is being indexed (see ChunkRepository.mergeStep).
INSERT INTO chunks_fts (chunks_fts, rank) VALUES ('automerge', 0);
INSERT INTO chunks_fts (chunks_fts, rank) VALUES ('crisismerge', 64);
-- How many chunks hold each word: a search leaves out words in most chunks, which BM25 gives no
-- weight anyway and which would make it rank nearly every chunk.
CREATE VIRTUAL TABLE chunks_terms USING fts5vocab (chunks_fts, 'row');
CREATE TRIGGER chunks_indexed AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts (rowid, text, scope)
    VALUES (new.id, new.text, 'runnelchunk ' || replace(new.vector_store_id, '_', '') || ' ' || replace(new.file_id, '-', ''));
END;
CREATE TRIGGER chunks_unindexed AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts (chunks_fts, rowid, text, scope)
    VALUES ('delete', old.id, old.text, 'runnelchunk ' || replace(old.vector_store_id, '_', '') || ' ' || replace(old.file_id, '-', ''));
END;

-- Whether a run's streamed file_search steps carry their results' text (include[] on create).
ALTER TABLE runs ADD COLUMN include_search_content INTEGER NOT NULL DEFAULT 0;
