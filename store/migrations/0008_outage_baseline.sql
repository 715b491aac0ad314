-- 0008: whether a fresh database's baseline was read during the key
-- outage (without the key it misses the restricted bugs: they are read
-- again when the key works).
ALTER TABLE key_outage ADD COLUMN baseline INTEGER NOT NULL DEFAULT 0;
