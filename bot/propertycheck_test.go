// SPDX-License-Identifier: GPL-3.0-or-later

package bot_test

import (
	"strings"

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

// checkAutoCC replays each bug's history in Bugzilla: no CC change may add
// anyone but restricted_auto_cc while the bug is in a group.
func (p *propertyRun) checkAutoCC() {
	for id, m := range p.w.bugs {
		bug, ok := p.h.srv.Bug(id)
		if !ok {
			continue // deleted
		}
		groups := map[string]bool{}
		if m.filedRestricted {
			groups["security"] = true
		}
		for _, e := range bug.History {
			for _, c := range e.Changes {
				switch c.Field {
				case "groups":
					for _, g := range strings.Split(c.Removed, ", ") {
						delete(groups, g)
					}
					for _, g := range strings.Split(c.Added, ", ") {
						if g != "" {
							groups[g] = true
						}
					}
				case "cc":
					for _, l := range strings.Split(c.Added, ", ") {
						if len(groups) > 0 && l != "" && l != "bob@gentoo.org" {
							p.t.Errorf("bug %d: %s added %s to the CC while the bug was restricted (%s)", id, e.Who, l, e.When)
						}
					}
				}
			}
		}
	}
}
