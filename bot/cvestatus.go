// SPDX-License-Identifier: GPL-3.0-or-later

package bot

// The kernel CVE watch's health, as /healthz, /metrics, the status page
// and !exposure tell it.

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ksecbot/ksecbot/commands"
)

// CVEStatus is how the kernel CVE watch is doing: the scan under way (the
// first of a fresh database is its baseline), the last successful scan,
// the records it cannot read, and the episode of failed scans under way.
// An episode begins with a failed scan, or a clone git has been updating
// for longer than cveBusyTooLong, and ends with the next successful scan;
// it is logged once when it begins and once when it ends, and /healthz
// names it meanwhile. It outlives reloads. Safe for concurrent use.
type CVEStatus struct {
	mu          sync.Mutex
	on          bool      // the watch scans ([kernel_cve] with a scan_interval)
	scanStart   time.Time // the scan under way began; zero when none runs
	baseline    bool      // the scan under way is the baseline of a fresh database
	lastSuccess time.Time
	failSince   time.Time         // the episode of failures began; zero when scans work
	problem     string            // the episode's latest failure
	busySince   time.Time         // git was updating the clone at every scan since; zero when not
	skipped     map[string]string // records the last successful scan could not read, and why
	errors      int64             // failed scans
}

var _ commands.CVEWatchState = (*CVEStatus)(nil)

// cveBusyTooLong is how long git may be updating the clone before the
// scans count as failing: a pull takes seconds to a minute or two, and
// one still under way after this has hung, or left .git/index.lock behind.
const cveBusyTooLong = 10 * time.Minute

// cveSkippedShown is how many unreadable records /healthz names.
const cveSkippedShown = 3

// setOn records whether the watch scans.
func (s *CVEStatus) setOn(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.on = on
}

// begin records a scan starting at now; baseline says it is the first
// of a fresh database.
func (s *CVEStatus) begin(now time.Time, baseline bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.on, s.scanStart, s.baseline = true, now, baseline
}

// end records that the scan under way ended without a verdict (stopped).
func (s *CVEStatus) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scanStart, s.baseline = time.Time{}, false
}

// busy records a scan that found git updating the clone; tooLong says it
// has been so at every scan for cveBusyTooLong, and since when.
func (s *CVEStatus) busy(now time.Time) (since time.Time, tooLong bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scanStart, s.baseline = time.Time{}, false
	if s.busySince.IsZero() {
		s.busySince = now
	}
	return s.busySince, now.Sub(s.busySince) >= cveBusyTooLong
}

// fail records a failed scan (busy: git has been updating the clone
// too long); began says it begins an episode, changed that the episode's
// failure is another than before.
func (s *CVEStatus) fail(now time.Time, problem string, busy bool) (began, changed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scanStart, s.baseline = time.Time{}, false
	if !busy {
		s.busySince = time.Time{}
	}
	s.errors++
	began, changed = s.failSince.IsZero(), s.problem != problem
	if began {
		s.failSince = now
	}
	s.problem = problem
	return began, changed
}

// succeed records a successful scan and the records it could not read;
// ended says it ends an episode of failures that began at since.
func (s *CVEStatus) succeed(now time.Time, skipped map[string]string) (since time.Time, ended bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	since, ended = s.failSince, !s.failSince.IsZero()
	s.scanStart, s.baseline, s.lastSuccess = time.Time{}, false, now
	s.failSince, s.problem, s.busySince = time.Time{}, "", time.Time{}
	s.skipped = skipped
	return since, ended
}

// FirstScan returns when the scan under way began if it is the baseline
// of a fresh database (!exposure has no data until it ends).
func (s *CVEStatus) FirstScan() (started time.Time, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.scanStart, s.baseline
}

// FailingSince returns when the scans began failing; zero while they work.
func (s *CVEStatus) FailingSince() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failSince
}

// cveHealth is a copy of the status for one reader.
type cveHealth struct {
	on                                bool
	scanStart, lastSuccess, failSince time.Time
	baseline                          bool
	problem                           string
	skipped                           map[string]string
	errors                            int64
}

func (s *CVEStatus) health() cveHealth {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cveHealth{on: s.on, scanStart: s.scanStart, lastSuccess: s.lastSuccess, failSince: s.failSince, baseline: s.baseline,
		problem: s.problem, skipped: s.skipped, errors: s.errors}
}

// Problems are /healthz's lines about the kernel CVE data: the episode of
// failed scans, the records that cannot be read; none while all is well.
func (s *CVEStatus) Problems() []string {
	h := s.health()
	if !h.on {
		return nil
	}
	var out []string
	if p := h.failure(); p != "" {
		out = append(out, "kernel CVE data: "+p)
	}
	if p := h.unreadable(); p != "" {
		out = append(out, "kernel CVE data: "+p)
	}
	return out
}

// failure describes the episode of failed scans, "" when none.
func (h cveHealth) failure() string {
	if h.failSince.IsZero() {
		return ""
	}
	last := "no successful scan yet"
	if !h.lastSuccess.IsZero() {
		last = "the last successful scan was at " + stamp(h.lastSuccess) + "; !exposure and the feed use the data of that scan"
	}
	return fmt.Sprintf("scans failing since %s: %s (%s)", stamp(h.failSince), h.problem, last)
}

// unreadable names the records the last scan skipped, "" when none.
func (h cveHealth) unreadable() string {
	if len(h.skipped) == 0 {
		return ""
	}
	ids := slices.Sorted(maps.Keys(h.skipped))
	var named []string
	for _, id := range ids[:min(len(ids), cveSkippedShown)] {
		named = append(named, id+": "+h.skipped[id])
	}
	if more := len(ids) - len(named); more > 0 {
		named = append(named, fmt.Sprintf("and %d more (in the log)", more))
	}
	what := "1 record cannot be read and is"
	if len(ids) > 1 {
		what = fmt.Sprintf("%d records cannot be read and are", len(ids))
	}
	return what + " left out (read again at every scan): " + strings.Join(named, "; ")
}

// stamp is a time as /healthz writes it.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 MST") }
