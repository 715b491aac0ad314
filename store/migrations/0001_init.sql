-- 0001: the first schema: bugs mirror, watch cursors, events, outbox,
-- announcements, command audit log and a small key/value table.
-- Times are Unix nanoseconds (UTC); 0 means "not set".

CREATE TABLE bugs (
	id               INTEGER PRIMARY KEY,
	product          TEXT    NOT NULL,
	component        TEXT    NOT NULL,
	resolution       TEXT    NOT NULL DEFAULT '',
	assigned_to      TEXT    NOT NULL DEFAULT '' COLLATE NOCASE,
	creation_time    INTEGER NOT NULL,
	last_change_time INTEGER NOT NULL,
	data             TEXT    NOT NULL -- the whole bugzilla.Bug as JSON
);

CREATE TABLE bug_cc (
	bug_id INTEGER NOT NULL REFERENCES bugs(id) ON DELETE CASCADE,
	login  TEXT    NOT NULL COLLATE NOCASE,
	PRIMARY KEY (bug_id, login)
) WITHOUT ROWID;

CREATE TABLE cursors (
	watch TEXT PRIMARY KEY,
	time  INTEGER NOT NULL,
	etag  TEXT    NOT NULL DEFAULT ''
);

CREATE TABLE component_defaults (
	watch    TEXT PRIMARY KEY,
	assignee TEXT NOT NULL
);

CREATE TABLE events (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	bug_id       INTEGER NOT NULL,
	kind         TEXT    NOT NULL,
	old          TEXT    NOT NULL DEFAULT '',
	new          TEXT    NOT NULL DEFAULT '',
	bug          TEXT    NOT NULL, -- bug state when recorded, JSON
	at           INTEGER NOT NULL,
	processed_at INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE outbox (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	key        TEXT UNIQUE, -- NULL: no de-duplication
	channel    TEXT    NOT NULL,
	kind       TEXT    NOT NULL,
	msg        TEXT    NOT NULL, -- chat.Outgoing as JSON
	attempts   INTEGER NOT NULL DEFAULT 0,
	last_error TEXT    NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	sent_at    INTEGER NOT NULL DEFAULT 0,
	network_id TEXT    NOT NULL DEFAULT ''
);

CREATE TABLE announcements (
	bug_id     INTEGER NOT NULL,
	channel    TEXT    NOT NULL,
	kind       TEXT    NOT NULL,
	at         INTEGER NOT NULL,
	network_id TEXT    NOT NULL DEFAULT '',
	outbox_id  INTEGER NOT NULL REFERENCES outbox(id)
);

CREATE TABLE audit (
	id       INTEGER PRIMARY KEY AUTOINCREMENT,
	at       INTEGER NOT NULL,
	network  TEXT    NOT NULL DEFAULT '',
	channel  TEXT    NOT NULL DEFAULT '',
	account  TEXT    NOT NULL DEFAULT '',
	login    TEXT    NOT NULL DEFAULT '',
	command  TEXT    NOT NULL DEFAULT '',
	bug_id   INTEGER NOT NULL DEFAULT 0,
	result   TEXT    NOT NULL DEFAULT '',
	err_code TEXT    NOT NULL DEFAULT ''
);

CREATE TABLE kv (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
