// SPDX-License-Identifier: GPL-3.0-or-later

package bot_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/transport"
)

// embargoWorld is a recording transport that knows, as the test's model,
// which bugs are secret now and which channels are private now, and checks
// every line when it is sent (and every reply when it is given): a line to
// a public channel must not contain a secret bug's summary, whiteboard,
// tree names or maintainers' nicks or Matrix IDs as of that moment.
//
// A bug is secret when it is restricted into the security group (which
// ksecbot's account is in), or when it went out of ksecbot's sight -
// restricted into a group its account is not in, or deleted - more than
// window ago (one reconcile interval, and one more for a reconciliation
// under way): a search cannot show those changes, only the next
// reconciliation does, so until then ksecbot may still show the bug as it
// last read it.
//
// The model's other changes happen while the world is "held" (Send
// refuses, as a disconnected network does) and until the bot's mirror has
// the change: so at every Send the model, Bugzilla and the mirror agree.
type embargoWorld struct {
	t        *testing.T
	window   time.Duration
	mu       sync.Mutex
	channels []chat.Channel
	down     bool // the network is down (an operation of the sequence)
	held     bool // the model is being changed
	bugs     map[int]*modelBug
	sent     []chat.Outgoing
	leaks    []string
	notify   chan struct{}
}

type modelBug struct {
	id              int
	restricted      bool // in the security group (ksecbot sees it)
	filedRestricted bool // restricted when filed
	// groups are the bug's changes into and out of a group, each with
	// the number of requests the Bugzilla test server had recorded once
	// it was made: requests recorded later were answered after it.
	groups                 []groupChange
	summaryWord, boardWord string // unique words of the summary and whiteboard
	tree                   string // "hardened" or "gentoo-sources"

	// outSince is when the bug went out of ksecbot's sight (restricted
	// into kernel-embargo, or deleted); zero while in sight.
	outSince time.Time
	deleted  bool
	movedOut bool // wrangled to another component (not secret)

	// What the mirror showed: whether it had the bug at all, and its
	// restricted state; toggles counts the changes of that state (each
	// is one change line per channel); comebacks counts the returns into
	// sight (each is one more announcement per channel).
	mirrored, seenRestricted bool
	toggles, comebacks       int
}

// groupChange is a bug going into a group (restricted) or out of all.
type groupChange struct {
	after      int
	restricted bool
}

// restrictedAt reports whether the bug was surely in a group when the
// request with index i was answered.
func (b *modelBug) restrictedAt(i int) bool {
	r := false
	for _, c := range b.groups {
		if c.after <= i {
			r = c.restricted
		}
	}
	return r
}

// secret reports whether a public channel must not see the bug's details
// at now.
func (b *modelBug) secret(now time.Time, window time.Duration) bool {
	return b.restricted || !b.outSince.IsZero() && now.Sub(b.outSince) > window
}

// words a public channel must not see of a restricted bug of a tree (the
// tree names and the maintainers of every tree: a withheld line names
// none).
var treeWords = []string{"hardened", "gentoo-sources", "blueness", "zorry", "mpagano", "@blueness:gentoo.org", "@mpagano:gentoo.org"}

func (w *embargoWorld) Network() string { return "irc" }
func (w *embargoWorld) Channels() []chat.Channel {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.channels)
}
func (w *embargoWorld) Run(ctx context.Context, in transport.Inbox) error { <-ctx.Done(); return nil }
func (w *embargoWorld) Connected() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return !w.down && !w.held
}

func (w *embargoWorld) Send(ctx context.Context, out chat.Outgoing) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.down || w.held {
		return "", fmt.Errorf("not connected")
	}
	var ch *chat.Channel
	for i := range w.channels {
		if w.channels[i].Key == out.Channel {
			ch = &w.channels[i]
		}
	}
	if ch == nil {
		w.leaks = append(w.leaks, fmt.Sprintf("message %s to an unknown channel", out.Key))
	} else if !ch.Private {
		w.check(out)
	}
	w.sent = append(w.sent, out)
	select {
	case w.notify <- struct{}{}:
	default:
	}
	return "", nil
}

// check looks for secret details in a line or reply for a public channel.
// w.mu is held.
func (w *embargoWorld) check(out chat.Outgoing) {
	var texts []string
	for _, net := range []string{"irc", "matrix"} {
		for _, l := range append(slices.Clone(out.Lines), out.Detail...) {
			texts = append(texts, l.Plain(net))
		}
	}
	text := strings.Join(texts, "\n")
	now := time.Now()
	allSecret := len(out.BugIDs) > 0
	for _, id := range out.BugIDs {
		if b := w.bugs[id]; b == nil || !b.secret(now, w.window) {
			allSecret = false
		}
	}
	for _, b := range w.bugs {
		if !b.secret(now, w.window) {
			continue
		}
		for _, word := range []string{b.summaryWord, b.boardWord} {
			if strings.Contains(text, word) {
				w.leaks = append(w.leaks, fmt.Sprintf("%s: %q reveals %q of secret bug %d", out.Key, text, word, b.id))
			}
		}
	}
	if allSecret {
		// Only about secret bugs: no tree, no one highlighted. (A digest
		// that also lists public bugs may name their trees.)
		for _, word := range treeWords {
			if strings.Contains(text, word) {
				w.leaks = append(w.leaks, fmt.Sprintf("%s: %q about secret bugs %v names %q", out.Key, text, out.BugIDs, word))
			}
		}
	}
}

// checkReply checks a reply given in a public channel.
func (w *embargoWorld) checkReply(out chat.Outgoing) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.check(out)
}

// hold stops deliveries while the model changes; release resumes them.
func (w *embargoWorld) hold() {
	w.mu.Lock()
	w.held = true
	w.mu.Unlock()
}

func (w *embargoWorld) release() {
	w.mu.Lock()
	w.held = false
	w.mu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

func (w *embargoWorld) snapshot() (sent []chat.Outgoing, leaks []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.sent), slices.Clone(w.leaks)
}
