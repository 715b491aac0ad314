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
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/crypto/cryptohelper"
	"maunium.net/go/mautrix/event"
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
}

// Transport is the Matrix transport. It implements transport.Transport. Send,
// Connected, Channels and Stats are safe to call from any goroutine.
type Transport struct {
	cfg    *config.Matrix // as started; rooms come from channels
	log    *slog.Logger
	opts   Options
	admins map[id.UserID]bool

	statePath, cryptoPath, picklePath string

	mu        sync.Mutex
	channels  []chat.Channel          // configured rooms; replaced by ReloadChannels
	byName    map[string]chat.Channel // configured id/alias -> channel
	runCtx    context.Context         // Run's, for joins and leaves after a reload
	cli       *mautrix.Client
	st        *state
	userID    id.UserID
	rooms     map[id.RoomID]chat.Channel // joined configured rooms
	resolved  map[string]id.RoomID       // configured id/alias (or target) -> room ID
	startMs   int64
	connected atomic.Bool
	sendMu    sync.Mutex // one send at a time keeps the sent table consistent
	joinMu    sync.Mutex // one joinRooms at a time: no room is joined twice
	// joinRetries holds the backoff of configured rooms (by configured
	// name) whose last join failed; joinKick wakes the join loop.
	joinRetries map[string]*joinRetry
	joinKick    chan struct{}
	// alerts is Run's inbox when it hears of channel trouble; roomsOK
	// holds the configured rooms reported joined to it (join.go).
	alerts  transport.Alerts
	roomsOK map[string]bool

	sent, sendErrors, decryptErrors, joinAttempts atomic.Int64

	decryptSeen sync.Map // session ID -> struct{}: decrypt failures logged once per session
	invites     sync.Map // room ID -> struct{}: invites being handled
}

var _ transport.Transport = (*Transport)(nil)

// New checks the configuration and returns a transport; it does not connect.
func New(cfg *config.Matrix, o Options) (*Transport, error) {
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
		cfg:         cfg,
		log:         o.Logger.With("component", config.NetMatrix), // the one place the component is set
		opts:        o,
		admins:      map[id.UserID]bool{},
		rooms:       map[id.RoomID]chat.Channel{},
		resolved:    map[string]id.RoomID{},
		joinRetries: map[string]*joinRetry{},
		joinKick:    make(chan struct{}, 1),
	}
	channels, byName, err := buildRooms(cfg.Rooms)
	if err != nil {
		return nil, err
	}
	t.channels, t.byName = channels, byName
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
	return t, nil
}

// Network returns config.NetMatrix.
func (t *Transport) Network() string { return config.NetMatrix }

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
	}
}

// permanent wraps err as a transport.ErrPermanent.
func permanent(err error) error { return fmt.Errorf("%w: %w", transport.ErrPermanent, err) }

