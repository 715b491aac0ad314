// SPDX-License-Identifier: GPL-3.0-or-later

package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/store"
	"github.com/ksecbot/ksecbot/transport"
)

// DefaultNetworkRetry is how long a network stopped by a permanent error
// waits before it is tried again (SIGHUP tries at once).
const DefaultNetworkRetry = time.Hour

// Networks runs each transport in its own loop, so that a network's
// permanent error (a refused password or token, an untrusted
// certificate, a ban from the server) stops that network alone: the
// other networks and the Bugzilla intake go on, the private channels of
// the other networks are told once per episode, /healthz and /metrics
// show the network down, and it is tried again every retry period or at
// once on RetryNow (SIGHUP). Only when every network is down does Run
// return an error (the daemon then exits).
//
// Episodes are numbered per network in the store (table episodes), like
// channel trouble, so a restart neither repeats the alert nor loses its
// "back on" line.
type Networks struct {
	notices *Notices
	log     *slog.Logger
	now     func() time.Time
	retry   time.Duration

	mu    sync.Mutex
	names []string            // every network run
	down  map[string]*netDown // network -> why it is down now
	kick  chan struct{}       // closed (and replaced) by RetryNow
}

// netDown is why a network is down and when it is tried again.
type netDown struct {
	err     error
	since   time.Time
	retryAt time.Time
}

// NewNetworks returns the runner of o.Transports.
func NewNetworks(o Options, notices *Notices) *Networks {
	o = o.WithDefaults()
	n := &Networks{notices: notices, log: o.Logger, now: o.Now, retry: o.NetworkRetry,
		down: map[string]*netDown{}, kick: make(chan struct{})}
	for _, t := range o.Transports {
		n.names = append(n.names, t.Network())
	}
	return n
}

// NoNetworkError is what Networks.Run returns when every network is down:
// each network's error. It matches transport.ErrConfig when every one of
// them is caused by the configuration, so the daemon exits with its
// configuration status (78) only when fixing the file is what it takes.
type NoNetworkError struct {
	Errs map[string]error // network -> its permanent error
}

// Error names every network and its error.
func (e *NoNetworkError) Error() string {
	var parts []string
	for _, name := range sortedKeys(e.Errs) {
		parts = append(parts, name+": "+e.Errs[name].Error())
	}
	return "no network can run: " + strings.Join(parts, "; ")
}

