// Package irc is ksecbot's IRC transport, built on
// github.com/ergochat/irc-go's ircevent client. It adds what ircevent lacks:
// a token-bucket writer with reply priority, reconnects with exponential
// backoff and jitter, services-account tracking (account-tag,
// extended-join, account-notify, WHOX), channel rejoin, and safe rendering
// of untrusted text into single IRC lines.
package irc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ergochat/irc-go/ircevent"
	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ksecbot/ksecbot/bot"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
)

// ErrNotConnected is returned by Send while the transport is disconnected;
// nothing was sent and the caller should keep the message.
var ErrNotConnected = errors.New("irc: not connected")

// MaxWrapLines caps how many IRC lines one chat line may become; text
// beyond that is cut and marked with "…".
const MaxWrapLines = 4

// whoxToken tags our WHOX queries so we only read our own replies.
const whoxToken = "473"

// Options are the transport's dependencies.
type Options struct {
	Logger  *slog.Logger     // default slog.Default()
	Version string           // CTCP VERSION reply
	Now     func() time.Time // clock for the flood limiter; default time.Now
	Rand    func() float64   // jitter source in [0,1); default math/rand
	// BackoffMin is the first reconnect delay (default 1 s); it doubles up
	// to cfg.ReconnectMax (default 5 m), with jitter.
	BackoffMin time.Duration
	// KickDelay is how long the bot waits before rejoining a channel it
	// was kicked from, times the number of kicks on this connection
	// (default 5 s).
	KickDelay time.Duration
}

// Stats are transport health figures for metrics.
type Stats struct {
	Connected  bool
	QueueDepth int64 // lines waiting for the flood limiter
	Sent       int64 // lines written
	SendErrors int64 // Send calls that failed
	Reconnects int64 // successful connections after the first
}

// Transport is the IRC implementation of bot.Transport. Its methods are
// safe for concurrent use; Run must be called once.
type Transport struct {
	cfg        *config.IRC
	log        *slog.Logger
	opt        Options
	channels   []chat.Channel
	chanCfg    []config.IRCChannel
	lim        *Limiter
	formatting bool

	wake chan struct{} // signals the writer that the queue changed

	mu         sync.Mutex
	conn       *ircevent.Connection // nil while disconnected
	gen        uint64               // connection generation
	casemap    string
	chantypes  string
	accountTag bool
	whox       bool
	accounts   map[string]string          // folded nick -> account ("" = not logged in)
	members    map[string]map[string]bool // folded nick -> folded channels shared with us
	pending    map[string][]func(string)  // folded nick -> waiting for a WHOX account
	kicks      map[string]int             // folded channel -> rejoins after KICK on this connection
	queue      [3][]*outLine              // by priority: control, reply, other
	ctcpLast   time.Time
	inbox      bot.Inbox
	runCtx     context.Context

	sent, sendErrors, reconnects atomic.Int64
	everConnected                atomic.Bool
}

// priorities of queued lines
const (
	prioControl = iota
	prioReply
	prioOther
)

type outLine struct {
	cmd    string
	params []string
	gen    uint64 // for control lines: only valid on this connection
	job    *job   // nil for control lines
}

type job struct {
	mu   sync.Mutex
	left int
	err  error
	done chan struct{}
}

func (j *job) finish(err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.left == 0 {
		return
	}
	if err != nil {
		j.err = err
		j.left = 0
	} else {
		j.left--
	}
	if j.left == 0 {
		close(j.done)
	}
}

func (j *job) failed() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.err != nil || j.left == 0
}

