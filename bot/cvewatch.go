// SPDX-License-Identifier: GPL-3.0-or-later

package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/cvereport"
	"github.com/ksecbot/ksecbot/kernelcve"
	"github.com/ksecbot/ksecbot/policy"
	"github.com/ksecbot/ksecbot/store"
)

// CVEWatch is the kernel CVE watch: every [kernel_cve] scan_interval it
// rescans the vulns clone (after the operator's timer pulled it), and
// for each record added, changed or rejected since the last scan it
// judges the trees and queues, through the outbox, a line for the
// channels with cve_feed: one per record that affects a tree, a digest
// per tree for a burst, a follow-up for an announced record that was
// rejected. What it has seen is in the store: the first scan of a new
// database is a silent baseline, and a restart repeats nothing. It also
// keeps the versions each record affects, which !exposure answers from.
type CVEWatch struct {
	current  func() cveConfig      // the configuration in effect at each scan
	channels func() []chat.Channel // every configured channel, as configured now
	store    *store.Store
	wake     *Wake
	log      *slog.Logger
	now      func() time.Time

	status   *CVEStatus           // what /healthz, /metrics, the status page and !exposure read
	mu       sync.Mutex           // one scan at a time
	known    map[string]seenStamp // id -> files as last scanned; nil until loaded
	basis    string               // what the exposure rows were judged against; "" before the baseline
	bad      map[string]string    // record id -> the read error logged for it
	skipped  map[string]string    // record id -> why the scan under way could not read it
	warned   bool                 // the "cve_feed but no watch" warning was logged
	chunk    int                  // records per transaction of a baseline or re-judging
	scans    atomic.Int64         // scans completed
	chunkEnd func()               // tests: called after each chunk of a baseline is stored
}

// seenStamp is what a scan compares: the files' times and sizes and the
// folder.
type seenStamp struct {
	mtime, size, dmtime, dsize int64
	rejected                   bool
}

func stampOf(e kernelcve.Entry) seenStamp {
	s := e.Stamp
	return seenStamp{s.ModTime, s.Size, s.DyadModTime, s.DyadSize, e.Rejected}
}

func stampOfRecord(r store.CVERecord) seenStamp {
	return seenStamp{r.MTime, r.Size, r.DyadMTime, r.DyadSize, r.Rejected}
}

// CVEScanResult is what one scan found and did.
type CVEScanResult struct {
	Baseline bool // the first scan of the database: nothing announced
	Records  int  // records in the clone
	// New, Changed and Rejected count the records published, changed or
	// moved to cve/rejected since the last scan.
	New, Changed, Rejected int
	// Announced are the records queued for the feed (new or changed, and
	// affecting a tree); Digest says they went as a digest.
	Announced []string
	Digest    bool
	// FollowUps are the rejected records that had been announced.
	FollowUps []string
	// Others counts the new or changed records that affect no tree.
	Others int
	// Rejudged counts records judged again because the trees or their
	// ebuilds changed.
	Rejudged int
	// Unreadable counts records skipped because they could not be read
	// (retried at the next scan).
	Unreadable int
}

// cveJudgeVersion is part of the exposure's basis: a ksecbot that judges
// records differently re-judges every record once.
const cveJudgeVersion = "2"

// busyRetry is how soon a scan that found a git pull under way is tried
// again.
const busyRetry = 2 * time.Second

// cveChunk is how many records a baseline or a re-judging writes per
// transaction.
const cveChunk = 500

// cveConfig is what the CVE watch reads of the configuration in effect:
// [kernel_cve] and the trees, and the CVE checker built from them.
// *Snapshot implements it.
type cveConfig interface {
	Config() *config.Config
	CVE() *cvereport.Checker
}

// NewCVEWatch returns the CVE watch of the configuration in effect at
// each scan, feeding the channels that want it and telling status how
// its scans go.
func NewCVEWatch(o Options, current func() cveConfig, channels func() []chat.Channel, wake *Wake, status *CVEStatus) *CVEWatch {
	o = o.WithDefaults()
	return &CVEWatch{current: current, channels: channels, store: o.Store, wake: wake, log: o.Logger.With("component", "cve-watch"), now: o.Now,
		status: status, bad: map[string]string{}, chunk: cveChunk}
}

// Loops returns the watch's loop.
func (w *CVEWatch) Loops() []Loop { return []Loop{{Name: "kernel CVE watch", Run: w.run}} }

