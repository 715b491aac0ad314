-- 0002: auto-CC jobs, reminders, reaction-time stats, and the indexes that
-- keep !pending, the outbox and announcement look-ups fast.

CREATE TABLE autocc_jobs (
	bug_id     INTEGER PRIMARY KEY,
	attempts   INTEGER NOT NULL DEFAULT 0,
	next_at    INTEGER NOT NULL,
	done_at    INTEGER NOT NULL DEFAULT 0,
	result     TEXT    NOT NULL DEFAULT '',
	last_error TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX autocc_due ON autocc_jobs(next_at) WHERE done_at = 0;

CREATE TABLE reminders (
	bug_id  INTEGER PRIMARY KEY,
	due_at  INTEGER NOT NULL,
	done_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX reminders_due ON reminders(due_at) WHERE done_at = 0;

-- First claim of each bug (!stats).
CREATE TABLE claims (
	bug_id INTEGER PRIMARY KEY,
	login  TEXT    NOT NULL,
	at     INTEGER NOT NULL
);

-- First time each login appeared in a bug's CC list (!stats).
CREATE TABLE cc_first (
	bug_id INTEGER NOT NULL,
	login  TEXT    NOT NULL COLLATE NOCASE,
	at     INTEGER NOT NULL,
	PRIMARY KEY (bug_id, login)
) WITHOUT ROWID;

-- Covers the !pending filters, so counting matches never reads bug rows.
CREATE INDEX bugs_filter ON bugs(product, component, resolution, assigned_to, creation_time, id);
CREATE INDEX bugs_created ON bugs(creation_time, id);
CREATE INDEX bugs_assigned ON bugs(assigned_to);
CREATE INDEX bug_cc_login ON bug_cc(login, bug_id);
CREATE INDEX events_pending ON events(id) WHERE processed_at = 0;
CREATE INDEX outbox_unsent ON outbox(channel, id) WHERE sent_at = 0;
CREATE INDEX outbox_network_id ON outbox(channel, network_id) WHERE network_id <> '';
CREATE INDEX announcements_channel ON announcements(channel, at);
CREATE INDEX announcements_bug ON announcements(bug_id);
