-- 0007: state the bot kept as joined strings in kv moves to tables with
-- columns: the held-back auto-CC logins ("autocc_held:<bug>" =
-- "a@x,b@y"), the episodes told once to the private channels
-- ("channel_trouble:<channel>", "channel_refuses:<channel>",
-- "network_down:<network>", "bugzilla_key_state" = "<state>:<number>") and
-- the key outage's cursor ("bugzilla_key_outage" = Unix nanoseconds).
-- The rows keep their meaning: store.TestMigrateV6StateTables.

-- Logins auto-CC held back from a restricted bug, added once it is
-- public. pos keeps the order they were held in.
CREATE TABLE autocc_held (
	bug_id INTEGER NOT NULL,
	pos    INTEGER NOT NULL,
	login  TEXT    NOT NULL,
	PRIMARY KEY (bug_id, login)
) WITHOUT ROWID;

WITH RECURSIVE split(bug_id, pos, login, rest) AS (
	SELECT CAST(substr(key, length('autocc_held:') + 1) AS INTEGER), 0, '', value || ','
	FROM kv WHERE key GLOB 'autocc_held:*' AND value <> ''
	UNION ALL
	SELECT bug_id, pos + 1, substr(rest, 1, instr(rest, ',') - 1), substr(rest, instr(rest, ',') + 1)
	FROM split WHERE rest <> ''
)
INSERT OR IGNORE INTO autocc_held(bug_id, pos, login)
	SELECT bug_id, pos, login FROM split WHERE pos > 0 AND login <> '' AND bug_id > 0;

-- One row per thing that can be in trouble: its last episode's state
-- ("trouble", "down", "refused" or "ok") and how many episodes were told,
-- so a restart neither repeats an alert nor loses its recovery line.
CREATE TABLE episodes (
	kind    TEXT    NOT NULL, -- channel_trouble, channel_refuses, network_down, bugzilla_key
	subject TEXT    NOT NULL, -- the channel's key or the network; '' for the API key
	state   TEXT    NOT NULL,
	number  INTEGER NOT NULL,
	PRIMARY KEY (kind, subject)
) WITHOUT ROWID;

INSERT INTO episodes(kind, subject, state, number)
	SELECT substr(key, 1, instr(key, ':') - 1), substr(key, instr(key, ':') + 1),
		substr(value, 1, instr(value || ':', ':') - 1),
		CAST(substr(value, instr(value || ':', ':') + 1) AS INTEGER)
	FROM kv
	WHERE key GLOB 'channel_trouble:*' OR key GLOB 'channel_refuses:*' OR key GLOB 'network_down:*';

INSERT INTO episodes(kind, subject, state, number)
	SELECT 'bugzilla_key', '', substr(value, 1, instr(value || ':', ':') - 1),
		CAST(substr(value, instr(value || ':', ':') + 1) AS INTEGER)
	FROM kv WHERE key = 'bugzilla_key_state';

-- While Bugzilla refuses the API key: the watch cursor from before the
-- first read without it (one row at most).
CREATE TABLE key_outage (
	one   INTEGER PRIMARY KEY CHECK (one = 1),
	since INTEGER NOT NULL -- Unix nanoseconds
);

INSERT INTO key_outage(one, since)
	SELECT 1, CAST(value AS INTEGER) FROM kv WHERE key = 'bugzilla_key_outage';

DELETE FROM kv WHERE key GLOB 'autocc_held:*' OR key GLOB 'channel_trouble:*'
	OR key GLOB 'channel_refuses:*' OR key GLOB 'network_down:*'
	OR key IN ('bugzilla_key_state', 'bugzilla_key_outage');
