// SPDX-License-Identifier: GPL-3.0-or-later

// Which bug a write command without a bug number is about: the bug of the
// message it replies to, else the last bug announced in the channel when
// that is unambiguous, else none (the caller is asked, and nothing is
// written).

package commands

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/store"
)

// quietBefore is how long before a write without a bug number no other
// bug may have been announced in the channel for the last one to count:
// during a burst, or just after the next announcement, "the last bug" is
// not the one the person meant.
const quietBefore = time.Minute

// maxAsked is how many candidate bugs a "which bug?" reply names.
const maxAsked = 5

// targetBug finds the bug a write command is about: the explicit number,
// else the bug of the message it replies to (an announcement, a digest of
// one bug, a reminder), else the last bug announced in the channel within
// the claim window if no other bug was announced there in the last minute.
// Otherwise it returns the reply asking which bug, naming the candidates;
// a reply to a message about no bug or several never falls back to the
// last one.
func (r *Router) targetBug(ctx context.Context, req *Request, explicit int) (int, chat.Line) {
	if explicit > 0 {
		return explicit, nil
	}
	in := req.In
	if in.ReplyTo != "" {
		return r.replyTarget(ctx, req)
	}
	if in.Direct {
		return 0, r.askBug(req, "a private message follows no announcement", nil)
	}
	cands, err := r.recent(ctx, in.Channel.Key)
	if err != nil {
		return 0, r.askBug(req, "I could not read what was announced here", nil)
	}
	// An announcement on its way may be on the person's screen already:
	// "the last bug" is then not known. Only confirmed ones are named.
	if flying, err := r.d.Store.AnnouncingNow(ctx, in.Channel.Key); err != nil {
		r.log.Warn("failed to look up announcements on their way", "err", err)
		return 0, r.askBug(req, "I could not read what was announced here", nil)
	} else if len(flying) > 0 && (len(cands) == 0 || len(flying) > 1 || flying[0] != cands[0].BugID) {
		return 0, r.askBug(req, "a bug is being announced here right now", ids(cands))
	}
	if len(cands) == 0 {
		return 0, r.askBug(req, "no bug was announced here in the last "+shortDuration(r.window), nil)
	}
	last, now := cands[0], r.now()
	for _, c := range cands[1:] {
		switch {
		case now.Sub(c.At) < quietBefore:
			return 0, r.askBug(req, "several bugs were announced here in the last minute", ids(cands))
		case c.At.Equal(last.At):
			return 0, r.askBug(req, "several bugs were announced here at once", ids(cands))
		}
	}
	return last.BugID, nil
}

// replyTarget is the bug of the message a write replies to.
func (r *Router) replyTarget(ctx context.Context, req *Request) (int, chat.Line) {
	in := req.In
	var (
		bugs  []int
		found bool
		err   error
	)
	if r.d.Store != nil {
		bugs, found, err = r.d.Store.MessageBugs(ctx, in.Channel.Key, in.ReplyTo)
		if err != nil {
			r.log.Warn("failed to look up replied-to message", "err", err)
		}
	}
	switch {
	case len(bugs) == 1:
		return bugs[0], nil
	case len(bugs) > 1:
		return 0, r.askBug(req, "the message you replied to is about several bugs", bugs)
	}
	why := "the message you replied to is not one of my announcements"
	if found {
		why = "the message you replied to is about no bug"
	}
	var cands []int
	if !in.Direct {
		if recent, err := r.recent(ctx, in.Channel.Key); err == nil {
			cands = ids(recent)
		}
	}
	return 0, r.askBug(req, why, cands)
}

// recent returns the bugs announced in the channel within the claim
// window, newest first.
func (r *Router) recent(ctx context.Context, channelKey string) ([]store.Announced, error) {
	if r.d.Store == nil {
		return nil, nil
	}
	cands, err := r.d.Store.RecentAnnouncements(ctx, channelKey, r.now().Add(-r.window))
	if err != nil {
		r.log.Warn("failed to look up recent announcements", "err", err)
	}
	return cands, err
}

// askBug is the reply of a write whose bug is not known: why, the
// candidates (newest first) if any, and how to name the bug. Nothing is
// written.
func (r *Router) askBug(req *Request, why string, cands []int) chat.Line {
	l := chat.Line{}.Text("Which bug? ")
	if len(cands) > 0 {
		shown := make([]string, 0, maxAsked)
		for i, id := range cands {
			if i == maxAsked {
				break
			}
			shown = append(shown, strconv.Itoa(id))
		}
		more := ""
		if len(cands) > maxAsked {
			more = " …"
		}
		l = l.Bold(strings.Join(shown, ", ") + more).Text(" — ")
	}
	l = l.Text(upperFirst(why) + "; say ").Code(strings.Join(append(append([]string{r.prefix + req.Name}, req.Args...), "<bug>"), " "))
	if !req.In.Direct {
		l = l.Text(" or reply to its announcement")
	}
	return l.Text(". Nothing was changed.")
}

// ids returns the bug numbers of announcements.
func ids(list []store.Announced) []int {
	out := make([]int, len(list))
	for i, a := range list {
		out[i] = a.BugID
	}
	return out
}
