// SPDX-License-Identifier: GPL-3.0-or-later

// Package matrix is ksecbot's Matrix transport, and the only package that
// imports mautrix. Build it with -tags goolm (pure-Go olm) and cgo (SQLite).
//
// The transport logs in with an access token or a password (keeping the
// device and the access token, so restarts reuse both), joins the configured
// rooms, optionally runs end-to-end encryption through mautrix's
// cryptohelper, persists the sync token, and sends each outgoing message with
// a transaction ID derived from its key, so that it is posted at most once.
package matrix

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/crypto/cryptohelper"
	"maunium.net/go/mautrix/id"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/backoff"
	"github.com/ksecbot/ksecbot/transport"
)

// ErrNotConnected is returned by Send while the homeserver is not reachable.
var ErrNotConnected = errors.New("matrix: not connected to the homeserver")

// Options are the transport's non-configuration inputs.
type Options struct {
	Logger *slog.Logger
	// StateDir is where the state and crypto SQLite files go when
	// cfg.StatePath is empty.
	StateDir string
	// Version is sent as part of the device display name.
	Version string
	// Now is the clock (for "ignore events from before start"); default time.Now.
	Now func() time.Time
	// RetryMin and RetryMax bound the reconnect backoff; defaults 1s and
	// 30s. Each delay is jittered over [d/2, d) (internal/backoff).
	RetryMin, RetryMax time.Duration
	// JoinRetryMin and JoinRetryMax bound the backoff between attempts to
	// join a configured room that cannot be joined (yet); defaults 2s and
	// 5 min, jittered like reconnects. An invite to the room is accepted at
	// once whatever the backoff.
	JoinRetryMin, JoinRetryMax time.Duration
}

// Stats are the transport's health counters.
type Stats struct {
	Connected     bool
	Sent          int64
	SendErrors    int64
	DecryptErrors int64
	// JoinAttempts counts join requests for configured rooms.
	JoinAttempts int64
	// RateLimited counts the homeserver's 429 answers.
	RateLimited int64
}

// Transport is the Matrix transport. It implements transport.Transport. Send,
// Connected, Channels and Stats are safe to call from any goroutine.
type Transport struct {
	cfg    *Config // as started; rooms come from channels
	log    *slog.Logger
	opts   Options
	admins map[id.UserID]bool

	statePath, cryptoPath, picklePath, recoveryPath string

	mu       sync.Mutex
	channels []chat.Channel // configured rooms; replaced by ReloadChannels
	// token and password log in; replaced by ReloadChannels for the next
	// login (a token refused and then fixed).
	token, password config.Secret
	byName          map[string]chat.Channel // configured id/alias -> channel
	runCtx          context.Context         // Run's, for joins and leaves after a reload
	cli             *mautrix.Client
	st              *state
	userID          id.UserID
	rooms           map[id.RoomID]chat.Channel // joined configured rooms
	resolved        map[string]id.RoomID       // configured id/alias (or target) -> room ID
	startMs         int64
	connected       atomic.Bool
	crypt           *roomCrypto              // with encryption: room keys shared per room (keyshare.go)
	queues          map[id.RoomID]*roomQueue // one send queue per room (ratelimit.go)
	// plainChecked: rooms the homeserver said are not encrypted, this run (knowEncryption)
	plainChecked map[id.RoomID]bool
	joinMu       sync.Mutex // one joinRooms at a time: no room is joined twice
	// joinRetries holds the backoff of configured rooms (by configured
	// name) whose last join failed; joinKick wakes the join loop.
	joinRetries map[string]*joinRetry
	// follows: configured rooms that were upgraded, by configured name (tombstone.go)
	follows  map[string]followed
	joinKick chan struct{}
	// alerts is Run's inbox when it hears of channel trouble; roomsOK
	// holds the configured rooms reported joined to it (join.go).
	alerts  transport.Alerts
	roomsOK map[string]bool

	sent, sendErrors, decryptErrors, joinAttempts, rateLimits atomic.Int64

	limitMu  sync.Mutex
	episodes map[id.RoomID]*limitEpisode // rate limits going on, by room ("" outside rooms)

	recent recentMessages // messages handed to the core: their thread, reply, edited original (threads.go)
	batch  syncBatch      // what the sync response being handled withdraws or corrects (incoming.go)

	decryptSeen sync.Map // session ID -> struct{}: decrypt failures logged once per session
	invites     sync.Map // room ID -> struct{}: invites being handled
}

var _ transport.Transport = (*Transport)(nil)