// Is matches transport.ErrConfig when every network's error does.
func (e *NoNetworkError) Is(target error) bool {
	if target != transport.ErrConfig || len(e.Errs) == 0 {
		return false
	}
	for _, err := range e.Errs {
		if !errors.Is(err, transport.ErrConfig) {
			return false
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Run runs t until ctx is done. When t.Run returns an error (a permanent
// one: the transports retry the others themselves), the network is down:
// Run tells the other networks' private channels once, waits for the
// retry period or RetryNow, and runs t again. It returns a
// *NoNetworkError when every network is down, and nil when ctx is done.
func (n *Networks) Run(ctx context.Context, t transport.Transport, in transport.Inbox) error {
	name := t.Network()
	for {
		stopWatch := n.watchUp(ctx, t)
		err := t.Run(ctx, in)
		stopWatch()
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			err = errors.New("the transport stopped by itself")
		}
		if all := n.setDown(ctx, name, err); all != nil {
			return all
		}
		if !n.wait(ctx) {
			return nil
		}
		n.log.Info("trying the network again", "network", name)
	}
}

// watchUp waits (until the returned stop is called) for t to connect,
// then ends its episode of being down.
func (n *Networks) watchUp(ctx context.Context, t transport.Transport) (stop func()) {
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			if t.Connected() {
				n.setUp(wctx, t.Network())
				return
			}
			select {
			case <-wctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() { cancel(); <-done }
}

// setDown records network as down for err and tells the other networks'
// private channels, once per episode. It returns a *NoNetworkError, and
// tells nothing, when every network is down now.
func (n *Networks) setDown(ctx context.Context, network string, err error) *NoNetworkError {
	now := n.now()
	n.mu.Lock()
	n.down[network] = &netDown{err: err, since: now, retryAt: now.Add(n.retry)}
	all := len(n.down) == len(n.names)
	var errs map[string]error
	if all {
		errs = map[string]error{}
		for name, d := range n.down {
			errs[name] = d.err
		}
	}
	n.mu.Unlock()
	if all {
		return &NoNetworkError{Errs: errs} // the caller reports it, once
	}
	n.log.Error("network stopped; the other networks go on", "network", network, "err", err,
		"retry_in", roughly(n.retry), "config", errors.Is(err, transport.ErrConfig))
	if n.notices == nil {
		return nil
	}
	// A report once begun is finished, even when the bot is stopping.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reportTimeout)
	defer cancel()
	nt := n.notices
	nt.troubleMu.Lock()
	defer nt.troubleMu.Unlock()
	key := episodeKey{store.EpisodeNetworkDown, network}
	state, num, ok := nt.episode(rctx, key)
	if !ok || state == "down" {
		return nil // told already in this episode
	}
	num++
	fix := "it is tried again in " + roughly(n.retry) + ", or at once on a reload (SIGHUP)"
	if errors.Is(err, transport.ErrConfig) {
		fix = "fix the configuration or the secret, then reload (SIGHUP); " + fix
	}
	line := chat.Line{}.Bold("ksecbot cannot use " + network + ":").
		Text(" " + chat.Clean(err.Error(), 300) + ". Its announcements for " + network + " wait in the outbox; " + fix + ".")
	told, qerr := nt.privateWhere(rctx, "network-down/"+network+"/"+strconv.Itoa(num), line,
		func(ch chat.Channel) bool { return ch.Network != network })
	if qerr != nil {
		n.log.Warn("failed to queue the network down alert", "network", network, "err", qerr)
		return nil
	}
	if told == 0 {
		n.log.Warn("no private channel on another network to tell that this network is down: configure one (private = true)", "network", network)
	}
	nt.setEpisode(rctx, key, "down", num)
	return nil
}

// setUp records network as up and ends its episode of being down, if
// there is one (also one from before a restart), with one "back on" line
// to the private channels of the other networks.
func (n *Networks) setUp(ctx context.Context, network string) {
	n.mu.Lock()
	_, was := n.down[network]
	delete(n.down, network)
	n.mu.Unlock()
	if was {
		n.log.Info("network works again", "network", network)
	}
	if n.notices == nil {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reportTimeout)
	defer cancel()
	nt := n.notices
	nt.troubleMu.Lock()
	defer nt.troubleMu.Unlock()
	key := episodeKey{store.EpisodeNetworkDown, network}
	state, num, ok := nt.episode(rctx, key)
	if !ok || state != "down" {
		return
	}
	line := chat.Line{}.Bold("ksecbot is back on " + network + ";").Text(" its waiting announcements follow there.")
	if _, err := nt.privateWhere(rctx, "network-up/"+network+"/"+strconv.Itoa(num), line,
		func(ch chat.Channel) bool { return ch.Network != network }); err != nil {
		n.log.Warn("failed to queue the network recovery notice", "network", network, "err", err)
		return
	}
	nt.setEpisode(rctx, key, "ok", num)
}

// wait waits for the retry period or RetryNow; false when ctx ended.
func (n *Networks) wait(ctx context.Context) bool {
	n.mu.Lock()
	kick := n.kick
	n.mu.Unlock()
	timer := time.NewTimer(n.retry)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
	case <-kick:
	}
	return true
}

// RetryNow makes every network that is down try again at once (SIGHUP).
// Safe for concurrent use.
func (n *Networks) RetryNow() {
	n.mu.Lock()
	defer n.mu.Unlock()
	close(n.kick)
	n.kick = make(chan struct{})
}

// Down reports whether network is down for a permanent error now, and
// that error.
func (n *Networks) Down(network string) (bool, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if d, ok := n.down[network]; ok {
		return true, d.err
	}
	return false, nil
}

// Problems describes the networks that are down, for /healthz: one line
// each, naming the network, the error and the next try.
func (n *Networks) Problems() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, name := range sortedKeys(n.down) {
		d := n.down[name]
		out = append(out, fmt.Sprintf("%s: down since %s: %v; next try %s or on SIGHUP",
			name, d.since.UTC().Format(time.RFC3339), d.err, d.retryAt.UTC().Format(time.RFC3339)))
	}
	return out
}

// roughly writes d without its zero minutes and seconds ("1h", not
// "1h0m0s").
func roughly(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