// New builds an IRC transport from the [irc] configuration. It does not
// connect; Run does.
func New(cfg *config.IRC, o Options) (*Transport, error) {
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
	if o.KickDelay <= 0 {
		o.KickDelay = kickDelay
	}
	t := &Transport{
		cfg:        cfg,
		log:        o.Logger.With("transport", "irc"),
		opt:        o,
		lim:        NewLimiter(cfg.Flood.Burst, cfg.Flood.Interval.Duration, cfg.Flood.Disabled, o.Now),
		formatting: cfg.Formatting == nil || *cfg.Formatting,
		wake:       make(chan struct{}, 1),
		casemap:    CaseRFC1459,
		chantypes:  "#&",
		accounts:   map[string]string{},
		members:    map[string]map[string]bool{},
		pending:    map[string][]func(string){},
		kicks:      map[string]int{},
	}
	for _, c := range cfg.Channels {
		if c.Name == "" || strings.ContainsAny(c.Name, " ,\x07\r\n\x00") {
			return nil, fmt.Errorf("irc: invalid channel name %q", c.Name)
		}
		t.chanCfg = append(t.chanCfg, c)
		t.channels = append(t.channels, chat.Channel{
			Key:      chat.ChannelKey(chat.NetIRC, c.Name),
			Network:  chat.NetIRC,
			Name:     c.Name,
			Private:  c.Private,
			Previews: c.Previews == nil || *c.Previews,
			Notice:   c.Notice,
		})
	}
	return t, nil
}

// Network returns chat.NetIRC.
func (t *Transport) Network() string { return chat.NetIRC }

// Channels returns one chat.Channel per configured [[irc.channel]].
func (t *Transport) Channels() []chat.Channel { return append([]chat.Channel(nil), t.channels...) }

// Connected reports whether the bot is registered on the server now.
func (t *Transport) Connected() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.conn != nil
}

// Account returns the services account last seen for nick ("" when the
// nick is known not to be logged in) and whether the nick is known.
func (t *Transport) Account(nick string) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	a, ok := t.accounts[Fold(t.casemap, nick)]
	return a, ok
}

