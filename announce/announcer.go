// SPDX-License-Identifier: GPL-3.0-or-later

package announce

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/policy"
	"github.com/ksecbot/ksecbot/store"
)

// EventStore is the part of the store the announcer uses.
type EventStore interface {
	PendingEvents(ctx context.Context, limit int) ([]store.Event, error)
	QueueAnnouncements(ctx context.Context, q store.Queued) error
}

// Announcer turns pending store events into outbox intents, one per
// channel, in the same transaction that marks the events processed and
// schedules their auto-CC jobs and reminders: an event is either fully
// handled or still pending. It
// decides what to say (new bug, digest, change) but not what each channel
// sees of it: the deliverer renders each intent when it sends it
// (Renderer.Intent), through package policy.
type Announcer struct {
	Store  EventStore
	Render *Renderer
	// Channels returns every channel that gets announcements.
	Channels func() []chat.Channel
	// DigestAfter: more new bugs than this within DigestWindow become one
	// digest line per channel (0 disables digests).
	DigestAfter  int
	DigestWindow time.Duration
	// Changes enables announcements of important changes.
	Changes bool
	// AutoCC enqueues an auto-CC job for each new bug.
	AutoCC bool
	// RemindAfter returns when a new bug should be re-highlighted if
	// still unclaimed (0: never).
	RemindAfter func(b *bugzilla.Bug) time.Duration
	Now         func() time.Time
	Logger      *slog.Logger

	mu     sync.Mutex
	recent []time.Time // arrival times of recent new bugs (at most DigestAfter+1)
}

// batchLimit bounds the events handled in one pass.
const batchLimit = 1000

// Process handles all pending events once. It returns the number of
// events processed.
func (a *Announcer) Process(ctx context.Context) (int, error) {
	total := 0
	for {
		evs, err := a.Store.PendingEvents(ctx, batchLimit)
		if err != nil {
			return total, fmt.Errorf("failed to read pending events: %w", err)
		}
		if len(evs) == 0 {
			return total, nil
		}
		if err := a.queue(ctx, evs); err != nil {
			return total, err
		}
		total += len(evs)
		if len(evs) < batchLimit {
			return total, nil
		}
	}
}

func (a *Announcer) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// queue builds the messages for one batch of events and stores them.
func (a *Announcer) queue(ctx context.Context, evs []store.Event) error {
	channels := a.Channels()
	var ids []int64
	var items []store.Intent
	var autoCC []int
	var newBugs, movedIn []store.Event
	for _, ev := range evs {
		ids = append(ids, ev.ID)
		switch ev.Kind {
		case "new":
			newBugs = append(newBugs, ev)
			if a.AutoCC {
				autoCC = append(autoCC, ev.BugID)
			}
		case store.EventMovedIn:
			// An old open bug that entered a watch: announced alone (never
			// in a digest), with the same exactly-once key as a new bug's
			// announcement, and auto-CC'd like one.
			movedIn = append(movedIn, ev)
			if a.AutoCC {
				autoCC = append(autoCC, ev.BugID)
			}
		case store.EventGone, store.EventMovedOut:
			// Only the people who run ksecbot need to know: the bug left
			// !pending and its reminders.
			items = append(items, a.outOfSight(ev, channels)...)
		case "reopened", "resolved", "severity", "whiteboard", "restricted":
			if !a.Changes || !ChangeMatters(ev.Kind, ev.Old, ev.New) {
				continue
			}
			for _, ch := range channels {
				in := store.ChannelIntent(ch, chat.KindChange, strconv.FormatInt(ev.ID, 10), ev.BugID)
				in.Event = ev.Data()
				items = append(items, in)
			}
		}
	}

	// New bugs: one by one, or, in a burst (more than DigestAfter new bugs
	// within DigestWindow, urgent ones included), as one digest per
	// channel; urgent ones (A0-A2) are always announced one by one.
	var single, digest []store.Event
	burst := a.burst(len(newBugs))
	for _, ev := range newBugs {
		if burst && !Urgent(ev.Bug.Whiteboard) {
			digest = append(digest, ev)
		} else {
			single = append(single, ev)
		}
	}
	if len(digest) == 1 { // a digest of one bug is just a worse announcement
		single = append(single, digest...)
		digest = nil
	}
	// The digest goes first: one line that covers the whole burst.
	if len(digest) > 0 {
		bugIDs := make([]int, len(digest))
		for i, ev := range digest {
			bugIDs[i] = ev.BugID
		}
		for _, ch := range channels {
			items = append(items, store.ChannelIntent(ch, chat.KindDigest, strconv.FormatInt(digest[0].ID, 10), bugIDs...))
		}
	}
	sort.SliceStable(single, func(i, j int) bool { return single[i].ID < single[j].ID })
	for _, ev := range single {
		for _, ch := range channels {
			items = append(items, store.ChannelIntent(ch, chat.KindAnnounce, strconv.Itoa(ev.BugID), ev.BugID))
		}
	}
	for _, ev := range movedIn {
		id := strconv.Itoa(ev.BugID)
		if ev.Old != "" {
			// Back in sight, or back in the watch: a new announcement,
			// not the first one's (it was announced before it left).
			id += "-back" + strconv.FormatInt(ev.ID, 10)
		}
		for _, ch := range channels {
			in := store.ChannelIntent(ch, chat.KindAnnounce, id, ev.BugID)
			in.Event = ev.Data()
			items = append(items, in)
		}
	}
	// Reminders go in the same transaction as the events they come from:
	// a crash after it cannot leave a bug announced but never reminded.
	// A new bug is reminded of the delay after it was filed; a bug moved
	// in, or caught up by a fresh database, the delay after it arrived (it
	// may be older than the delay already, and was just announced).
	var reminders []store.Reminder
	if a.RemindAfter != nil {
		remind := func(ev store.Event, from time.Time) {
			b := ev.Bug
			if d := a.RemindAfter(&b); d > 0 {
				if from.IsZero() {
					from = a.now()
				}
				reminders = append(reminders, store.Reminder{BugID: ev.BugID, Due: from.Add(d)})
			}
		}
		for _, ev := range newBugs {
			from := ev.Bug.CreationTime
			if ev.Old == store.CaughtUp {
				from = a.now()
			}
			remind(ev, from)
		}
		for _, ev := range movedIn {
			remind(ev, a.now())
		}
	}
	q := store.Queued{Events: ids, Intents: items, AutoCC: autoCC, Reminders: reminders}
	if err := a.Store.QueueAnnouncements(ctx, q); err != nil {
		return fmt.Errorf("failed to queue announcements: %w", err)
	}
	if n := len(items); n > 0 {
		a.log().Info("queued announcements", "events", len(evs), "messages", n, "digested", len(digest))
	}
	return nil
}

