// SPDX-License-Identifier: GPL-3.0-or-later

// The kernel CVE watch's memory: what it has seen of each record of the
// vulns clone, and the versions each record affects.

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// CVERecord is what the CVE watch remembers of one record.
type CVERecord struct {
	ID       string
	Rejected bool
	// The JSON's and the .dyad's modification times (Unix nanoseconds)
	// and sizes as last scanned; the .dyad's are 0 without one.
	MTime, Size, DyadMTime, DyadSize int64
	Sum                              string   // SHA-256 of both files' contents, hex
	Affects                          []string // the trees it affected when last judged
	Announced                        time.Time
}

// CVEExposure is one version a CVE affects (or leaves undecided) in a
// tree.
type CVEExposure struct {
	Tree, CVE, Package, Ebuild, Version string
	Stable                              bool
	Status, Fix, Note                   string
}

// CVEScan is what one scan of the CVE watch writes, in one transaction.
type CVEScan struct {
	// Records replace the stored state of these records.
	Records []CVERecord
	// Exposure replaces the rows of each CVE it names (an empty list
	// removes them).
	Exposure map[string][]CVEExposure
	// Basis, when set, records what the exposure rows were judged
	// against (the trees and their packages' ebuilds).
	Basis *string
	// Intents are the feed lines to queue (exactly once, like any
	// intent).
	Intents []Intent
}

// kvCVEBasis is the kv key of the CVE exposure's basis.
const kvCVEBasis = "cve_basis"

// CVERecords returns every record the CVE watch has seen, by id.
func (s *Store) CVERecords(ctx context.Context) (map[string]CVERecord, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, rejected, mtime, size, dyad_mtime, dyad_size, sum, affects, announced FROM cve_records`)
	if err != nil {
		return nil, fmt.Errorf("failed to read the CVE records seen: %w", err)
	}
	defer rows.Close()
	out := map[string]CVERecord{}
	for rows.Next() {
		r, err := scanCVERecord(rows)
		if err != nil {
			return nil, err
		}
		out[r.ID] = r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to read the CVE records seen: %w", err)
	}
	return out, nil
}

// CVERecord returns what the CVE watch remembers of one record.
func (s *Store) CVERecord(ctx context.Context, id string) (CVERecord, bool, error) {
	row := s.db.QueryRowContext(ctx, `SELECT id, rejected, mtime, size, dyad_mtime, dyad_size, sum, affects, announced FROM cve_records WHERE id = ?`, id)
	r, err := scanCVERecord(row)
	if errors.Is(err, sql.ErrNoRows) {
		return CVERecord{}, false, nil
	}
	if err != nil {
		return CVERecord{}, false, err
	}
	return r, true, nil
}

func scanCVERecord(row interface{ Scan(...any) error }) (CVERecord, error) {
	var r CVERecord
	var rejected, announced int64
	var affects string
	if err := row.Scan(&r.ID, &rejected, &r.MTime, &r.Size, &r.DyadMTime, &r.DyadSize, &r.Sum, &affects, &announced); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return r, err
		}
		return r, fmt.Errorf("failed to read a CVE record seen: %w", err)
	}
	r.Rejected, r.Affects, r.Announced = rejected != 0, strings.Fields(affects), fromTS(announced)
	return r, nil
}

// CVEBasis returns what the exposure rows were judged against ("" when
// they never were).
func (s *Store) CVEBasis(ctx context.Context) (string, error) {
	v, _, err := s.getKV(ctx, kvCVEBasis)
	return v, err
}

// SaveCVEScan writes a scan's records, exposure rows, basis and feed
// intents in one transaction: a scan is recorded whole or not at all, so
// a crash repeats it (its intents keep their keys: exactly once).
func (s *Store) SaveCVEScan(ctx context.Context, sc CVEScan) error {
	now := s.now()
	return s.tx(ctx, func(tx *sql.Tx) error {
		rec, err := tx.PrepareContext(ctx, `INSERT INTO cve_records(id, rejected, mtime, size, dyad_mtime, dyad_size, sum, affects, announced, seen_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT(id) DO UPDATE SET rejected = excluded.rejected, mtime = excluded.mtime, size = excluded.size,
				dyad_mtime = excluded.dyad_mtime, dyad_size = excluded.dyad_size, sum = excluded.sum,
				affects = excluded.affects, announced = excluded.announced`)
		if err != nil {
			return fmt.Errorf("failed to prepare the CVE records: %w", err)
		}
		defer rec.Close()
		for _, r := range sc.Records {
			if _, err := rec.ExecContext(ctx, r.ID, boolInt(r.Rejected), r.MTime, r.Size, r.DyadMTime, r.DyadSize, r.Sum,
				strings.Join(r.Affects, " "), ts(r.Announced), ts(now)); err != nil {
				return fmt.Errorf("failed to store CVE record %s: %w", r.ID, err)
			}
		}
		if len(sc.Exposure) > 0 {
			del, err := tx.PrepareContext(ctx, "DELETE FROM cve_exposure WHERE cve = ?")
			if err != nil {
				return fmt.Errorf("failed to prepare the CVE exposure: %w", err)
			}
			defer del.Close()
			ins, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO cve_exposure(tree, cve, package, ebuild, version, stable, status, fix, note)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
			if err != nil {
				return fmt.Errorf("failed to prepare the CVE exposure: %w", err)
			}
			defer ins.Close()
			for cve, rows := range sc.Exposure {
				if _, err := del.ExecContext(ctx, cve); err != nil {
					return fmt.Errorf("failed to clear the exposure of %s: %w", cve, err)
				}
				for _, e := range rows {
					if _, err := ins.ExecContext(ctx, e.Tree, e.CVE, e.Package, e.Ebuild, e.Version, boolInt(e.Stable), e.Status, e.Fix, e.Note); err != nil {
						return fmt.Errorf("failed to store the exposure of %s: %w", cve, err)
					}
				}
			}
		}
		if sc.Basis != nil {
			if _, err := tx.ExecContext(ctx, `INSERT INTO kv(key, value) VALUES (?, ?)
				ON CONFLICT(key) DO UPDATE SET value = excluded.value`, kvCVEBasis, *sc.Basis); err != nil {
				return fmt.Errorf("failed to store the CVE exposure basis: %w", err)
			}
		}
		return enqueue(ctx, tx, now, sc.Intents)
	})
}

// CVEExposureOf returns the rows of a tree (any case), by CVE.
func (s *Store) CVEExposureOf(ctx context.Context, tree string) ([]CVEExposure, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT tree, cve, package, ebuild, version, stable, status, fix, note
		FROM cve_exposure WHERE tree = ? COLLATE NOCASE ORDER BY cve, package, ebuild`, tree)
	if err != nil {
		return nil, fmt.Errorf("failed to read the exposure of %s: %w", tree, err)
	}
	defer rows.Close()
	var out []CVEExposure
	for rows.Next() {
		var e CVEExposure
		var stable int
		if err := rows.Scan(&e.Tree, &e.CVE, &e.Package, &e.Ebuild, &e.Version, &stable, &e.Status, &e.Fix, &e.Note); err != nil {
			return nil, fmt.Errorf("failed to read the exposure of %s: %w", tree, err)
		}
		e.Stable = stable != 0
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to read the exposure of %s: %w", tree, err)
	}
	return out, nil
}

// CVEPublished counts the published records the CVE watch has seen.
func (s *Store) CVEPublished(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM cve_records WHERE rejected = 0").Scan(&n); err != nil {
		return 0, fmt.Errorf("failed to count the CVE records seen: %w", err)
	}
	return n, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
