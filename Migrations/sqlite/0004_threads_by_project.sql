-- The inspector lists a project's threads, newest first.
CREATE INDEX threads_by_project ON threads (project, id);
