-- 0003: outbox rows are intents (kind, bugs, event, channel, due) that the
-- deliverer renders at send time, through the visibility policy, from the
-- current mirror and channel configuration; old rows and events can be
-- pruned after [store] retention.

-- Rows queued by an older ksecbot hold rendered text. Announcements,
-- digests and reminders become intents: their text is dropped and they are
-- rendered again when sent. Change lines take their event's data, when the
-- event is still there; the rest keep their text, which the deliverer sends
-- only when the channel may now see every bug it names in full.
UPDATE outbox SET msg = json_remove(msg, '$.lines', '$.detail', '$.target', '$.notice')
	WHERE sent_at = 0 AND kind IN ('announce', 'digest', 'remind');
UPDATE outbox SET msg = json_remove(json_set(msg, '$.event', json((
		SELECT json_object('id', e.id, 'kind', e.kind, 'old', e.old, 'new', e.new)
		FROM events e WHERE outbox.key = 'change/' || e.id || '/' || outbox.channel))),
		'$.lines', '$.detail', '$.target', '$.notice')
	WHERE sent_at = 0 AND kind = 'change'
	AND EXISTS (SELECT 1 FROM events e WHERE outbox.key = 'change/' || e.id || '/' || outbox.channel);

-- Keys of pruned outbox rows: a message once sent is never queued again,
-- even after its row is gone. Keys name only kinds, bug or event numbers
-- and channels.
CREATE TABLE sent_keys (
	key     TEXT PRIMARY KEY,
	sent_at INTEGER NOT NULL
) WITHOUT ROWID;

-- announcements without the foreign key to outbox, so sent outbox rows can
-- be pruned; announcements keep no bug details and stay (reminders, stats).
CREATE TABLE announcements_new (
	bug_id     INTEGER NOT NULL,
	channel    TEXT    NOT NULL,
	kind       TEXT    NOT NULL,
	at         INTEGER NOT NULL,
	network_id TEXT    NOT NULL DEFAULT '',
	outbox_id  INTEGER NOT NULL
);
INSERT INTO announcements_new(bug_id, channel, kind, at, network_id, outbox_id)
	SELECT bug_id, channel, kind, at, network_id, outbox_id FROM announcements;
DROP TABLE announcements;
ALTER TABLE announcements_new RENAME TO announcements;
CREATE INDEX announcements_channel ON announcements(channel, at);
CREATE INDEX announcements_bug ON announcements(bug_id);

CREATE INDEX outbox_sent ON outbox(sent_at) WHERE sent_at <> 0;
CREATE INDEX events_processed ON events(processed_at) WHERE processed_at <> 0;
