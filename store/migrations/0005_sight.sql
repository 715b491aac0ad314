-- 0005: how ksecbot sees each mirrored bug (reconciliation by id, API key
-- outages), the bugs a fresh database caught up on, and every component
-- default assignee seen.

-- sight: '' (in sight), 'gone' (the last read by id with the API key did
-- not return it: restricted into a group ksecbot is not in, deleted, or
-- the key lost rights), 'moved' (it left the watches: product and
-- component say where it went).
ALTER TABLE bugs ADD COLUMN sight TEXT NOT NULL DEFAULT '';
-- confirmed_at: when a read last returned the bug (0: not since 0005).
ALTER TABLE bugs ADD COLUMN confirmed_at INTEGER NOT NULL DEFAULT 0;
-- unconfirmed: 1 while Bugzilla refuses the API key and no read returned
-- the bug since the refusal began (it may have been restricted meanwhile).
ALTER TABLE bugs ADD COLUMN unconfirmed INTEGER NOT NULL DEFAULT 0;

-- !pending and reconciliation select open bugs in sight.
DROP INDEX bugs_filter;
CREATE INDEX bugs_filter ON bugs(product, component, resolution, sight, assigned_to, creation_time, id);

-- Bugs announced by the catch-up of a fresh database: reminded after their
-- announcement, and left out of creation-to-announcement times.
CREATE TABLE catch_up (
	bug_id INTEGER PRIMARY KEY,
	at     INTEGER NOT NULL
);

-- Every default assignee seen per watch, with when it was first seen (0:
-- the one known before 0005, taken to apply to every older bug). A bug
-- still with the default of now, or of when it was filed, is unclaimed.
CREATE TABLE default_history (
	watch    TEXT    NOT NULL,
	assignee TEXT    NOT NULL,
	since    INTEGER NOT NULL,
	PRIMARY KEY (watch, since, assignee)
) WITHOUT ROWID;
INSERT INTO default_history(watch, assignee, since) SELECT watch, assignee, 0 FROM component_defaults;