// Run connects, joins the rooms and syncs until ctx is done, handing
// commands to in. It returns nil when ctx is done and an error wrapping
// transport.ErrPermanent for a rejected token or password.
func (t *Transport) Run(ctx context.Context, in transport.Inbox) error {
	st, err := openState(t.statePath)
	if err != nil {
		return permanent(err)
	}
	defer st.Close()
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
			return permanent(fmt.Errorf("matrix access token rejected: %w", err))
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

// setup logs in, sets up the syncer and, when configured, encryption.
func (t *Transport) setup(ctx context.Context, st *state, in transport.Inbox) (*mautrix.Client, *cryptohelper.CryptoHelper, error) {
	cli, err := mautrix.NewClient(t.cfg.Homeserver, "", "")
	if err != nil {
		return nil, nil, permanent(fmt.Errorf("failed to create matrix client: %w", err))
	}
	cli.DefaultHTTPRetries = 4 // 429 and 5xx honour Retry-After; network errors back off
	cli.DefaultHTTPBackoff = time.Second
	cli.MaxHTTPBackoff = time.Minute
	cli.UserAgent = "ksecbot/" + t.opts.Version
	cli.Store = st
	if err := t.login(ctx, cli, st); err != nil {
		return nil, nil, err
	}
	t.mu.Lock()
	t.userID = cli.UserID
	t.mu.Unlock()

	sy := &syncer{DefaultSyncer: mautrix.NewDefaultSyncer(), t: t}
	cli.Syncer = sy
	sy.OnSync(t.onSync(cli))
	var helper *cryptohelper.CryptoHelper
	if t.cfg.Encryption {
		key, err := t.pickleKey()
		if err != nil {
			return nil, nil, permanent(err)
		}
		helper, err = cryptohelper.NewCryptoHelper(cli, key, t.cryptoPath)
		if err != nil {
			return nil, nil, permanent(fmt.Errorf("failed to set up matrix encryption: %w", err))
		}
		helper.DecryptErrorCallback = t.onDecryptError
		if err := helper.Init(ctx); err != nil {
			_ = helper.Close()
			return nil, nil, fmt.Errorf("failed to start matrix encryption: %w", err)
		}
		cli.Crypto = helper
	}
	sy.OnEventType(event.EventMessage, t.onMessage(in))
	return cli, helper, nil
}

// login uses the access token, or a stored session, or the password with the
// stored device ID. The session is kept so that restarts keep the device
// (crypto identity) and the scope of transaction IDs.
func (t *Transport) login(ctx context.Context, cli *mautrix.Client, st *state) error {
	if tok := t.cfg.AccessToken.Reveal(); tok != "" {
		cli.AccessToken = tok
		who, err := cli.Whoami(ctx)
		if err != nil {
			if errors.Is(err, mautrix.MUnknownToken) || errors.Is(err, mautrix.MForbidden) {
				return permanent(fmt.Errorf("matrix access token rejected: %w", err))
			}
			return fmt.Errorf("failed to check the matrix access token: %w", err)
		}
		if t.cfg.UserID != "" && who.UserID != id.UserID(t.cfg.UserID) {
			return permanent(fmt.Errorf("matrix access token belongs to %s, not %s", who.UserID, t.cfg.UserID))
		}
		// device_id: the token's device, for servers whose whoami does
		// not say; a token of another device is a configuration mistake.
		if want := id.DeviceID(t.cfg.DeviceID); want != "" && who.DeviceID != "" && who.DeviceID != want {
			return permanent(fmt.Errorf("matrix access token belongs to device %s, not matrix.device_id %s: remove device_id or use that device's token", who.DeviceID, want))
		} else if who.DeviceID == "" {
			who.DeviceID = want
		}
		cli.UserID, cli.DeviceID = who.UserID, who.DeviceID
		return nil
	}
	uid := id.UserID(t.cfg.UserID)
	skey := "session/" + string(uid)
	if tok, err := st.get(ctx, skey+"/token"); err != nil {
		return permanent(err)
	} else if tok != "" {
		cli.AccessToken = tok
		who, err := cli.Whoami(ctx)
		switch {
		case err == nil && who.UserID == uid && (t.cfg.DeviceID == "" || string(who.DeviceID) == t.cfg.DeviceID):
			cli.UserID, cli.DeviceID = who.UserID, who.DeviceID
			return nil
		case err == nil || errors.Is(err, mautrix.MUnknownToken):
			t.log.Info("stored session is no longer valid, logging in again")
		default:
			return fmt.Errorf("failed to check the stored matrix session: %w", err)
		}
		cli.AccessToken = ""
	}
	device, err := st.get(ctx, skey+"/device")
	if err != nil {
		return permanent(err)
	}
	if t.cfg.DeviceID != "" {
		device = t.cfg.DeviceID // device_id: log in as this device
	}
	localpart, _, _ := uid.Parse()
	resp, err := cli.Login(ctx, &mautrix.ReqLogin{
		Type:                     mautrix.AuthTypePassword,
		Identifier:               mautrix.UserIdentifier{Type: mautrix.IdentifierTypeUser, User: localpart},
		Password:                 t.cfg.Password.Reveal(),
		DeviceID:                 id.DeviceID(device),
		InitialDeviceDisplayName: "ksecbot " + t.opts.Version,
		StoreCredentials:         true,
	})
	if err != nil {
		if errors.Is(err, mautrix.MForbidden) || errors.Is(err, mautrix.MUserDeactivated) {
			return permanent(fmt.Errorf("matrix login as %s failed: %w", uid, err))
		}
		return fmt.Errorf("failed to log in to matrix: %w", err)
	}
	if err := st.set(ctx, skey+"/device", string(resp.DeviceID)); err != nil {
		return permanent(err)
	}
	if err := st.set(ctx, skey+"/token", resp.AccessToken); err != nil {
		return permanent(err)
	}
	return nil
}

// pickleKey returns the configured pickle key, or reads or creates the key
// file beside the state.
func (t *Transport) pickleKey() ([]byte, error) {
	if k := t.cfg.PickleKey.Reveal(); k != "" {
		return []byte(k), nil
	}
	b, err := os.ReadFile(t.picklePath)
	if err == nil {
		k := strings.TrimSpace(string(b))
		if k == "" {
			return nil, fmt.Errorf("matrix pickle key file %s is empty", t.picklePath)
		}
		return []byte(k), nil
	}
	if !errors.Is(err, os.ErrNotExist) || t.cfg.PickleKeyFile != "" {
		return nil, fmt.Errorf("failed to read the matrix pickle key: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("failed to generate a pickle key: %w", err)
	}
	k := hex.EncodeToString(raw)
	if err := os.MkdirAll(filepath.Dir(t.picklePath), 0o700); err != nil {
		return nil, fmt.Errorf("failed to create the pickle key directory: %w", err)
	}
	f, err := os.OpenFile(t.picklePath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("failed to create the pickle key file: %w", err)
	}
	if _, err := f.WriteString(k + "\n"); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("failed to write the pickle key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("failed to write the pickle key file: %w", err)
	}
	t.log.Info("generated a new pickle key", "path", t.picklePath)
	return []byte(k), nil
}

// allJoined reports whether every configured room is joined.
func (t *Transport) allJoined() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.rooms) >= len(t.channels)
}