// run scans at once (the first scan of a fresh database, its baseline,
// begins with the daemon), then every scan_interval, read anew each time
// (a reload may change it or turn the watch off: "0").
func (w *CVEWatch) run(ctx context.Context) error {
	for {
		wait := time.Minute // watch off: look again after a reload
		if k := w.current().Config().KernelCVE; k != nil && k.ScanInterval.Duration > 0 {
			wait = k.ScanInterval.Duration
			_, err := w.Scan(ctx)
			if errors.Is(err, kernelcve.ErrBusy) && w.status.FailingSince().IsZero() {
				// a git pull under way: look again when it is done
				wait = min(wait, busyRetry)
			}
		} else {
			w.status.setOn(false)
			w.warnFeedWithoutWatch()
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// warnFeedWithoutWatch logs once that channels want the feed while the
// watch is off.
func (w *CVEWatch) warnFeedWithoutWatch() {
	if w.warned {
		return
	}
	for _, ch := range w.channels() {
		if policy.CVEFeed(ch) {
			w.warned = true
			w.log.Warn("a channel has cve_feed = true but the kernel CVE watch is off: it needs [kernel_cve] with a scan_interval other than \"0\"", "channel", ch.Key)
			return
		}
	}
}

// settle tells the status how the scan went (err), and logs an episode
// of failures once when it begins and once when it ends. A clone git is
// updating is no failure until it has been so for cveBusyTooLong (a hung
// pull, or a stale .git/index.lock). It returns err, or the error that
// says git has held the clone too long.
func (w *CVEWatch) settle(ctx context.Context, root string, err error) error {
	now := w.now()
	switch {
	case err != nil && ctx.Err() != nil:
		w.status.end() // stopping: no verdict on the clone
		return err
	case errors.Is(err, kernelcve.ErrBusy):
		since, tooLong := w.status.busy(now)
		if !tooLong {
			w.log.Debug("kernel CVE scan postponed", "err", err)
			return err
		}
		err = fmt.Errorf("vulns clone %s: git has been updating the clone since %s: a git pull that hangs, or a crashed one that left .git/index.lock behind (remove that file if no git runs): %w",
			root, stamp(since), err)
	case err == nil:
		if since, ended := w.status.succeed(now, w.skipped); ended {
			w.log.Info("kernel CVE scans work again", "failing_since", since)
		}
		w.bad = w.skipped // a record read again is logged again when it breaks
		return nil
	}
	switch began, changed := w.status.fail(now, err.Error(), errors.Is(err, kernelcve.ErrBusy)); {
	case began:
		w.log.Error("kernel CVE scan failed; /healthz says so until a scan works (tried again at every scan)", "err", err)
	case changed:
		w.log.Warn("kernel CVE scans still fail, now for another reason", "err", err)
	default:
		w.log.Debug("kernel CVE scan failed again", "err", err)
	}
	return err
}

// Scans returns how many scans have completed (the first is the one the
// loop makes at start).
func (w *CVEWatch) Scans() int64 { return w.scans.Load() }

// Scan looks at the clone once: see CVEWatch. Safe for concurrent use
// (scans run one at a time).
func (w *CVEWatch) Scan(ctx context.Context) (CVEScanResult, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	defer w.scans.Add(1)
	lv := w.current() // one configuration for the whole scan
	cfg, ch := lv.Config(), lv.CVE()
	if ch == nil || cfg.KernelCVE == nil {
		return CVEScanResult{}, nil
	}
	start := w.now()
	var err error
	if w.known == nil {
		err = w.load(ctx) // once: what the store remembers
	}
	// Without a basis the database is fresh: this scan is its baseline.
	w.status.begin(start, err == nil && w.basis == "")
	w.skipped = map[string]string{}
	var res CVEScanResult
	if err == nil {
		res, err = w.scan(ctx, cfg, ch)
	}
	return res, w.settle(ctx, ch.Store.Root(), err)
}

// scan is Scan's work.
func (w *CVEWatch) scan(ctx context.Context, cfg *config.Config, ch *cvereport.Checker) (CVEScanResult, error) {
	var res CVEScanResult
	entries, err := ch.Store.Scan()
	if err != nil {
		return res, err
	}
	res.Records = len(entries)
	res.Baseline = w.basis == ""
	if !res.Baseline && len(entries) < len(w.known)/2 {
		return res, fmt.Errorf("vulns clone %s holds %d records, the watch has seen %d: not scanning a clone half gone (a git pull under way, or a broken checkout: git -C %s status)",
			ch.Store.Root(), len(entries), len(w.known), ch.Store.Root())
	}
	basis := w.basisOf(ch, cfg.Trees)
	var changed, same []kernelcve.Entry
	for _, e := range entries {
		if e.Err != nil {
			w.unreadable(e.ID, e.Err)
			res.Unreadable++
			continue
		}
		if k, ok := w.known[e.ID]; ok && k == stampOf(e) && !res.Baseline {
			same = append(same, e)
			continue
		}
		changed = append(changed, e)
	}
	if res.Baseline {
		return res, w.baseline(ctx, ch, cfg, changed, basis, &res)
	}
	if basis != w.basis {
		if err := w.rejudge(ctx, ch, cfg, same, &res); err != nil {
			return res, err
		}
	}
	if err := w.changes(ctx, ch, cfg, changed, basis, &res); err != nil {
		return res, err
	}
	if len(changed) > 0 || res.Rejudged > 0 {
		w.log.Info("kernel CVE scan", "records", res.Records, "new", res.New, "changed", res.Changed, "rejected", res.Rejected,
			"announced", len(res.Announced), "digest", res.Digest, "follow_ups", len(res.FollowUps), "affect_no_tree", res.Others, "rejudged", res.Rejudged)
	}
	return res, nil
}

// load reads what the store remembers.
func (w *CVEWatch) load(ctx context.Context) error {
	recs, err := w.store.CVERecords(ctx)
	if err != nil {
		return err
	}
	basis, err := w.store.CVEBasis(ctx)
	if err != nil {
		return err
	}
	w.known = make(map[string]seenStamp, len(recs))
	for id, r := range recs {
		w.known[id] = stampOfRecord(r)
	}
	w.basis = basis
	return nil
}

// basisOf identifies what the exposure rows are judged against: the
// trees, their packages' ebuilds (names, times, sizes) and their
// upstream_versions.
func (w *CVEWatch) basisOf(ch *cvereport.Checker, trees []config.Tree) string {
	h := sha256.New()
	fmt.Fprintf(h, "judge %s\n", cveJudgeVersion)
	for _, t := range trees {
		fmt.Fprintf(h, "tree %q\n", t.Name)
		for _, pv := range slices.Sorted(maps.Keys(t.UpstreamVersions)) {
			fmt.Fprintf(h, "map %q %q\n", pv, t.UpstreamVersions[pv])
		}
		for _, pkg := range t.Packages {
			st := "no repository"
			if ch.Repo != nil {
				var err error
				if st, err = ch.Repo.Stamp(pkg); err != nil {
					st = "error " + err.Error()
				}
			}
			fmt.Fprintf(h, "package %q %q\n", pkg, st)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
