// SPDX-License-Identifier: GPL-3.0-or-later

package bot_test

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
)

// The operations of TestEmbargoProperty's sequences that change a bug's
// visibility or the key, and the question asked in public channels.

// toggle restricts a public bug into the security group, or makes a
// restricted one public.
func (p *propertyRun) toggle(m *modelBug) {
	to := !m.restricted
	p.change(fmt.Sprintf("bug %d restricted=%v", m.id, to), func() {
		p.h.srv.UpdateBug(m.id, func(bg *bugzillatest.Bug) {
			if to {
				bg.Groups = []string{"security"}
			} else {
				bg.Groups = nil
			}
		})
		p.w.mu.Lock()
		m.restricted = to
		m.groups = append(m.groups, groupChange{after: len(p.h.srv.Requests()), restricted: to})
		p.w.mu.Unlock()
		if to && !p.keyOK {
			// While the key is refused no read shows a restriction: a
			// reconciliation (after any poll under way, which may store
			// the bug as it read it before) finds the bug missing and
			// makes it unconfirmed, which withholds it as well.
			if err := p.b.Intake.Watcher().ReconcileOnce(context.Background()); err != nil {
				p.t.Fatal(err)
			}
		}
	}, func() bool {
		r, gone, unconfirmed, ok := p.mirrorBug(m.id)
		switch {
		case !to:
			return ok && !r
		case p.keyOK:
			return ok && r
		}
		// filed restricted during the outage and never seen, or seen
		// and now withheld
		return !ok || r || gone || unconfirmed
	})
	p.logf("bug %d restricted=%v", m.id, to)
}

// outOfSight takes a bug out of ksecbot's sight in a way no search shows:
// restricted into a group its account is not in, wrangled to another
// component, or deleted. Deliveries go on: the bug is secret (but for a
// wrangled one) once the window has passed.
func (p *propertyRun) outOfSight(m *modelBug) {
	p.clock.Set(p.clock.Now().Add(time.Minute))
	var how string
	switch p.rng.IntN(3) {
	case 0:
		p.h.srv.UpdateBug(m.id, func(bg *bugzillatest.Bug) { bg.Groups = []string{"kernel-embargo"} })
		how = "restricted into kernel-embargo"
	case 1:
		p.h.srv.UpdateBug(m.id, func(bg *bugzillatest.Bug) { bg.Component = "Vulnerabilities" })
		how = "moved to Vulnerabilities"
	default:
		p.h.srv.DeleteBug(m.id)
		how = "deleted"
	}
	p.w.mu.Lock()
	switch how {
	case "moved to Vulnerabilities":
		m.movedOut = true
	case "deleted":
		m.deleted = true
		m.outSince = time.Now()
	default:
		m.restricted = false
		m.outSince = time.Now()
		m.groups = append(m.groups, groupChange{after: len(p.h.srv.Requests()), restricted: true})
	}
	p.w.mu.Unlock()
	p.logf("bug %d %s", m.id, how)
}

// backInSight makes a bug out of sight (not deleted) public in the watch
// again. Once ksecbot has noticed that it left (gone or moved out), it
// announces it once more; while the key is refused it can only have
// noticed that the bug is no longer public (unconfirmed), and one it never
// had is new to it.
func (p *propertyRun) backInSight(m *modelBug) {
	if !p.keyOK {
		// Every copy is unconfirmed since the outage began, so the wait
		// below ends at once; a reconciliation under way may still find
		// the bug moved out, and then announce it again once back. One
		// more (after any under way) settles what the mirror knows.
		if err := p.b.Intake.Watcher().ReconcileOnce(context.Background()); err != nil {
			p.t.Fatal(err)
		}
	}
	wasOut := false
	waitUntil(p.t, 20*time.Second, fmt.Sprintf("the mirror to notice bug %d left", m.id), func() bool {
		b, ok, err := p.st.Bug(context.Background(), m.id)
		if err != nil {
			return false
		}
		wasOut = ok && (b.Sight.Gone || b.Component != "Kernel")
		return !ok || wasOut || !p.keyOK && b.Sight.Unconfirmed
	})
	p.change(fmt.Sprintf("bug %d back in sight", m.id), func() {
		p.h.srv.UpdateBug(m.id, func(bg *bugzillatest.Bug) { bg.Groups, bg.Component = nil, "Kernel" })
		p.w.mu.Lock()
		m.outSince, m.movedOut, m.restricted = time.Time{}, false, false
		m.groups = append(m.groups, groupChange{after: len(p.h.srv.Requests()), restricted: false})
		if wasOut {
			// announced again in full: no "no longer restricted" line
			m.seenRestricted = false
			m.comebacks++
		}
		p.w.mu.Unlock()
	}, func() bool {
		b, ok, err := p.st.Bug(context.Background(), m.id)
		return err == nil && ok && !b.Sight.Gone && b.Component == "Kernel" && !b.Restricted()
	})
	p.logf("bug %d back in sight", m.id)
}

// keyRefused makes Bugzilla refuse ksecbot's key; the next poll notices.
func (p *propertyRun) keyRefused() {
	p.change("the key refused", func() {
		p.h.srv.SetAPIKey("ksecbot@gentoo.org", "key-rotated")
		p.keyOK = false
	}, func() bool {
		_, _, ok, err := p.st.Outage(context.Background())
		return err == nil && ok
	})
	p.logf("key refused")
}

// keyBack makes Bugzilla accept the key again: the cursors go back, the
// mirror is reconciled with the key, and the outage is over.
func (p *propertyRun) keyBack() {
	p.change("the key back", func() {
		p.h.srv.SetAPIKey("ksecbot@gentoo.org", "key-ksecbot")
		p.keyOK = true
	}, func() bool {
		_, _, ok, err := p.st.Outage(context.Background())
		if err != nil || ok {
			return false
		}
		p.w.mu.Lock()
		defer p.w.mu.Unlock()
		for _, m := range p.w.bugs {
			if r, _, _, ok := p.mirrorBug(m.id); m.outSince.IsZero() && !m.movedOut && (!ok || r != m.restricted) {
				return false
			}
		}
		return true
	})
	p.logf("key back")
}

// askAndWait asks !bug about a random bug in a public channel (the reply
// is checked like a line), then lets deliveries happen for a moment.
func (p *propertyRun) askAndWait() {
	w := p.w
	w.mu.Lock()
	var ids []int
	for id := range w.bugs {
		ids = append(ids, id)
	}
	var public []chat.Channel
	for _, ch := range w.channels {
		if !ch.Private {
			public = append(public, ch)
		}
	}
	w.mu.Unlock()
	slices.Sort(ids)
	if len(ids) > 0 && len(public) > 0 {
		id, ch := ids[p.rng.IntN(len(ids))], public[p.rng.IntN(len(public))]
		p.asked++
		who := chat.Identity{Network: "irc", Nick: fmt.Sprintf("asker%d", p.asked), Host: fmt.Sprintf("h%d.example.net", p.asked)}
		for _, o := range p.b.Live.Router().Handle(context.Background(), chat.Incoming{Channel: ch, Target: ch.Name, Sender: who, Text: fmt.Sprintf("!bug %d", id), ID: fmt.Sprint(p.asked)}) {
			w.checkReply(o)
		}
		p.logf("!bug %d in %s", id, ch.Name)
	}
	sent, _ := w.snapshot()
	deadline := time.Now().Add(200 * time.Millisecond)
	for time.Now().Before(deadline) {
		if s, _ := w.snapshot(); len(s) > len(sent) {
			break
		}
		select {
		case <-w.notify:
		case <-time.After(20 * time.Millisecond):
		}
	}
}