// Stats returns the transport's health figures.
func (t *Transport) Stats() Stats {
	t.mu.Lock()
	depth := 0
	for _, q := range t.queue {
		depth += len(q)
	}
	connected := t.conn != nil
	t.mu.Unlock()
	return Stats{
		Connected:  connected,
		QueueDepth: int64(depth),
		Sent:       t.sent.Load(),
		SendErrors: t.sendErrors.Load(),
		Reconnects: t.reconnects.Load(),
	}
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

// Send renders out into IRC lines and writes them through the flood
// limiter, returning once all were written. It returns ErrNotConnected,
// without sending, while disconnected. Replies overtake queued
// announcements. Safe for concurrent use.
func (t *Transport) Send(ctx context.Context, out chat.Outgoing) (string, error) {
	id, err := t.send(ctx, out)
	if err != nil {
		t.sendErrors.Add(1)
	}
	return id, err
}

func (t *Transport) send(ctx context.Context, out chat.Outgoing) (string, error) {
	target := out.Target
	if target == "" {
		target = strings.TrimPrefix(out.Channel, chat.NetIRC+":")
	}
	if target == "" || strings.ContainsAny(target, " \r\n\x00,") || strings.HasPrefix(target, ":") {
		return "", fmt.Errorf("irc: invalid target %q", target)
	}
	t.mu.Lock()
	conn := t.conn
	if conn == nil {
		t.mu.Unlock()
		return "", ErrNotConnected
	}
	cmd := "PRIVMSG"
	if out.Notice {
		cmd = "NOTICE"
	} else if i, ok := t.channelConfig(target); ok && t.chanCfg[i].Notice {
		cmd = "NOTICE"
	}
	budget := TextBudget(conn.CurrentNick(), cmd, target)
	var lines []string
	for _, l := range out.Lines {
		lines = append(lines, Wrap(Render(l, t.formatting), budget, MaxWrapLines)...)
	}
	if len(lines) == 0 {
		t.mu.Unlock()
		return "", nil
	}
	prio := prioOther
	if out.Kind == chat.KindReply {
		prio = prioReply
	}
	j := &job{left: len(lines), done: make(chan struct{})}
	for _, s := range lines {
		t.queue[prio] = append(t.queue[prio], &outLine{cmd: cmd, params: []string{target, s}, job: j})
	}
	t.mu.Unlock()
	t.signal()
	select {
	case <-j.done:
		return "", j.err
	case <-ctx.Done():
		j.finish(ctx.Err()) // the writer skips the rest
		return "", fmt.Errorf("irc: send: %w", ctx.Err())
	}
}

func (t *Transport) signal() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// enqueueControl queues a protocol line (JOIN, WHO, MODE) for the current
// connection generation gen, ahead of messages.
func (t *Transport) enqueueControl(gen uint64, cmd string, params ...string) {
	t.mu.Lock()
	t.queue[prioControl] = append(t.queue[prioControl], &outLine{cmd: cmd, params: params, gen: gen})
	t.mu.Unlock()
	t.signal()
}

// next pops the highest-priority line, waiting for one.
func (t *Transport) next(ctx context.Context) *outLine {
	for {
		t.mu.Lock()
		for p := range t.queue {
			for len(t.queue[p]) > 0 {
				l := t.queue[p][0]
				t.queue[p][0] = nil
				t.queue[p] = t.queue[p][1:]
				if l.job != nil && l.job.failed() {
					continue // cancelled or failed earlier
				}
				t.mu.Unlock()
				return l
			}
		}
		t.mu.Unlock()
		select {
		case <-t.wake:
		case <-ctx.Done():
			return nil
		}
	}
}

// writer sends queued lines through the limiter until ctx is done.
func (t *Transport) writer(ctx context.Context) {
	for {
		l := t.next(ctx)
		if l == nil {
			return
		}
		if !t.lineValid(l) {
			t.fail(l, ErrNotConnected)
			continue
		}
		if d := t.lim.Take(); d > 0 {
			timer := time.NewTimer(d)
			select {
			case <-timer.C:
			case <-ctx.Done():
				timer.Stop()
				t.fail(l, ctx.Err())
				return
			}
		}
		t.mu.Lock()
		conn, gen := t.conn, t.gen
		t.mu.Unlock()
		if conn == nil || (l.job == nil && l.gen != gen) {
			t.fail(l, ErrNotConnected)
			continue
		}
		if err := conn.Send(l.cmd, l.params...); err != nil {
			t.fail(l, fmt.Errorf("irc: write: %w", err))
			continue
		}
		t.sent.Add(1)
		if l.job != nil {
			l.job.finish(nil)
		}
	}
}

func (t *Transport) lineValid(l *outLine) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.conn != nil && (l.job == nil || !l.job.failed()) && (l.job != nil || l.gen == t.gen)
}

func (t *Transport) fail(l *outLine, err error) {
	if l.job != nil {
		l.job.finish(err)
	}
}

// failQueued fails every queued message and drops control lines, after a
// disconnect: the callers keep their messages and retry later.
func (t *Transport) failQueued() {
	t.mu.Lock()
	var jobs []*job
	for p := range t.queue {
		for _, l := range t.queue[p] {
			if l.job != nil {
				jobs = append(jobs, l.job)
			}
		}
		t.queue[p] = nil
	}
	t.mu.Unlock()
	for _, j := range jobs {
		j.finish(ErrNotConnected)
	}
}

// Run connects and stays connected until ctx is done (then it returns nil)
// or a permanent error (wrong SASL password, banned) happens; that error
// wraps bot.ErrPermanent. Incoming messages go to in.
func (t *Transport) Run(ctx context.Context, in bot.Inbox) error {
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
		maxDelay = 5 * time.Minute
	}
	attempt := 0
	for {
		s := newSession(t)
		started := time.Now()
		err := s.run(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if perm := s.permanentError(); perm != nil {
			// not logged here: the caller reports the returned error once
			// (the daemon prints it as its last line and exits non-zero)
			return fmt.Errorf("%w: %w", bot.ErrPermanent, perm)
		}
		if s.registered && time.Since(started) > time.Minute {
			attempt = 0
		}
		d := backoff(attempt, t.opt.BackoffMin, maxDelay, t.opt.Rand)
		attempt++
		t.log.Warn("irc: disconnected, reconnecting", "server", t.cfg.Server, "err", err, "in", d.Round(time.Millisecond))
		timer := time.NewTimer(d)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
	}
}

