-- 0009: when ksecbot last wrote a bug's mirror copy from its own write to
-- Bugzilla (ApplyUpdate), in real Unix nanoseconds (0: not since a read).
-- Bugzilla's times have one-second precision, so a copy read before that
-- write but saved after it can carry the same last_change_time: it is
-- stale, not a second change within the second.
ALTER TABLE bugs ADD COLUMN own_write_at INTEGER NOT NULL DEFAULT 0;
