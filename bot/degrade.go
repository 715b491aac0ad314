// SPDX-License-Identifier: GPL-3.0-or-later

package bot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
)

// Defaults for Options.
const (
	DefaultKeyRetry        = 5 * time.Minute
	DefaultDefaultsRefresh = 24 * time.Hour
)

// kvKeyState records the API key state across restarts ("ok:N" or
// "refused:N", N counting refusals), so that each change is said once.
const kvKeyState = "bugzilla_key_state"

// keyLoop checks the API key at start, follows the client's key state
// (a poll may meet a refusal at any time) and, while Bugzilla refuses the
// key, tries it again every keyRetry. Each change is said once in the
// private channels. Without a key it only logs read-only mode.
func (b *Bot) keyLoop(ctx context.Context) error {
	if !b.bz.HasAPIKey() {
		b.log.Info("no Bugzilla API key: read-only, write commands are refused")
		return nil
	}
	known := b.checkKey(ctx)
	for {
		st := b.bz.Key()
		if known {
			b.noteKeyState(ctx, st)
		}
		var retry <-chan time.Time
		var timer *time.Timer
		if st.Refused || !known {
			timer = time.NewTimer(b.keyRetry)
			retry = timer.C
		}
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return nil
		case <-b.bz.KeyChanges():
			known = true
		case <-retry:
			if b.checkKey(ctx) {
				known = true
			}
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// checkKey asks Bugzilla whether it accepts the key. It reports whether
// the answer was definite (accepted or refused), not a network error.
func (b *Bot) checkKey(ctx context.Context) bool {
	login, err := b.bz.CheckAPIKey(ctx)
	switch {
	case err == nil:
		b.log.Info("Bugzilla API key accepted", "login", login)
		return true
	case errors.Is(err, bugzilla.ErrBadAPIKey), errors.Is(err, bugzilla.ErrLoginRequired):
		b.log.Debug("Bugzilla still refuses the API key", "err", err)
		return true
	case ctx.Err() != nil:
		return false
	default:
		b.log.Warn("could not check the Bugzilla API key now", "err", err)
		return false
	}
}

// noteKeyState says a change of the key state once in the private
// channels (through the outbox) and remembers it across restarts.
func (b *Bot) noteKeyState(ctx context.Context, st bugzilla.KeyState) {
	prev, _, err := b.store.GetKV(ctx, kvKeyState)
	if err != nil {
		b.log.Warn("failed to read the key state", "err", err)
		return
	}
	state, nStr, _ := strings.Cut(prev, ":")
	n, _ := strconv.Atoi(nStr)
	var next string
	var line chat.Line
	switch {
	case st.Refused && state != "refused":
		n++
		next = "refused:" + strconv.Itoa(n)
		line = chat.Line{}.Bold("ksecbot is read-only:").Text(" Bugzilla refuses its API key (" + st.Reason + "). " +
			"Polling goes on anonymously, so restricted bugs the anonymous user cannot see are not announced; " +
			"!claim, !cc and auto-CC are off. The key is tried again every " + b.keyRetry.String() +
			"; the operator should fix bugzilla.api_key_file.")
	case !st.Refused && state == "refused":
		next = "ok:" + strconv.Itoa(n)
		line = chat.Line{}.Bold("ksecbot can write again:").Text(" Bugzilla accepts its API key; !claim, !cc and auto-CC are back on.")
	default:
		return
	}
	if err := b.systemNotice(ctx, "bugzilla-key-"+next, line); err != nil {
		b.log.Warn("failed to queue the key state notice", "err", err)
		return
	}
	if err := b.store.SetKV(ctx, kvKeyState, next); err != nil {
		b.log.Warn("failed to record the key state", "err", err)
	}
}

// systemNotice queues one line about ksecbot itself for every private
// channel, exactly once per id. A notice about bugs names them, so that it
// is sent only while the channel may see them in full.
func (b *Bot) systemNotice(ctx context.Context, id string, line chat.Line, bugs ...int) error {
	var items []chat.Outgoing
	for _, ch := range b.channels() {
		if ch.Private {
			items = append(items, chat.ChannelMessage(ch, chat.KindSystem, id, line, bugs...))
		}
	}
	if len(items) == 0 {
		return nil
	}
	if err := b.store.Enqueue(ctx, items...); err != nil {
		return fmt.Errorf("failed to queue system notice %s: %w", id, err)
	}
	b.signalQueued()
	return nil
}

// defaultsLoop reads the watches' component default assignees at start
// and every defaultsRefresh (a bug still with the default is unclaimed).
func (b *Bot) defaultsLoop(ctx context.Context) error {
	for {
		wait := b.defaultsRefresh
		if !b.refreshDefaults(ctx) {
			wait = min(wait, b.keyRetry) // try again sooner after a failure
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

// refreshDefaults reads every watch's default assignee and stores it. It
// reports whether all were read.
func (b *Bot) refreshDefaults(ctx context.Context) bool {
	ok := true
	for _, w := range b.l().cfg.Watches {
		assignee, _, err := b.bz.ComponentDefaults(ctx, w.Product, w.Component)
		if err != nil {
			if ctx.Err() == nil {
				b.log.Warn("could not read the component's default assignee", "watch", w.Name(), "err", err)
			}
			ok = false
			continue
		}
		old, had, _ := b.store.ComponentDefault(ctx, w.Name())
		if had && old == assignee {
			continue
		}
		if err := b.store.SetComponentDefault(ctx, w.Name(), assignee); err != nil {
			b.log.Warn("failed to store the component default", "watch", w.Name(), "err", err)
			ok = false
			continue
		}
		b.log.Info("component default assignee", "watch", w.Name(), "assignee", assignee, "was", old)
	}
	return ok
}

// bugzillaProblems describes what is degraded on the Bugzilla side, for
// /healthz: a refused key (anonymous read-only) and failing polls.
func (b *Bot) bugzillaProblems() []string {
	var out []string
	if st := b.bz.Key(); st.Refused {
		out = append(out, fmt.Sprintf("bugzilla: API key refused since %s (%s); reading anonymously, writes off; retried every %s",
			st.Since.UTC().Format(time.RFC3339), st.Reason, b.keyRetry))
	}
	if ws := b.watcher.Stats(); ws.ConsecutiveFailures > 0 {
		out = append(out, fmt.Sprintf("bugzilla: unreachable or failing (%d polls failed; last success %s): %s",
			ws.ConsecutiveFailures, lastSuccess(ws.LastSuccess), ws.LastError))
	}
	return out
}

func lastSuccess(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}
