-- 0006: the kernel CVE watch. What it has seen of each record of the
-- vulns clone (to tell new, changed and rejected records at the next scan
-- without reading the others), and the versions each record affects (what
-- !exposure answers from). Holds only public kernel CNA data.

CREATE TABLE cve_records (
	id          TEXT    PRIMARY KEY, -- CVE-2025-21638
	rejected    INTEGER NOT NULL,    -- found under cve/rejected/
	mtime       INTEGER NOT NULL,    -- the JSON's modification time and size
	size        INTEGER NOT NULL,
	dyad_mtime  INTEGER NOT NULL,    -- the .dyad's, 0 without one
	dyad_size   INTEGER NOT NULL,
	sum         TEXT    NOT NULL,    -- SHA-256 of both files' contents
	affects     TEXT    NOT NULL DEFAULT '', -- the trees it affected when last judged, space-separated
	announced   INTEGER NOT NULL DEFAULT 0,  -- when a feed line about it was queued; 0 never
	seen_at     INTEGER NOT NULL
) WITHOUT ROWID;

-- One row per (tree, CVE, version) the CVE affects or leaves undecided.
CREATE TABLE cve_exposure (
	tree    TEXT    NOT NULL,
	cve     TEXT    NOT NULL,
	package TEXT    NOT NULL,
	ebuild  TEXT    NOT NULL, -- the ebuild's version, 5.10.255_p3
	version TEXT    NOT NULL, -- the upstream version, 5.10.255
	stable  INTEGER NOT NULL,
	status  TEXT    NOT NULL, -- affected or unknown
	fix     TEXT    NOT NULL DEFAULT '',
	note    TEXT    NOT NULL DEFAULT '',
	PRIMARY KEY (tree, cve, package, ebuild)
) WITHOUT ROWID;
CREATE INDEX cve_exposure_cve ON cve_exposure(cve);