// syncer marks the transport connected or not and backs off on failures.
type syncer struct {
	*mautrix.DefaultSyncer
	t        *Transport
	failures int
}

// OnFailedSync implements mautrix.Syncer.
func (s *syncer) OnFailedSync(_ *mautrix.RespSync, err error) (time.Duration, error) {
	s.t.connected.Store(false)
	if errors.Is(err, mautrix.MUnknownToken) {
		return 0, err
	}
	d := backoff.Delay(s.failures, s.t.opts.RetryMin, s.t.opts.RetryMax, nil)
	s.failures++
	s.t.log.Debug("sync failed", "err", err, "retry_in", d)
	return d, nil
}

// onSync runs first on every sync response: it marks the transport
// connected, handles invites and wakes the join loop when a room is
// missing (the loop decides whether its backoff allows an attempt).
func (t *Transport) onSync(cli *mautrix.Client) mautrix.SyncHandler {
	return func(ctx context.Context, resp *mautrix.RespSync, _ string) bool {
		if s, ok := cli.Syncer.(*syncer); ok {
			s.failures = 0
		}
		t.recordOwnSends(ctx, cli, resp)
		t.connected.Store(true)
		for rid, room := range resp.Rooms.Invite {
			t.handleInvite(ctx, cli, rid, room)
		}
		if !t.allJoined() {
			t.kickJoins()
		}
		return true
	}
}