// backoff returns the delay before reconnect attempt n (from 0): min*2^n
// capped at max, with "equal jitter" (between half and all of it).
func backoff(n int, min, max time.Duration, rnd func() float64) time.Duration {
	d := min
	for i := 0; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return d/2 + time.Duration(rnd()*float64(d/2))
}

// tlsConfig builds the TLS settings: system roots or a custom CA file,
// and a client certificate for SASL EXTERNAL.
func (t *Transport) tlsConfig() (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.cfg.TLSInsecure} //nolint:gosec // test-only option
	if t.cfg.TLSCAFile != "" {
		pem, err := os.ReadFile(t.cfg.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("irc: read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("irc: no certificate in CA file %s", t.cfg.TLSCAFile)
		}
		c.RootCAs = pool
	}
	if t.cfg.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.cfg.TLSCertFile, t.cfg.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("irc: load client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

func (t *Transport) saslPassword() string {
	if p := t.cfg.SASLPassword.Reveal(); p != "" {
		return p
	}
	if t.cfg.SASLPasswordEnv != "" {
		return os.Getenv(t.cfg.SASLPasswordEnv)
	}
	if t.cfg.SASLPasswordFile != "" {
		b, err := os.ReadFile(t.cfg.SASLPasswordFile)
		if err == nil {
			return strings.TrimSpace(string(b))
		}
		t.log.Error("irc: cannot read sasl_password_file", "err", err)
	}
	return ""
}

// isChannel reports whether target names a channel. Caller holds t.mu.
func (t *Transport) isChannel(target string) bool {
	return target != "" && strings.ContainsRune(t.chantypes, rune(target[0]))
}

// ---- per-connection session ----

// session is one connection attempt with its ircevent.Connection.
type session struct {
	t          *Transport
	conn       *ircevent.Connection
	sockMu     sync.Mutex
	sock       net.Conn
	gen        uint64
	disc       chan struct{}
	discOnce   sync.Once
	registered bool

	fatalMu  sync.Mutex
	fatal    error // a permanent failure seen on the wire
	loggedIn bool
}

func newSession(t *Transport) *session {
	return &session{t: t, disc: make(chan struct{})}
}

func (s *session) setFatal(err error) {
	s.fatalMu.Lock()
	defer s.fatalMu.Unlock()
	if s.fatal == nil {
		s.fatal = err
	}
}

func (s *session) permanentError() error {
	s.fatalMu.Lock()
	defer s.fatalMu.Unlock()
	return s.fatal
}

func (s *session) closeSock() {
	s.sockMu.Lock()
	defer s.sockMu.Unlock()
	if s.sock != nil {
		_ = s.sock.Close()
	}
}

// run connects, then waits for the disconnect or ctx.
func (s *session) run(ctx context.Context) error {
	t := s.t
	// Only what we use: each cap is one CAP REQ line, and strict servers
	// (InspIRCd's penalty counts registration too) punish long CAP bursts.
	caps := []string{"account-tag", "extended-join", "account-notify"}
	c := &ircevent.Connection{
		Server:      t.cfg.Server,
		Nick:        t.cfg.Nick,
		User:        t.cfg.User,
		RealName:    t.cfg.RealName,
		UseTLS:      t.cfg.TLS,
		RequestCaps: caps,
		Version:     t.opt.Version,
		QuitMessage: "ksecbot shutting down",
		Timeout:     30 * time.Second,
		KeepAlive:   90 * time.Second,
		Log:         slog.NewLogLogger(t.log.Handler(), slog.LevelDebug),
	}
	if c.RealName == "" {
		c.RealName = "ksecbot, Gentoo kernel security bot"
	}
	if t.cfg.TLS {
		tc, err := t.tlsConfig()
		if err != nil {
			s.setFatal(err)
			return err
		}
		c.TLSConfig = tc
	}
	switch strings.ToUpper(t.cfg.SASLMech) {
	case "EXTERNAL":
		c.SASLMech = "EXTERNAL"
		c.SASLLogin = t.cfg.SASLUser
		c.UseSASL = true
	default:
		if t.cfg.SASLUser != "" {
			c.SASLLogin = t.cfg.SASLUser
			c.SASLPassword = t.saslPassword()
			c.UseSASL = c.SASLPassword != ""
			// with the NickServ fallback, a server without SASL is not
			// an error: onConnect identifies with NickServ instead
			c.SASLOptional = t.cfg.NickServ
		}
	}
	var d net.Dialer
	c.DialContext = func(dctx context.Context, network, addr string) (net.Conn, error) {
		sock, err := d.DialContext(dctx, network, addr)
		if err == nil {
			s.sockMu.Lock()
			s.sock = sock
			s.sockMu.Unlock()
		}
		return sock, err
	}
	s.conn = c
	s.addCallbacks()

	// abort a slow Connect when ctx ends
	stopWatch := context.AfterFunc(ctx, s.closeSock)
	err := c.Connect()
	stopWatch()
	if err != nil {
		// SASL failures count as permanent only with a 904 from services
		// (set by its callback); without one (services not linked yet,
		// sasl cap missing) they are temporary.
		s.closeSock()
		var certErr *tls.CertificateVerificationError
		switch {
		case s.permanentError() != nil:
		case errors.As(err, &certErr):
			s.setFatal(fmt.Errorf("tls certificate of %s not trusted (set tls_ca_file?): %w", t.cfg.Server, err))
		}
		return fmt.Errorf("connect %s: %w", t.cfg.Server, err)
	}
	if perm := s.permanentError(); perm != nil {
		// SASL is optional with the NickServ fallback, but a password
		// services rejected (904) stays a permanent error
		c.Quit()
		s.closeSock()
		s.onDisconnect()
		return perm
	}
	s.registered = true
	select {
	case <-ctx.Done():
		c.Quit()
		timer := time.NewTimer(2 * time.Second)
		select {
		case <-s.disc:
		case <-timer.C:
		}
		timer.Stop()
		s.closeSock()
		s.onDisconnect()
		return nil
	case <-s.disc:
	}
	s.closeSock()
	return fmt.Errorf("connection to %s lost", t.cfg.Server)
}

// onDisconnect clears the connection state and fails queued sends.
func (s *session) onDisconnect() {
	s.discOnce.Do(func() {
		t := s.t
		t.mu.Lock()
		if t.gen == s.gen {
			t.conn = nil
		}
		t.accounts = map[string]string{}
		t.members = map[string]map[string]bool{}
		pending := t.pending
		t.pending = map[string][]func(string){}
		t.mu.Unlock()
		for _, fs := range pending {
			for _, f := range fs {
				f("")
			}
		}
		t.failQueued()
		close(s.disc)
	})
}

func (s *session) addCallbacks() {
	c := s.conn
	c.AddConnectCallback(func(ircmsg.Message) { s.onConnect() })
	c.AddDisconnectCallback(func(ircmsg.Message) { s.onDisconnect() })
	c.AddCallback("PRIVMSG", s.onPrivmsg)
	c.AddCallback("JOIN", s.onJoin)
	c.AddCallback("PART", func(m ircmsg.Message) {
		if len(m.Params) > 0 {
			s.onLeave(m.Nick(), m.Params[0])
		}
	})
	c.AddCallback("KICK", s.onKick)
	c.AddCallback("QUIT", func(m ircmsg.Message) { s.forget(m.Nick()) })
	c.AddCallback("NICK", s.onNick)
	c.AddCallback("ACCOUNT", func(m ircmsg.Message) {
		if len(m.Params) > 0 {
			s.setAccount(m.Nick(), accountParam(m.Params[0]))
		}
	})
	c.AddCallback("354", s.onWhox)
	c.AddCallback("315", s.onEndOfWho)
	c.AddCallback("900", func(ircmsg.Message) { s.fatalMu.Lock(); s.loggedIn = true; s.fatalMu.Unlock() })
	c.AddCallback("904", func(m ircmsg.Message) {
		s.setFatal(fmt.Errorf("sasl authentication as %q failed (%s): check sasl_user and the password", s.t.cfg.SASLUser, lastParam(m)))
	})
	c.AddCallback("902", func(m ircmsg.Message) { s.setFatal(fmt.Errorf("nick locked by services: %s", lastParam(m))) })
	c.AddCallback("464", func(m ircmsg.Message) { s.setFatal(fmt.Errorf("server password rejected: %s", lastParam(m))) })
	c.AddCallback("465", func(m ircmsg.Message) { s.setFatal(fmt.Errorf("banned from the server: %s", lastParam(m))) })
	c.AddCallback("ERROR", func(m ircmsg.Message) {
		msg := lastParam(m)
		low := strings.ToLower(msg)
		for _, w := range []string{"k-lined", "g-lined", "z-lined", "banned", "k-line", "g-line", "z-line"} {
			if strings.Contains(low, w) {
				s.setFatal(fmt.Errorf("banned from the server: %s", msg))
				return
			}
		}
		s.t.log.Warn("irc: server closed the link", "reason", msg)
	})
	for _, num := range []string{"471", "473", "474", "475", "403", "405"} {
		c.AddCallback(num, func(m ircmsg.Message) {
			ch := ""
			if len(m.Params) > 1 {
				ch = m.Params[1]
			}
			s.t.log.Error("irc: cannot join channel", "channel", ch, "numeric", m.Command, "reason", lastParam(m))
		})
	}
}

func lastParam(m ircmsg.Message) string {
	if len(m.Params) == 0 {
		return ""
	}
	return m.Params[len(m.Params)-1]
}

// accountParam maps the "*" / "0" of extended-join, ACCOUNT and WHOX to "".
func accountParam(a string) string {
	if a == "*" || a == "0" {
		return ""
	}
	return a
}

func (s *session) onConnect() {
	t, c := s.t, s.conn
	is := c.ISupport()
	capsAcked := c.AcknowledgedCaps()
	t.mu.Lock()
	t.gen++
	s.gen = t.gen
	t.conn = c
	if cm := strings.ToLower(is["CASEMAPPING"]); cm != "" {
		t.casemap = cm
	}
	if ct := is["CHANTYPES"]; ct != "" {
		t.chantypes = ct
	}
	_, t.accountTag = capsAcked["account-tag"]
	_, t.whox = is["WHOX"]
	t.kicks = map[string]int{}
	gen := t.gen
	t.mu.Unlock()
	if t.everConnected.Swap(true) {
		t.reconnects.Add(1)
	}
	// The bucket is not emptied here: like irssi, the bot may send its
	// burst (JOINs, the first announcement) right after registering; the
	// rest of a backlog then trickles out at one line per interval, which
	// stays under Libera's and the strict test server's limits.
	t.log.Info("irc: connected", "server", t.cfg.Server, "nick", c.CurrentNick(), "caps", len(capsAcked))

	if _, ok := is["BOT"]; ok && is["BOT"] != "" {
		t.enqueueControl(gen, "MODE", c.CurrentNick(), "+"+is["BOT"])
	}
	s.fatalMu.Lock()
	loggedIn := s.loggedIn
	s.fatalMu.Unlock()
	if t.cfg.NickServ && !loggedIn && t.cfg.SASLUser != "" {
		if pw := t.saslPassword(); pw != "" {
			t.enqueueControl(gen, "PRIVMSG", "NickServ", "IDENTIFY "+t.cfg.SASLUser+" "+pw)
		}
	}
	for _, ch := range t.chanCfg {
		s.join(gen, ch)
	}
}

func (s *session) join(gen uint64, ch config.IRCChannel) {
	if key := ch.ChannelKey.Reveal(); key != "" {
		s.t.enqueueControl(gen, "JOIN", ch.Name, key)
	} else if ch.Key != "" {
		s.t.enqueueControl(gen, "JOIN", ch.Name, ch.Key)
	} else {
		s.t.enqueueControl(gen, "JOIN", ch.Name)
	}
}

func (s *session) isMe(nick string) bool {
	t := s.t
	t.mu.Lock()
	defer t.mu.Unlock()
	return Fold(t.casemap, nick) == Fold(t.casemap, s.conn.CurrentNick())
}

func (s *session) onJoin(m ircmsg.Message) {
	if len(m.Params) == 0 {
		return
	}
	t := s.t
	ch, nick := m.Params[0], m.Nick()
	if s.isMe(nick) {
		t.mu.Lock()
		gen, whox := t.gen, t.whox
		t.mu.Unlock()
		t.log.Info("irc: joined", "channel", ch)
		if whox {
			t.enqueueControl(gen, "WHO", ch, "%tna,"+whoxToken)
		}
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	f := Fold(t.casemap, nick)
	t.addMember(f, ch)
	if len(m.Params) >= 3 { // extended-join: channel account :realname
		t.accounts[f] = accountParam(m.Params[1])
	} else if t.accountTag {
		_, a := m.GetTag("account")
		t.accounts[f] = a
	}
}

// addMember records that folded nick f is in channel ch. Caller holds t.mu.
func (t *Transport) addMember(f, ch string) {
	set := t.members[f]
	if set == nil {
		set = map[string]bool{}
		t.members[f] = set
	}
	set[Fold(t.casemap, ch)] = true
}

func (s *session) onLeave(nick, ch string) {
	t := s.t
	if s.isMe(nick) {
		t.mu.Lock()
		fc := Fold(t.casemap, ch)
		for f, set := range t.members {
			delete(set, fc)
			if len(set) == 0 {
				delete(t.members, f)
				delete(t.accounts, f)
			}
		}
		t.mu.Unlock()
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	f := Fold(t.casemap, nick)
	if set := t.members[f]; set != nil {
		delete(set, Fold(t.casemap, ch))
		if len(set) == 0 {
			delete(t.members, f)
			delete(t.accounts, f)
		}
	}
}

// kick rejoin policy
const (
	maxKickRejoins = 3
	kickDelay      = 5 * time.Second
)

func (s *session) onKick(m ircmsg.Message) {
	if len(m.Params) < 2 {
		return
	}
	t := s.t
	ch, victim := m.Params[0], m.Params[1]
	s.onLeave(victim, ch)
	if !s.isMe(victim) {
		return
	}
	t.mu.Lock()
	i, ok := t.channelConfig(ch)
	fc := Fold(t.casemap, ch)
	t.kicks[fc]++
	n, gen := t.kicks[fc], t.gen
	t.mu.Unlock()
	t.log.Warn("irc: kicked", "channel", ch, "by", m.Nick(), "reason", lastParam(m), "rejoin", ok && n <= maxKickRejoins)
	if !ok || n > maxKickRejoins {
		return
	}
	cfg := t.chanCfg[i]
	time.AfterFunc(time.Duration(n)*t.opt.KickDelay, func() { s.join(gen, cfg) })
}

func (s *session) forget(nick string) {
	t := s.t
	t.mu.Lock()
	defer t.mu.Unlock()
	f := Fold(t.casemap, nick)
	delete(t.members, f)
	delete(t.accounts, f)
}

func (s *session) onNick(m ircmsg.Message) {
	if len(m.Params) == 0 {
		return
	}
	t := s.t
	t.mu.Lock()
	defer t.mu.Unlock()
	from, to := Fold(t.casemap, m.Nick()), Fold(t.casemap, m.Params[0])
	if a, ok := t.accounts[from]; ok {
		delete(t.accounts, from)
		t.accounts[to] = a
	}
	if set, ok := t.members[from]; ok {
		delete(t.members, from)
		t.members[to] = set
	}
}

func (s *session) setAccount(nick, account string) {
	t := s.t
	t.mu.Lock()
	defer t.mu.Unlock()
	t.accounts[Fold(t.casemap, nick)] = account
}

// onWhox reads "354 me 473 nick account".
func (s *session) onWhox(m ircmsg.Message) {
	if len(m.Params) < 4 || m.Params[1] != whoxToken {
		return
	}
	t := s.t
	nick, acct := m.Params[2], accountParam(m.Params[3])
	t.mu.Lock()
	f := Fold(t.casemap, nick)
	t.accounts[f] = acct
	waiting := t.pending[f]
	delete(t.pending, f)
	t.mu.Unlock()
	for _, fn := range waiting {
		fn(acct)
	}
}

// onEndOfWho resolves lookups the WHOX reply did not answer (unknown nick).
func (s *session) onEndOfWho(m ircmsg.Message) {
	if len(m.Params) < 2 {
		return
	}
	t := s.t
	t.mu.Lock()
	f := Fold(t.casemap, m.Params[1])
	waiting := t.pending[f]
	delete(t.pending, f)
	t.mu.Unlock()
	for _, fn := range waiting {
		fn("")
	}
}

// onPrivmsg hands channel and private messages to the inbox with the
// sender's services account.
func (s *session) onPrivmsg(m ircmsg.Message) {
	if len(m.Params) < 2 || !strings.Contains(m.Source, "!") {
		return // server messages
	}
	t := s.t
	nick, target, text := m.Nick(), m.Params[0], m.Params[1]
	if s.isMe(nick) {
		return
	}
	if strings.HasPrefix(text, "\x01") {
		s.onCTCP(nick, text)
		return
	}
	t.mu.Lock()
	inbox, ctx := t.inbox, t.runCtx
	f := Fold(t.casemap, nick)
	msg := chat.Incoming{
		Sender: chat.Identity{Network: chat.NetIRC, Nick: nick},
		Text:   CleanIncoming(text),
	}
	if ok, id := m.GetTag("msgid"); ok {
		msg.ID = id
	}
	if t.isChannel(target) {
		i, ok := t.channelConfig(target)
		if !ok {
			t.mu.Unlock()
			return
		}
		msg.Channel = t.channels[i]
		msg.Target = t.channels[i].Name
	} else {
		msg.Channel = chat.Channel{Key: chat.ChannelKey(chat.NetIRC, nick), Network: chat.NetIRC, Name: nick}
		msg.Target = nick
		msg.Direct = true
	}
	var (
		acct  string
		known bool
	)
	if t.accountTag {
		_, acct = m.GetTag("account") // absent: not logged in
		known = true
		if _, member := t.members[f]; member {
			t.accounts[f] = acct
		}
	} else {
		acct, known = t.accounts[f]
	}
	if !known && t.whox {
		// ask the server, deliver when it answers
		first := len(t.pending[f]) == 0
		t.pending[f] = append(t.pending[f], func(a string) {
			msg.Sender.Account = a
			inbox.Receive(ctx, msg)
		})
		gen := t.gen
		t.mu.Unlock()
		if first {
			t.enqueueControl(gen, "WHO", nick, "%tna,"+whoxToken)
		}
		return
	}
	t.mu.Unlock()
	msg.Sender.Account = acct
	if inbox != nil {
		inbox.Receive(ctx, msg)
	}
}

// onCTCP answers VERSION (at most once per 5 s, through the limiter) and
// ignores every other CTCP, including ACTION and DCC.
func (s *session) onCTCP(nick, text string) {
	body := strings.Trim(text, "\x01")
	if !strings.EqualFold(strings.SplitN(body, " ", 2)[0], "VERSION") {
		return
	}
	t := s.t
	t.mu.Lock()
	now := t.opt.Now()
	if now.Sub(t.ctcpLast) < 5*time.Second {
		t.mu.Unlock()
		return
	}
	t.ctcpLast = now
	gen := t.gen
	t.mu.Unlock()
	t.enqueueControl(gen, "NOTICE", nick, "\x01VERSION "+Sanitize(t.opt.Version)+"\x01")
}
