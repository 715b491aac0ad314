-- 0004: a skipped outbox row has its own state. Before, MarkSkipped set
-- sent_at like MarkSent did, and only last_error ("skipped: ...") told a
-- message the channel never got from one it got. Now sent_at is set only
-- for messages a network accepted, and skipped_at for messages done
-- without being sent (the channel may see nothing of them); a row is
-- waiting while both are 0.
ALTER TABLE outbox ADD COLUMN skipped_at INTEGER NOT NULL DEFAULT 0;

-- Rows skipped by an older ksecbot: marked "skipped: ", with no network
-- message ID and no announcement (a sent message has one or the other,
-- unless it was a notice sent on IRC that a later MarkSkipped relabelled,
-- which the deliverer never does).
UPDATE outbox SET skipped_at = sent_at, sent_at = 0
	WHERE sent_at <> 0 AND last_error LIKE 'skipped: %' AND network_id = ''
	AND NOT EXISTS (SELECT 1 FROM announcements a WHERE a.outbox_id = outbox.id);

-- The waiting rows, and the done ones that retention prunes.
DROP INDEX outbox_unsent;
CREATE INDEX outbox_unsent ON outbox(channel, id) WHERE sent_at = 0 AND skipped_at = 0;
CREATE INDEX outbox_skipped ON outbox(skipped_at) WHERE skipped_at <> 0;