// outOfSight is the line, for every private channel, about a bug that
// went out of ksecbot's sight (gone) or left the watches (moved out).
func (a *Announcer) outOfSight(ev store.Event, channels []chat.Channel) []store.Intent {
	l := chat.Line{}.Bold(fmt.Sprintf("Bug %d", ev.BugID))
	if ev.Kind == store.EventGone {
		l = l.Text(" is no longer visible to ksecbot (restricted into a group its Bugzilla account is not in, deleted, or the key lost rights); " +
			"it leaves !pending and reminders, and public channels get no details of it. ")
	} else {
		l = l.Text(" moved to " + Clean(ev.New, 120) + ": it leaves the watch (no reminders, not in !pending). ")
	}
	l = l.Link("", a.Render.BugURL(ev.BugID))
	var out []store.Intent
	for _, ch := range channels {
		if !policy.Private(ch) {
			continue
		}
		out = append(out, store.TextIntent(chat.ChannelMessage(ch, chat.KindSystem, ev.Kind+"-"+strconv.FormatInt(ev.ID, 10), l, ev.BugID)))
	}
	return out
}

// burst records n new bugs arriving now and reports whether the new bugs
// of the last DigestWindow, these included, are more than DigestAfter.
func (a *Announcer) burst(n int) bool {
	if a.DigestAfter <= 0 || n == 0 {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	keep := a.recent[:0]
	for _, t := range a.recent {
		if now.Sub(t) < a.DigestWindow {
			keep = append(keep, t)
		}
	}
	for i := 0; i < n; i++ {
		keep = append(keep, now)
	}
	// Only whether the count exceeds DigestAfter matters: keep the newest.
	if extra := len(keep) - (a.DigestAfter + 1); extra > 0 {
		keep = append(keep[:0], keep[extra:]...)
	}
	a.recent = keep
	return len(keep) > a.DigestAfter
}

func (a *Announcer) log() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}

// maxDetail bounds the list of a digest: one event must stay well under
// a homeserver's event size limit (65 kB), whatever the burst.
const maxDetail = 25

// DigestDetail lists the bugs of a digest (each from See with
// policy.Digest) one per line, for transports that show a list in one
// message: each as Describe shows it (restricted bugs withheld in public
// channels, left out with "skip").
func (r *Renderer) DigestDetail(bugs []policy.Seen) []chat.Line {
	var out []chat.Line
	shown := 0
	for i, s := range bugs {
		if s.View() == policy.Nothing {
			continue
		}
		if shown == maxDetail {
			out = append(out, chat.Line{}.Text(fmt.Sprintf("… and %d more (see the link above)", len(bugs)-i)))
			break
		}
		out = append(out, r.Describe(s))
		shown++
	}
	return out
}

// GatherFor is how far apart new bugs arrive when Gather starts holding.
const GatherFor = time.Second

// Gather reports whether the caller should wait a moment before the next
// pass, to let more new bugs arrive: a burst is under way (more than
// DigestAfter in the window), or new bugs arrive fast (two within
// GatherFor) and a digest is near (half of DigestAfter already in the
// window). Then a burst pushed bug by bug becomes one digest instead of a
// few single lines that use up the IRC flood allowance first.
func (a *Announcer) Gather() bool {
	if a.DigestAfter <= 0 {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	inWindow, fast := 0, 0
	for _, t := range a.recent {
		if now.Sub(t) < a.DigestWindow {
			inWindow++
		}
		if now.Sub(t) < GatherFor {
			fast++
		}
	}
	return inWindow > a.DigestAfter || (fast >= 2 && inWindow >= max(2, a.DigestAfter/2))
}
