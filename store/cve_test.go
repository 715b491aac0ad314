// SPDX-License-Identifier: GPL-3.0-or-later

package store

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/chat"
)

// TestCVEScanRoundTrip: a scan's records, exposure rows, basis and feed
// intents are stored together; a record written again replaces its
// state, a CVE's rows are replaced as a whole, and a feed intent queued
// again (a scan repeated after a crash) is not queued twice.
func TestCVEScanRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := openAt(t, filepath.Join(t.TempDir(), "k.db"), newClock())
	if basis, err := s.CVEBasis(ctx); err != nil || basis != "" {
		t.Fatalf("basis of a new database: %q %v", basis, err)
	}
	announced := time.Date(2026, 8, 21, 10, 0, 0, 0, time.UTC)
	rec := CVERecord{ID: "CVE-2025-40039", MTime: 1, Size: 2, DyadMTime: 3, DyadSize: 4, Sum: "abc", Affects: []string{"rt-sources", "vanilla-sources"}, Announced: announced}
	row := CVEExposure{Tree: "rt-sources", CVE: "CVE-2025-40039", Package: "sys-kernel/rt-sources", Ebuild: "6.1.112_p43", Version: "6.1.112", Status: "affected", Note: "from the .dyad"}
	feed := Intent{Key: chat.MessageKey(chat.KindCVE, "CVE-2025-40039", "irc:#k"), Kind: chat.KindCVE, Channel: "irc:#k",
		CVE: &CVEIntent{What: CVENew, IDs: []string{"CVE-2025-40039"}}}
	basis := "b1"
	sc := CVEScan{Records: []CVERecord{rec}, Exposure: map[string][]CVEExposure{rec.ID: {row}}, Basis: &basis, Intents: []Intent{feed}}
	for range 2 {
		if err := s.SaveCVEScan(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}
	got, ok, err := s.CVERecord(ctx, rec.ID)
	if err != nil || !ok || !reflect.DeepEqual(got, rec) {
		t.Errorf("record %+v %v %v, want %+v", got, ok, err, rec)
	}
	rows, err := s.CVEExposureOf(ctx, "RT-sources")
	if err != nil || len(rows) != 1 || rows[0] != row {
		t.Errorf("rows %+v %v", rows, err)
	}
	items, err := s.NextOutbox(ctx, nil, 0)
	if err != nil || len(items) != 1 || items[0].Msg.CVE == nil || items[0].Msg.CVE.IDs[0] != rec.ID {
		t.Fatalf("outbox %+v %v: want the feed intent once", items, err)
	}
	if b, _ := s.CVEBasis(ctx); b != "b1" {
		t.Errorf("basis %q", b)
	}
	// Rejected: no rows any more, the record's state replaced.
	rec.Rejected, rec.Affects = true, nil
	if err := s.SaveCVEScan(ctx, CVEScan{Records: []CVERecord{rec}, Exposure: map[string][]CVEExposure{rec.ID: nil}}); err != nil {
		t.Fatal(err)
	}
	if rows, _ := s.CVEExposureOf(ctx, "rt-sources"); len(rows) != 0 {
		t.Errorf("rows of a rejected record: %+v", rows)
	}
	all, err := s.CVERecords(ctx)
	if err != nil || len(all) != 1 || !all[rec.ID].Rejected {
		t.Errorf("records %+v %v", all, err)
	}
	if n, _ := s.CVEPublished(ctx); n != 0 {
		t.Errorf("published = %d, want 0", n)
	}
}
