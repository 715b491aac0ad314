// SPDX-License-Identifier: GPL-3.0-or-later

// Package irc is ksecbot's IRC transport, built on
// github.com/ergochat/irc-go's ircevent client. It adds what ircevent lacks:
// a token-bucket writer that sends announcements before command replies,
// delivery confirmed by the server (echo-message with labeled-response, or
// PING fences), silent-link detection, channel-health tracking (joined
// channels, refused lines and JOINs retried with backoff), reconnects with exponential
// backoff and jitter, services-account tracking (account-tag,
// extended-join, account-notify, WHOX), channel rejoin, and safe rendering
// of untrusted text into single IRC lines.
package irc

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ergochat/irc-go/ircevent"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/backoff"
	"github.com/ksecbot/ksecbot/transport"
)

// DefaultReconnectMax caps the reconnect backoff when [irc]
// reconnect_max is not set: a link cut again and again is retried at
// least once a minute.
const DefaultReconnectMax = time.Minute

// heldFor is how long a connection must have stayed up after
// registration to count as one that held: the next disconnect then
// starts again from the shortest reconnect delay (a link cut every 20 s
// reconnects within a second or two each time).
const heldFor = 10 * time.Second

// ErrNotConnected is returned by Send while the transport is disconnected;
// nothing was sent and the caller should keep the message.
var ErrNotConnected = errors.New("irc: not connected")

// Options are the transport's dependencies.
type Options struct {
	Logger  *slog.Logger     // default slog.Default()
	Version string           // CTCP VERSION reply
	Now     func() time.Time // clock for the flood limiter; default time.Now
	Rand    func() float64   // jitter source in [0,1); default math/rand
	// BackoffMin is the first reconnect delay (default 1 s); it doubles up
	// to cfg.ReconnectMax (default DefaultReconnectMax), with jitter, and
	// starts again after a connection that held (heldFor).
	BackoffMin time.Duration
	// HeldFor is how long a connection must stay up after registration
	// for the next disconnect to start again from BackoffMin (default
	// 10 s).
	HeldFor time.Duration
	// KickDelay is how long the bot waits before rejoining a channel it
	// was kicked from, times the number of kicks on this connection
	// (default 5 s).
	KickDelay time.Duration
	// NoAccountCaps leaves out account-tag, extended-join and
	// account-notify, as on a server without them: accounts then come
	// from WHOX only (tests of that fallback).
	NoAccountCaps bool
	// NoAccountTag leaves out account-tag only, as on a server with
	// account-notify and extended-join but without it: accounts then
	// come from JOINs, ACCOUNT and WHOX (tests of that case).
	NoAccountTag bool
	// NoEchoCaps leaves out echo-message and labeled-response, as on a
	// server without them: delivery is then confirmed by PING fences
	// (tests of that fallback).
	NoEchoCaps bool
	// NoLabels leaves out labeled-response only: echoes are matched by
	// content and order (tests of that fallback).
	NoLabels bool
	// SilentAfter is how long a written line may stay unconfirmed before
	// the link is probed with a PING (default 10 s); ProbeTimeout how
	// long the PONG may take before the connection is recycled (default
	// 15 s).
	SilentAfter, ProbeTimeout time.Duration
	// StateDir is where the transport keeps files of its own: the STS
	// policies of the servers (irc-sts.json). "" keeps them in memory.
	StateDir string
	// JoinRetryMin is the first delay before retrying a refused JOIN
	// (471/473/474/475; default 5 s); it doubles up to JoinRetryMax
	// (default 5 m), with jitter.
	JoinRetryMin, JoinRetryMax time.Duration
}

// Stats are transport health figures for metrics.
type Stats struct {
	Connected  bool
	QueueDepth int64 // lines waiting for the flood limiter
	Sent       int64 // lines written
	SendErrors int64 // Send calls that failed
	Reconnects int64 // successful connections after the first
	InFlight   int64 // lines written, awaiting the server's confirmation
	// SilentDrops counts connections recycled because the link went
	// silent with lines unconfirmed.
	SilentDrops int64
}

