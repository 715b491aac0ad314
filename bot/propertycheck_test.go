// SPDX-License-Identifier: GPL-3.0-or-later

package bot_test

import (
	"strconv"
	"strings"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
)

// verify checks the sequence's end state: no leak, no CC onto a
// restricted bug but restricted_auto_cc, exactly once, nothing in the log.
func (p *propertyRun) verify(logs string, seed uint64, steps int) {
	t, w := p.t, p.w
	sent, leaks := w.snapshot()
	t.Logf("seed %d: %d steps, %d bugs, %d lines sent; sequence: %s", seed, steps, len(w.bugs), len(sent), strings.Join(p.log, "; "))
	for _, l := range leaks {
		t.Errorf("leak: %s", l)
	}
	p.checkAutoCC()
	// Exactly once: no key twice; every bug ksecbot ever had announced
	// (alone or in a digest) once per channel, and once more each time it
	// came back in sight; every restricted <-> public change the mirror
	// saw told once per channel.
	keys := map[string]int{}
	got := map[string]map[int]int{}     // channel -> bug -> announcements
	changes := map[string]map[int]int{} // channel -> bug -> change lines
	for _, m := range sent {
		keys[m.Key]++
		if got[m.Channel] == nil {
			got[m.Channel], changes[m.Channel] = map[int]int{}, map[int]int{}
		}
		for _, id := range m.BugIDs {
			switch m.Kind {
			case chat.KindAnnounce, chat.KindDigest:
				got[m.Channel][id]++
			case chat.KindChange:
				changes[m.Channel][id]++
			}
		}
	}
	for k, n := range keys {
		if n > 1 {
			t.Errorf("message %s sent %d times", k, n)
		}
	}
	for _, ch := range w.channels {
		for id, m := range w.bugs {
			want := 0
			if m.mirrored {
				want = 1 + m.comebacks
			}
			if n := got[ch.Key][id]; n != want {
				t.Errorf("bug %d announced %d times in %s, want %d", id, n, ch.Name, want)
			}
			if n := changes[ch.Key][id]; n != m.toggles {
				t.Errorf("bug %d: %d change lines in %s, want %d (one per restricted/public change the mirror saw)", id, n, ch.Name, m.toggles)
			}
		}
	}
	// No summary in the log at info level (restricted or not: the log is
	// not a channel).
	for _, m := range w.bugs {
		if strings.Contains(logs, m.summaryWord) || strings.Contains(logs, m.boardWord) {
			t.Errorf("the info log contains the summary or whiteboard of bug %d", m.id)
		}
	}
}

// checkAutoCC goes through the requests the Bugzilla test server
// answered: every PUT that added a login other than restricted_auto_cc to
// a bug must follow a read of that bug (auto-CC's read by id) answered
// while the bug was in no group. Bugzilla 5.0 has no conditional write: a
// bug restricted between that read and the PUT (milliseconds) is a race
// the read cannot see; those are counted and logged, not failed.
func (p *propertyRun) checkAutoCC() {
	reqs := p.h.srv.Requests()
	lastRead := map[int]int{}
	races := 0
	for i, r := range reqs {
		if r.Method == "GET" && r.Path == "/rest/bug" && r.Query.Get("include_fields") == "id,groups,status,resolution,product,component,cc" {
			for _, v := range strings.Split(r.Query.Get("id"), ",") {
				if id, err := strconv.Atoi(v); err == nil {
					lastRead[id] = i
				}
			}
		}
		if r.Method != "PUT" {
			continue
		}
		for _, id := range putBugs(r) {
			m := p.w.bugs[id]
			for _, l := range ccAdded([]bugzillatest.Request{r}, id) {
				if l == "bob@gentoo.org" || m == nil {
					continue
				}
				j, read := lastRead[id]
				switch {
				case !read:
					p.t.Errorf("request %d: %s CC'd onto bug %d with no read of it before", i, l, id)
				case m.restrictedAt(j):
					p.t.Errorf("request %d: %s CC'd onto bug %d, which the read before it (request %d) showed restricted", i, l, id, j)
				case m.restrictedAt(i):
					races++
				}
			}
		}
	}
	if races > 0 {
		p.t.Logf("%d logins CC'd onto a bug restricted between auto-CC's read and its write (no conditional write in Bugzilla 5.0)", races)
	}
}

// putBugs returns the bugs a PUT changes (its path, or "ids" in the body).
func putBugs(r bugzillatest.Request) []int {
	if v, ok := r.Body["ids"].([]any); ok {
		var ids []int
		for _, x := range v {
			if f, ok := x.(float64); ok {
				ids = append(ids, int(f))
			}
		}
		return ids
	}
	id, err := strconv.Atoi(strings.TrimPrefix(r.Path, "/rest/bug/"))
	if err != nil {
		return nil
	}
	return []int{id}
}
