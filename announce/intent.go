// SPDX-License-Identifier: GPL-3.0-or-later

package announce

import (
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/policy"
	"github.com/ksecbot/ksecbot/store"
)

// Intent renders an outbox intent for a channel at send time: bugs holds
// the mirror's current copy of each bug the intent names (a bug missing
// there counts as restricted), ch the channel as configured now, now the
// time of sending. ok is false when the channel must get nothing (the
// policy says nothing, or the intent has nothing to say): the deliverer
// then marks it done without sending.
//
// Intents that carry text (queued by an older ksecbot, or notices) are
// sent as they are only while the channel may see every bug they name in
// full; otherwise announcements, digests and reminders are rendered again
// from their bugs, and anything else is not sent.
func (r *Renderer) Intent(in store.Intent, bugs map[int]*bugzilla.Bug, ch chat.Channel, now time.Time) (out chat.Outgoing, ok bool) {
	out = chat.Outgoing{Key: in.Key, Kind: in.Kind, Channel: ch.Key, Target: ch.Name, BugIDs: in.BugIDs, Notice: ch.Notice}
	bug := func(id int) *bugzilla.Bug {
		if b := bugs[id]; b != nil {
			return b
		}
		// Not in the mirror: only the number is known; withhold.
		return &bugzilla.Bug{ID: id, Groups: []string{"unknown"}}
	}
	if in.Kind == chat.KindCVE {
		// the kernel CVE watch: public kernel CNA data, for the channels
		// that opted in, rendered from the records as they are now
		if in.CVE == nil || r.CVEFeed == nil || !policy.CVEFeed(ch) {
			return out, false
		}
		out.Lines, out.Detail, ok = r.CVEFeed.RenderCVE(*in.CVE, ch)
		return out, ok
	}
	if in.Kind == chat.KindSystem && !policy.Private(ch) {
		// about ksecbot itself (channel trouble, the API key, held-back
		// auto-CC): for the people who run it; a channel a reload made
		// public since it was queued gets nothing
		return out, false
	}
	if len(in.Lines) > 0 {
		full := true
		for _, id := range in.BugIDs {
			if policy.Hidden(bug(id), ch) {
				full = false
			}
		}
		if full {
			out.Lines, out.Detail = in.Lines, in.Detail
			return out, true
		}
		switch in.Kind {
		case chat.KindAnnounce, chat.KindDigest, chat.KindRemind:
		default:
			return out, false
		}
	}
	if len(in.BugIDs) == 0 {
		return out, false
	}
	// Each bug is judged by the policy for this channel now; the
	// renderer gets the judgement, never the bare bug.
	see := func(id int, what policy.What) policy.Seen { return r.Policy.See(bug(id), ch, what) }
	age := func(id int) time.Duration {
		if b := bug(id); !b.CreationTime.IsZero() {
			return now.Sub(b.CreationTime)
		}
		return 0
	}
	var line chat.Line
	switch id := in.BugIDs[0]; in.Kind {
	case chat.KindAnnounce:
		if in.Event != nil && in.Event.Kind == store.EventMovedIn {
			line, ok = r.MovedIn(see(id, policy.Announce), in.Event.New, in.Event.Old == store.EventGone, age(id))
			break
		}
		line, ok = r.NewBug(see(id, policy.Announce))
	case chat.KindRemind:
		line, ok = r.Remind(see(id, policy.Remind), age(id))
	case chat.KindChange:
		if in.Event == nil {
			return out, false
		}
		line, ok = r.Change(in.Event.Kind, in.Event.Old, in.Event.New, see(id, policy.ChangeWhat(in.Event.Kind)))
	case chat.KindDigest:
		list := make([]policy.Seen, len(in.BugIDs))
		for i, id := range in.BugIDs {
			list[i] = see(id, policy.Digest)
		}
		line, ok = r.Digest(list)
		if ok {
			out.Detail = r.DigestDetail(list)
		}
	default:
		return out, false
	}
	if !ok {
		return out, false
	}
	out.Lines = []chat.Line{line}
	return out, true
}