// Transport is the IRC implementation of transport.Transport. Its methods are
// safe for concurrent use; Run must be called once.
type Transport struct {
	cfg        *Config // as started; channels come from chanCfg, the SASL password from saslSecret
	log        *slog.Logger
	opt        Options
	lim        *Limiter
	formatting bool

	wake chan struct{} // signals the writer that the queue changed

	mu         sync.Mutex
	channels   []chat.Channel       // replaced as a whole by ReloadChannels
	saslSecret config.Secret        // the SASL password; replaced by ReloadChannels
	chanCfg    []Channel            // same order as channels
	conn       *ircevent.Connection // nil while disconnected
	gen        uint64               // connection generation
	casemap    string
	chantypes  string
	accountTag bool
	// accountNotify: the server tells us when a nick logs in or out, so a
	// cached account stays true.
	accountNotify bool
	whox          bool
	hasAccounts   bool // the server has services accounts (advice to unidentified senders)
	nickServ      bool // NickServ is a network service here (nickserv.go)
	stsUpgrade    int  // the TLS port a plaintext link was just told to move to (sts.go)
	sts           *stsStore
	accounts      map[string]string          // folded nick -> account ("" = not logged in)
	members       map[string]map[string]bool // folded nick -> folded channels shared with us
	named         map[string]bool            // folded channels whose NAMES list has ended (members known)
	prefixes      string                     // membership prefixes of NAMES replies (ISUPPORT PREFIX)
	pending       map[string][]func(string)  // folded nick -> waiting for a WHOX account
	kicks         map[string]int             // folded channel -> rejoins after KICK on this connection
	queue         [3][]*outLine              // by priority: control, other, reply
	lastPrio      int                        // priority of the last message line written
	ctcpLast      time.Time
	inbox         transport.Inbox
	runCtx        context.Context

	// delivery confirmation (this connection)
	wmu      sync.Mutex        // orders write sequence numbers with the writes; before mu
	echo     bool              // echo-message acknowledged
	labels   bool              // labeled-response (and batch) acknowledged too
	wseq     uint64            // write sequence
	inflight []*flight         // written, unconfirmed, in write order
	fences   map[string]uint64 // PING token -> lines before this seq are confirmed by its PONG
	fenceGen uint64            // a fence is due on this connection generation (0: none)
	probeTok string            // outstanding link probe
	probeAt  time.Time

	// channel health
	joined   map[string]bool       // folded channels the bot is in now
	joining  map[string]bool       // folded channels with a JOIN unanswered
	joinCh   chan struct{}         // closed (and replaced) when joined/joining change
	joinFail map[string]*joinState // folded channel -> refused JOINs in a row

	sent, sendErrors, reconnects, silentDrops atomic.Int64
	everConnected                             atomic.Bool
	nickServRefused                           atomic.Bool  // the withheld IDENTIFY was said once
	saslMissing                               atomic.Int32 // connections in a row whose CAP LS lacked sasl
}

// New builds an IRC transport from the [irc] configuration. It does not
// connect; Run does.
func New(cfg *Config, o Options) (*Transport, error) {
	if cfg == nil {
		return nil, errors.New("irc: no configuration")
	}
	if cfg.Server == "" {
		return nil, errors.New("irc: server is required")
	}
	if cfg.Nick == "" {
		return nil, errors.New("irc: nick is required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	if o.Version == "" {
		o.Version = "ksecbot"
	}
	if o.BackoffMin <= 0 {
		o.BackoffMin = time.Second
	}
	if o.HeldFor <= 0 {
		o.HeldFor = heldFor
	}
	if o.KickDelay <= 0 {
		o.KickDelay = kickDelay
	}
	if o.SilentAfter <= 0 {
		o.SilentAfter = silentAfter
	}
	if o.ProbeTimeout <= 0 {
		o.ProbeTimeout = probeTimeout
	}
	if o.JoinRetryMin <= 0 {
		o.JoinRetryMin = joinRetryMin
	}
	if o.JoinRetryMax <= 0 {
		o.JoinRetryMax = joinRetryMax
	}
	t := &Transport{
		cfg:        cfg,
		log:        o.Logger.With("component", Name), // the one place the component is set
		opt:        o,
		lim:        NewLimiter(cfg.Flood.Burst, cfg.Flood.Interval.Duration, cfg.Flood.Disabled, o.Now),
		formatting: cfg.Formatting == nil || *cfg.Formatting,
		wake:       make(chan struct{}, 1),
		casemap:    CaseRFC1459,
		chantypes:  "#&",
		accounts:   map[string]string{},
		members:    map[string]map[string]bool{},
		named:      map[string]bool{},
		prefixes:   defaultPrefixes,
		pending:    map[string][]func(string){},
		kicks:      map[string]int{},
		fences:     map[string]uint64{},
		joined:     map[string]bool{},
		joining:    map[string]bool{},
		joinCh:     make(chan struct{}),
		joinFail:   map[string]*joinState{},
	}
	chanCfg, channels, err := buildChannels(cfg.Channels, CaseRFC1459)
	if err != nil {
		return nil, err
	}
	t.chanCfg, t.channels = chanCfg, channels
	t.saslSecret = cfg.SASLPassword
	t.sts = newSTSStore(o.StateDir)
	return t, nil
}

// Network returns Name.
func (t *Transport) Network() string { return Name }

// Channels returns one chat.Channel per configured [[irc.channel]], as of
// the last ReloadChannels.
func (t *Transport) Channels() []chat.Channel {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]chat.Channel(nil), t.channels...)
}

