// SPDX-License-Identifier: GPL-3.0-or-later

package bot

// Reading and judging records for the CVE watch: the baseline of a new
// database and the re-judging when the trees or their ebuilds change.

import (
	"context"
	"encoding/hex"

	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/cvereport"
	"github.com/ksecbot/ksecbot/kernelcve"
	"github.com/ksecbot/ksecbot/store"
)

// unreadable notes a record the scan cannot read for /healthz, and logs
// it once per error.
func (w *CVEWatch) unreadable(id string, err error) {
	w.skipped[id] = err.Error()
	if w.bad[id] == err.Error() {
		return
	}
	w.bad[id] = err.Error()
	w.log.Warn("kernel CVE record skipped: it cannot be read (tried again at every scan)", "cve", id, "err", err)
}

// judged is a record read and judged.
type judged struct {
	entry kernelcve.Entry
	rec   store.CVERecord
	rows  []store.CVEExposure
}

// judge reads and judges one record; ok is false when it cannot be read.
func (w *CVEWatch) judge(ch *cvereport.Checker, trees []config.Tree, e kernelcve.Entry) (judged, bool) {
	rec, sum, err := kernelcve.ReadRecord(e.Stamp.Path, e.ID, e.Rejected)
	if err != nil {
		w.unreadable(e.ID, err)
		return judged{}, false
	}
	delete(w.bad, e.ID)
	s := e.Stamp
	j := judged{entry: e, rec: store.CVERecord{ID: e.ID, Rejected: e.Rejected, MTime: s.ModTime, Size: s.Size,
		DyadMTime: s.DyadModTime, DyadSize: s.DyadSize, Sum: hex.EncodeToString(sum[:])}}
	if e.Rejected {
		return j, true // a rejected record affects nothing: no rows
	}
	rep := ch.ReportRecord(rec, trees)
	for _, tv := range rep.Rollup {
		if tv.Status == kernelcve.Affected {
			j.rec.Affects = append(j.rec.Affects, tv.Tree)
		}
	}
	for _, it := range rep.Trees {
		if it.Error != "" || (it.Status != string(kernelcve.Affected) && it.Status != string(kernelcve.Unknown)) {
			continue
		}
		j.rows = append(j.rows, store.CVEExposure{Tree: it.Tree, CVE: e.ID, Package: it.Package, Ebuild: it.Ebuild, Version: it.Version,
			Stable: it.Stable, Status: it.Status, Fix: it.Fix, Note: it.Note})
	}
	return j, true
}

// baseline judges every record of a new database and stores them in
// chunks, announcing nothing; the basis, written with the last chunk,
// marks it done (a baseline cut short starts again).
func (w *CVEWatch) baseline(ctx context.Context, ch *cvereport.Checker, cfg *config.Config, entries []kernelcve.Entry, basis string, res *CVEScanResult) error {
	for start := 0; start < len(entries) || start == 0; start += w.chunk {
		chunk := entries[start:min(start+w.chunk, len(entries))]
		sc := store.CVEScan{Exposure: map[string][]store.CVEExposure{}}
		for _, e := range chunk {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			j, ok := w.judge(ch, cfg.Trees, e)
			if !ok {
				res.Unreadable++
				continue
			}
			sc.Records = append(sc.Records, j.rec)
			sc.Exposure[e.ID] = j.rows
		}
		if start+w.chunk >= len(entries) {
			sc.Basis = &basis
		}
		if err := w.store.SaveCVEScan(ctx, sc); err != nil {
			return err
		}
		for _, r := range sc.Records {
			w.known[r.ID] = stampOfRecord(r)
		}
		if w.chunkEnd != nil {
			w.chunkEnd()
		}
	}
	w.basis = basis
	w.log.Info("kernel CVE watch: baseline stored, nothing announced; records added or changed from now on are announced", "records", len(w.known))
	return nil
}

// rejudge judges again the records that did not change, because the
// trees or their ebuilds did; nothing is announced (the feed is about
// records; !exposure about the trees as they are).
func (w *CVEWatch) rejudge(ctx context.Context, ch *cvereport.Checker, cfg *config.Config, entries []kernelcve.Entry, res *CVEScanResult) error {
	for start := 0; start < len(entries); start += w.chunk {
		sc := store.CVEScan{Exposure: map[string][]store.CVEExposure{}}
		for _, e := range entries[start:min(start+w.chunk, len(entries))] {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			j, ok := w.judge(ch, cfg.Trees, e)
			if !ok {
				res.Unreadable++
				continue
			}
			prev, _, err := w.store.CVERecord(ctx, e.ID)
			if err != nil {
				return err
			}
			j.rec.Announced = prev.Announced
			sc.Records = append(sc.Records, j.rec)
			sc.Exposure[e.ID] = j.rows
			res.Rejudged++
		}
		if err := w.store.SaveCVEScan(ctx, sc); err != nil {
			return err
		}
	}
	return nil
}