// recordOwnSends records the bot's own events that come back in a sync with
// our transaction ID as sent. A send cut short by a crash may be stored by
// the homeserver without its transaction ID being remembered (Dendrite caches
// it only once the PUT completes), so the first sync after a restart is what
// keeps the outbox from sending that message a second time. It runs before
// the transport is marked connected, so before the deliverer resumes.
func (t *Transport) recordOwnSends(ctx context.Context, cli *mautrix.Client, resp *mautrix.RespSync) {
	t.mu.Lock()
	st := t.st
	t.mu.Unlock()
	if st == nil {
		return
	}
	for rid, room := range resp.Rooms.Join {
		for _, evt := range room.Timeline.Events {
			txn := evt.Unsigned.TransactionID
			if evt.Sender != cli.UserID || !strings.HasPrefix(txn, "ksecbot-") {
				continue
			}
			if err := st.recordSent(ctx, txn, string(rid), string(evt.ID), t.opts.Now().Unix()); err != nil {
				t.log.Warn("failed to record a sent message", "err", err)
			}
		}
	}
}

// handleInvite accepts an invite to a configured room or from an admin and
// rejects every other, so no invite is left pending.
func (t *Transport) handleInvite(ctx context.Context, cli *mautrix.Client, rid id.RoomID, room *mautrix.SyncInvitedRoom) {
	if _, busy := t.invites.LoadOrStore(rid, struct{}{}); busy {
		return
	}
	var inviter id.UserID
	var alias string
	for _, evt := range room.State.Events {
		switch {
		case evt.Type == event.StateMember && evt.GetStateKey() == string(cli.UserID):
			inviter = evt.Sender
		case evt.Type == event.StateCanonicalAlias:
			if a, ok := evt.Content.Raw["alias"].(string); ok {
				alias = a
			}
		}
	}
	t.mu.Lock()
	_, byID := t.byName[string(rid)]
	_, resolved := t.rooms[rid]
	_, byAlias := t.byName[alias]
	t.mu.Unlock()
	accept := byID || resolved || (alias != "" && byAlias) || t.admins[inviter]
	go func() {
		defer t.invites.Delete(rid)
		if accept {
			if _, err := cli.JoinRoomByID(ctx, rid); err != nil {
				t.log.Warn("failed to accept invite", "room_id", rid, "inviter", inviter, "err", err)
				return
			}
			t.log.Info("accepted invite", "room_id", rid, "inviter", inviter)
			t.joinNow(t.inviteNames(rid, alias)...)
			return
		}
		if _, err := cli.LeaveRoom(ctx, rid); err != nil {
			t.log.Warn("failed to reject invite", "room_id", rid, "inviter", inviter, "err", err)
			return
		}
		t.log.Info("rejected invite to an unconfigured room", "room_id", rid, "inviter", inviter)
	}()
}

// onDecryptError counts every failure and logs it once per megolm session.
func (t *Transport) onDecryptError(evt *event.Event, err error) {
	t.decryptErrors.Add(1)
	session := string(evt.RoomID)
	if c, ok := evt.Content.Parsed.(*event.EncryptedEventContent); ok && c.SessionID != "" {
		session = string(c.SessionID)
	}
	if _, seen := t.decryptSeen.LoadOrStore(session, struct{}{}); seen {
		return
	}
	t.log.Warn("cannot decrypt event", "room_id", evt.RoomID, "event_id", evt.ID,
		"sender", evt.Sender, "session", session, "reason", err)
}

// onMessage hands m.text messages in configured rooms to the inbox. It never
// panics into the syncer (a panic would stop sync).
func (t *Transport) onMessage(in transport.Inbox) mautrix.EventHandler {
	return func(ctx context.Context, evt *event.Event) {
		defer func() {
			if r := recover(); r != nil {
				t.log.Error("panic while handling a message", "event_id", evt.ID, "panic", r)
			}
		}()
		if since, _ := ctx.Value(mautrix.SyncTokenContextKey).(string); since == "" {
			return // the first sync after login replays history: never commands
		}
		msg, ok := t.incoming(evt)
		if ok {
			in.Receive(ctx, msg)
		}
	}
}