// Connected reports whether the bot is registered on the server now.
func (t *Transport) Connected() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.conn != nil
}

// Stats returns the transport's health figures.
func (t *Transport) Stats() Stats {
	t.mu.Lock()
	depth := 0
	for _, q := range t.queue {
		depth += len(q)
	}
	connected := t.conn != nil
	inflight := len(t.inflight)
	t.mu.Unlock()
	return Stats{
		Connected:   connected,
		QueueDepth:  int64(depth),
		Sent:        t.sent.Load(),
		SendErrors:  t.sendErrors.Load(),
		Reconnects:  t.reconnects.Load(),
		InFlight:    int64(inflight),
		SilentDrops: t.silentDrops.Load(),
	}
}

// DeliveryStats returns the lines written and not yet confirmed by the
// server, and how many connections were recycled because the link went
// silent (for /metrics).
func (t *Transport) DeliveryStats() (unconfirmed, silentDrops int64) {
	st := t.Stats()
	return st.InFlight, st.SilentDrops
}

// channelConfig returns the configuration of a channel we are configured
// for, by name under the current casemapping. Caller holds t.mu.
func (t *Transport) channelConfig(name string) (int, bool) {
	f := Fold(t.casemap, name)
	for i, c := range t.chanCfg {
		if Fold(t.casemap, c.Name) == f {
			return i, true
		}
	}
	return 0, false
}

// Run connects and stays connected until ctx is done (then it returns nil)
// or a permanent error (wrong SASL password, banned) happens; that error
// wraps transport.ErrPermanent. Incoming messages go to in.
func (t *Transport) Run(ctx context.Context, in transport.Inbox) error {
	t.mu.Lock()
	t.inbox = in
	t.runCtx = ctx
	t.mu.Unlock()
	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); t.writer(wctx) }()
	defer func() { stop(); wg.Wait() }()

	maxDelay := t.cfg.ReconnectMax.Duration
	if maxDelay <= 0 {
		maxDelay = DefaultReconnectMax
	}
	reconnect := backoff.Backoff{Min: t.opt.BackoffMin, Max: maxDelay, Jitter: true, Rand: t.opt.Rand}
	for {
		s := newSession(t)
		err := s.run(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if perm := s.permanentError(); perm != nil {
			// not logged here: the caller reports the returned error once
			// (the core tells the other networks and /healthz)
			if !errors.Is(perm, transport.ErrPermanent) {
				perm = transport.Permanent(perm)
			}
			return perm
		}
		if s.registered && time.Since(s.registeredAt) >= t.opt.HeldFor {
			reconnect.Reset() // the link held: a new cut starts from the shortest delay
		}
		if s.movedForSTS() {
			continue // to the TLS port at once
		}
		d := reconnect.Next()
		t.log.Warn("disconnected, reconnecting", "server", t.cfg.Server, "err", err, "in", d.Round(time.Millisecond))
		timer := time.NewTimer(d)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
	}
}