// New checks the configuration and returns a transport; it does not connect.
func New(cfg *Config, o Options) (*Transport, error) {
	if cfg == nil {
		return nil, errors.New("matrix: no [matrix] configuration")
	}
	if cfg.Homeserver == "" {
		return nil, errors.New("matrix.homeserver is required")
	}
	if cfg.AccessToken == "" && cfg.Password == "" {
		return nil, errors.New("matrix: an access token or a password is required")
	}
	if cfg.AccessToken == "" && cfg.UserID == "" {
		return nil, errors.New("matrix.user_id is required for password login")
	}
	if cfg.UserID != "" {
		if _, _, err := id.UserID(cfg.UserID).Parse(); err != nil {
			return nil, fmt.Errorf("matrix.user_id %q: %w", cfg.UserID, err)
		}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RetryMin <= 0 {
		o.RetryMin = time.Second
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 30 * time.Second
	}
	if o.JoinRetryMin <= 0 {
		o.JoinRetryMin = 2 * time.Second
	}
	if o.JoinRetryMax <= 0 {
		o.JoinRetryMax = 5 * time.Minute
	}
	t := &Transport{
		cfg:          cfg,
		log:          o.Logger.With("component", Name), // the one place the component is set
		opts:         o,
		admins:       map[id.UserID]bool{},
		rooms:        map[id.RoomID]chat.Channel{},
		resolved:     map[string]id.RoomID{},
		joinRetries:  map[string]*joinRetry{},
		joinKick:     make(chan struct{}, 1),
		follows:      map[string]followed{},
		queues:       map[id.RoomID]*roomQueue{},
		plainChecked: map[id.RoomID]bool{},
		episodes:     map[id.RoomID]*limitEpisode{},
	}
	channels, byName, err := buildRooms(cfg.Rooms)
	if err != nil {
		return nil, err
	}
	t.channels, t.byName = channels, byName
	t.token, t.password = cfg.AccessToken, cfg.Password
	for _, a := range cfg.Admins {
		t.admins[id.UserID(a)] = true
	}
	t.statePath = cfg.StatePath
	if t.statePath == "" {
		if o.StateDir == "" {
			return nil, errors.New("matrix: no state_path and no state directory")
		}
		t.statePath = filepath.Join(o.StateDir, "matrix.db")
	}
	base := strings.TrimSuffix(t.statePath, ".db")
	t.cryptoPath = base + "-crypto.db"
	t.picklePath = cfg.PickleKeyFile
	if t.picklePath == "" {
		t.picklePath = base + ".pickle"
	}
	t.recoveryPath = cfg.RecoveryKeyFile
	if t.recoveryPath == "" {
		t.recoveryPath = base + ".recovery"
	}
	return t, nil
}

// Network returns Name.
func (t *Transport) Network() string { return Name }

// Channels returns one channel per configured room, as of the last
// ReloadChannels.
func (t *Transport) Channels() []chat.Channel {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]chat.Channel(nil), t.channels...)
}

// Connected reports whether the last sync succeeded.
func (t *Transport) Connected() bool { return t.connected.Load() }

// Stats returns the health counters.
func (t *Transport) Stats() Stats {
	return Stats{
		Connected:     t.Connected(),
		Sent:          t.sent.Load(),
		SendErrors:    t.sendErrors.Load(),
		DecryptErrors: t.decryptErrors.Load(),
		JoinAttempts:  t.joinAttempts.Load(),
		RateLimited:   t.rateLimits.Load(),
	}
}

// permanent marks err as a transport.ErrPermanent (a state file that
// cannot be opened).
func permanent(err error) error { return transport.Permanent(err) }

// misconfigured marks err as permanent and caused by the configuration
// (a token or password the homeserver refuses): transport.ErrConfig.
func misconfigured(err error) error { return transport.Misconfigured(err) }

// Run connects, joins the rooms and syncs until ctx is done, handing
// commands to in. It returns nil when ctx is done and an error wrapping
// transport.ErrPermanent for a rejected token or password.
func (t *Transport) Run(ctx context.Context, in transport.Inbox) error {
	st, err := openState(t.statePath)
	if err != nil {
		return permanent(err)
	}
	defer st.Close()
	t.loadFollows(ctx, st)
	t.mu.Lock()
	t.startMs = t.opts.Now().UnixMilli()
	t.runCtx = ctx
	t.alerts, _ = in.(transport.Alerts)
	t.mu.Unlock()

	var (
		cli    *mautrix.Client
		helper *cryptohelper.CryptoHelper
	)
	for attempt := 0; ; attempt++ {
		cli, helper, err = t.setup(ctx, st, in)
		if err == nil {
			break
		}
		if errors.Is(err, transport.ErrPermanent) {
			return err
		}
		t.log.Warn("connecting failed, retrying", "err", err)
		if !t.wait(ctx, attempt) {
			return nil
		}
	}
	if helper != nil {
		defer helper.Close()
	}
	t.mu.Lock()
	t.cli, t.st = cli, st
	t.mu.Unlock()
	defer func() {
		t.connected.Store(false)
		t.mu.Lock()
		t.cli, t.st = nil, nil
		t.mu.Unlock()
	}()
	t.joinRooms(ctx, cli)
	joinCtx, stopJoins := context.WithCancel(ctx)
	joinsDone := make(chan struct{})
	go func() { defer close(joinsDone); t.joinLoop(joinCtx, cli) }()
	defer func() { stopJoins(); <-joinsDone }()

	syncCtx := mautrix.WithMaxRetries(ctx, 0) // our syncer backs off; Send keeps the retries
	for attempt := 0; ; attempt++ {
		err := cli.SyncWithContext(syncCtx)
		if ctx.Err() != nil {
			return nil
		}
		t.connected.Store(false)
		if errors.Is(err, mautrix.MUnknownToken) {
			return misconfigured(fmt.Errorf("matrix access token rejected: %w", err))
		}
		t.log.Warn("sync stopped, restarting", "err", err)
		if !t.wait(ctx, attempt) {
			return nil
		}
	}
}

// wait sleeps the jittered backoff for the attempt; false when ctx ended.
func (t *Transport) wait(ctx context.Context, attempt int) bool {
	d := backoff.Delay(attempt, t.opts.RetryMin, t.opts.RetryMax, nil)
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tm.C:
		return true
	}
}