// incoming converts an event to a chat.Incoming, or reports false for events
// that are not commands: own events, notices, edits, old events, and events
// in rooms that are not configured.
func (t *Transport) incoming(evt *event.Event) (chat.Incoming, bool) {
	t.mu.Lock()
	self, startMs := t.userID, t.startMs
	ch, known := t.rooms[evt.RoomID]
	t.mu.Unlock()
	if !known || evt.Sender == self || evt.Timestamp < startMs {
		return chat.Incoming{}, false
	}
	content, ok := evt.Content.Parsed.(*event.MessageEventContent)
	if !ok || content.MsgType != event.MsgText {
		return chat.Incoming{}, false
	}
	if content.RelatesTo.GetReplaceID() != "" || content.NewContent != nil {
		return chat.Incoming{}, false
	}
	content.RemoveReplyFallback()
	return chat.Incoming{
		Channel: ch,
		Target:  string(evt.RoomID),
		Sender:  chat.Identity{Network: config.NetMatrix, Account: string(evt.Sender), Nick: string(evt.Sender), Kind: "Matrix user"},
		Text:    chat.Sanitize(content.Body),
		ID:      string(evt.ID),
		ReplyTo: string(content.RelatesTo.GetReplyTo()),
	}, true
}

// Send posts one message as one event (see Render: m.text when it
// highlights someone, m.notice otherwise) and returns its event ID. A
// message whose key was already accepted is not posted again: the recorded
// event ID is returned. While the homeserver is unreachable it returns an
// error and sends nothing; rate limits and 5xx answers are retried,
// honouring Retry-After.
func (t *Transport) Send(ctx context.Context, out chat.Outgoing) (string, error) {
	t.mu.Lock()
	cli, st := t.cli, t.st
	t.mu.Unlock()
	if cli == nil || st == nil || !t.Connected() {
		t.sendErrors.Add(1)
		return "", ErrNotConnected
	}
	if len(out.Lines) == 0 {
		return "", errors.New("matrix: message has no lines")
	}
	t.sendMu.Lock()
	defer t.sendMu.Unlock()
	txn := TxnID(out)
	if ev, err := st.sentEvent(ctx, txn); err != nil {
		t.sendErrors.Add(1)
		return "", err
	} else if ev != "" {
		return ev, nil
	}
	rid, err := t.roomFor(ctx, cli, out)
	if err != nil {
		t.sendErrors.Add(1)
		return "", err
	}
	resp, err := cli.SendMessageEvent(ctx, rid, event.EventMessage, Render(out), mautrix.ReqSendEvent{TransactionID: txn})
	if err != nil {
		t.sendErrors.Add(1)
		return "", fmt.Errorf("failed to send to %s: %w", rid, err)
	}
	t.sent.Add(1)
	if err := st.recordSent(ctx, txn, string(rid), string(resp.EventID), t.opts.Now().Unix()); err != nil {
		t.log.Warn("failed to record a sent message", "err", err)
	}
	return string(resp.EventID), nil
}

// roomFor finds the room ID of a message's target (a configured ID or alias,
// or a room ID), resolving aliases once.
func (t *Transport) roomFor(ctx context.Context, cli *mautrix.Client, out chat.Outgoing) (id.RoomID, error) {
	target := out.Target
	if target == "" {
		target = strings.TrimPrefix(out.Channel, config.NetMatrix+":")
	}
	t.mu.Lock()
	rid, ok := t.resolved[target]
	t.mu.Unlock()
	if ok {
		return rid, nil
	}
	switch {
	case strings.HasPrefix(target, "!"):
		return id.RoomID(target), nil
	case strings.HasPrefix(target, "#"):
		resp, err := cli.ResolveAlias(ctx, id.RoomAlias(target))
		if err != nil {
			return "", fmt.Errorf("failed to resolve %s: %w", target, err)
		}
		t.mu.Lock()
		t.resolved[target] = resp.RoomID
		t.mu.Unlock()
		return resp.RoomID, nil
	}
	return "", fmt.Errorf("matrix: target %q is not a room ID or alias", target)
}
