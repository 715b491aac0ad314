// SPDX-License-Identifier: GPL-3.0-or-later

// Package commands parses, authorizes and answers chat commands (!bug,
// !pending, !claim, !unclaim, !cc, !cve, !trees, !whoami, !help, !snooze,
// !stats) and passive bug-link previews, independently of the chat network
// they came from. Every command is registered here (Router.builtins), with
// its help text next to its handler; !help, the README command table and
// the man page command list are generated from that registry (docs.go).
//
// The transports hand it a chat.Incoming with an authenticated identity;
// it answers with chat.Outgoing replies. Reads come from the SQLite mirror
// (package store); writes go to Bugzilla through a small interface and are
// audited.
package commands

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/ksecbot/ksecbot/announce"
	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/policy"
	"github.com/ksecbot/ksecbot/store"
	"github.com/ksecbot/ksecbot/trees"
)

// Store is the part of the SQLite store the commands use. *store.Store
// implements it.
type Store interface {
	Bug(ctx context.Context, id int) (*bugzilla.Bug, bool, error)
	Bugs(ctx context.Context, f store.BugFilter) ([]bugzilla.Bug, int, error)
	LastAnnounced(ctx context.Context, channelKey string, since time.Time) (int, bool, error)
	BugForMessage(ctx context.Context, channelKey, networkID string) (int, bool, error)
	Audit(ctx context.Context, e store.AuditEntry) error
	ComponentDefault(ctx context.Context, watch string) (string, bool, error)
	RecordClaim(ctx context.Context, bugID int, login string, at time.Time) error
	SaveBugs(ctx context.Context, bugs []bugzilla.Bug, cursors map[string]bugzilla.Cursor, baseline bool) error
	ApplyUpdate(ctx context.Context, b bugzilla.Bug, res bugzilla.UpdateResult) (bugzilla.Bug, error)
}

// Bugzilla is the part of the Bugzilla client the commands use.
// *bugzilla.Client implements it.
type Bugzilla interface {
	Bug(ctx context.Context, id int) (*bugzilla.Bug, error)
	Update(ctx context.Context, id int, u bugzilla.Update) (bugzilla.UpdateResult, error)
	HasAPIKey() bool
}

// Deps are the router's collaborators.
type Deps struct {
	Config   *config.Config
	Store    Store
	Bugzilla Bugzilla // nil: read-only, and !bug answers from the mirror only
	Trees    *trees.Registry
	Render   *announce.Renderer
	Now      func() time.Time // default time.Now
	Logger   *slog.Logger     // default slog.Default()
	Version  string
	// ConsoleLogin is the Bugzilla login the console operator acts as.
	// Default: the login of the first [[user]] with the admin role.
	ConsoleLogin string
	// CVE answers !cve; nil when [kernel_cve] is not configured.
	CVE CVEReporter
	// Reminders postpones reminders for !snooze; nil: !snooze says
	// reminders are not kept here.
	Reminders Reminders
	// Stats answers !stats; nil: !stats says statistics are not kept here.
	Stats Statistics
	// RateBurst and RateEvery set the per-sender command limit; defaults
	// 5 and 2s.
	RateBurst int
	RateEvery time.Duration
	// Memory keeps the limits and previews across reloads; nil: a new
	// one.
	Memory *Memory
}

// Defaults for the [commands] table.
const (
	DefaultPrefix       = "!"
	DefaultClaimWindow  = 15 * time.Minute
	DefaultPendingLines = 5
	DefaultPreviewEvery = 10 * time.Minute
	// richPendingLines is the !pending cap on Matrix and the console.
	richPendingLines = 20
	// maxPreviews is the most previews one message triggers.
	maxPreviews = 3
)

// Command is one entry of the command table.
type Command struct {
	Name    string
	Aliases []string
	Usage   string // e.g. "claim [--force] [bug]", without the prefix
	Help    string // one sentence, for !help, the README and the man page
	// More is what the README and the man page say after Help (plain
	// text, no markup); !help does not show it.
	More string
	// Roles that may run the command; nil means everyone. A tree
	// maintainer counts as config.RoleMaintainer.
	Roles []string
	// Write marks commands that change Bugzilla: they need an API key,
	// an identified and linked caller, and they are audited.
	Write bool
	// Run answers the request. It is called with the caller already
	// authorized for Roles.
	Run func(ctx context.Context, req *Request) []chat.Line
}

// Request is one parsed command invocation.
type Request struct {
	In     chat.Incoming
	Name   string
	Args   []string
	Caller Caller
}

// Router dispatches chat messages to commands and previews. Safe for
// concurrent use; Handle may be called from several worker goroutines.
type Router struct {
	d        Deps
	cfg      *config.Config
	log      *slog.Logger
	now      func() time.Time
	prefix   string
	window   time.Duration
	pendCap  int
	prevGap  time.Duration
	cmds     []Command
	byName   map[string]int
	writes   *policy.Writes // the write rules for this configuration
	seq      atomic.Uint64
	bugLocks [64]sync.Mutex

	mem *Memory // limits and previews, kept across reloads

	bugRe *regexp.Regexp
	urlRe *regexp.Regexp
}

// Memory is what the router remembers of senders and channels: each
// sender's command limit and when each bug was last previewed in each
// channel. It outlives the router: a reload (SIGHUP) builds a new router
// with the same Memory (Deps.Memory), so it hands no sender a fresh
// burst and no channel a repeated preview. Safe for concurrent use.
type Memory struct {
	mu       sync.Mutex
	limiters map[string]*limiter
	previews map[string]time.Time // "<channel>\x00<bug>" -> last preview
}

// NewMemory returns an empty Memory.
func NewMemory() *Memory {
	return &Memory{limiters: map[string]*limiter{}, previews: map[string]time.Time{}}
}

// New builds a router with the built-in commands.
func New(d Deps) *Router {
	if d.Config == nil {
		d.Config = &config.Config{}
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Trees == nil {
		d.Trees = trees.New(d.Config.Trees)
	}
	if d.Render == nil {
		u := d.Config.Bugzilla.PublicURL
		if u == "" {
			u = d.Config.Bugzilla.URL
		}
		d.Render = announce.NewRenderer(u, d.Trees, d.Config.Announce.Restricted)
	}
	if d.Memory == nil {
		d.Memory = NewMemory()
	}
	if d.RateBurst <= 0 {
		d.RateBurst = 5
	}
	if d.RateEvery <= 0 {
		d.RateEvery = 2 * time.Second
	}
	if d.ConsoleLogin == "" {
		for _, u := range d.Config.Users {
			if hasString(u.Roles, config.RoleAdmin) && u.Bugzilla != "" {
				d.ConsoleLogin = u.Bugzilla
				break
			}
		}
	}
	c := d.Config.Commands
	r := &Router{
		d:       d,
		cfg:     d.Config,
		log:     d.Logger.With("component", "commands"),
		now:     d.Now,
		prefix:  c.Prefix,
		window:  c.ClaimWindow.Duration,
		pendCap: c.PendingLines,
		prevGap: c.PreviewEvery.Duration,
		byName:  map[string]int{},
		writes:  policy.NewWrites(d.Trees.All(), d.Config.Users),
		mem:     d.Memory,
		bugRe:   regexp.MustCompile(`(?i)\bbug\s*#?\s*([0-9]{1,9})\b`),
	}
	if r.prefix == "" {
		r.prefix = DefaultPrefix
	}
	if r.window <= 0 {
		r.window = DefaultClaimWindow
	}
	if r.pendCap <= 0 {
		r.pendCap = DefaultPendingLines
	}
	if r.prevGap <= 0 {
		r.prevGap = DefaultPreviewEvery
	}
	if host := bugzillaHost(d.Config.Bugzilla.URL, d.Config.Bugzilla.PublicURL); host != "" {
		r.urlRe = regexp.MustCompile(`(?i)https?://(?:` + host + `)(?::[0-9]+)?(?:/[^\s?]*)?/show_bug\.cgi\?(?:[^\s]*&)?id=([0-9]{1,9})\b`)
	}
	for _, cmd := range r.builtins() {
		r.Register(cmd)
	}
	return r
}

// bugzillaHost returns a regexp alternation of the hosts of the configured
// Bugzilla URLs, or "".
func bugzillaHost(urls ...string) string {
	var hosts []string
	for _, u := range urls {
		_, rest, ok := strings.Cut(u, "://")
		if !ok {
			continue
		}
		host, _, _ := strings.Cut(rest, "/")
		host, _, _ = strings.Cut(host, ":")
		if host != "" && !hasString(hosts, regexp.QuoteMeta(host)) {
			hosts = append(hosts, regexp.QuoteMeta(host))
		}
	}
	return strings.Join(hosts, "|")
}

// Register adds a command to the table (or replaces one of the same name).
// It must be called before Handle is used concurrently.
func (r *Router) Register(c Command) {
	if i, ok := r.byName[c.Name]; ok && r.cmds[i].Name == c.Name {
		r.cmds[i] = c
	} else {
		r.cmds = append(r.cmds, c)
		i = len(r.cmds) - 1
		r.byName[c.Name] = i
	}
	i := r.byName[c.Name]
	for _, a := range c.Aliases {
		r.byName[a] = i
	}
}

// Commands returns the command table, in help order.
func (r *Router) Commands() []Command { return append([]Command(nil), r.cmds...) }

// Prefix returns the command prefix.
func (r *Router) Prefix() string { return r.prefix }

// Parse splits a chat line into a command name (lower-case, without the
// prefix) and its arguments. ok is false when the line is not a command:
// no prefix, or no valid name right after it.
func Parse(prefix, text string) (name string, args []string, ok bool) {
	if prefix == "" {
		return "", nil, false
	}
	text = strings.TrimSpace(text)
	rest, found := strings.CutPrefix(text, prefix)
	if !found {
		return "", nil, false
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 || !strings.HasPrefix(rest, fields[0]) {
		return "", nil, false // "! foo" is not a command
	}
	name = strings.ToLower(fields[0])
	if !validName(name) {
		return "", nil, false
	}
	return name, fields[1:], true
}

// validName reports whether s looks like a command name: a letter, then
// letters, digits, '-' or '_', at most 32 bytes.
func validName(s string) bool {
	if s == "" || len(s) > 32 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Path says how an incoming message must be served.
type Path int

const (
	// PathNone: nothing to do (ordinary chat, the bot's own message).
	PathNone Path = iota
	// PathRead: a command or preview answered from the mirror and the
	// configuration, quickly; it never waits for a Bugzilla write.
	PathRead
	// PathWrite: a command that changes Bugzilla (Command.Write); it may
	// wait for Bugzilla.
	PathWrite
)

// Admission is the router's verdict on a message when it arrives.
type Admission struct {
	Path Path
	// Command: the message is a command (else a bug-link preview).
	Command bool
	// Limited: the sender is over the per-user command limit; the
	// message must not be served.
	Limited bool
	// SlowDown is the reply to send for a Limited command, at most once
	// per sender and SlowDownWindow; nil when the sender was already told.
	SlowDown *chat.Outgoing
	// previews are the bugs a message that is not a command mentions,
	// found once here and answered by Serve.
	previews []int
}

// SlowDownWindow is the shortest time between two "slow down" replies to
// the same sender: a flood gets one, not one per command.
const SlowDownWindow = 30 * time.Second

// Admit classifies an incoming message and applies the per-sender limit
// (per services account, or per host for unidentified IRC users) when it
// arrives, before any queue. It does no I/O and never blocks, so
// transports may call it from their read loop. A message that Admit
// accepts must then be served with Serve, with its Admission. Safe for
// concurrent use.
func (r *Router) Admit(in chat.Incoming) Admission {
	path := PathRead
	var previews []int
	name, _, ok := Parse(r.prefix, in.Text)
	if ok {
		if i, found := r.byName[name]; found && r.cmds[i].Write {
			path = PathWrite
		}
	} else if previews = r.previewIDs(in); len(previews) == 0 {
		return Admission{}
	}
	if r.allow(in) {
		return Admission{Path: path, Command: ok, previews: previews}
	}
	a := Admission{Path: path, Command: ok, Limited: true}
	if ok && r.warnDue(in) {
		msg := r.reply(in, chat.Line{}.Text(fmt.Sprintf(
			"slow down: I answer at most %d commands at once, then one every %s; the others get no answer (I say this once per %s).",
			r.d.RateBurst, shortDuration(r.d.RateEvery), shortDuration(SlowDownWindow))))
		msg.Key += "/slow-down"
		a.SlowDown = &msg
	}
	r.log.Debug("rate limited", "sender", senderKey(in.Sender), "channel", in.Channel.Key, "told", a.SlowDown != nil)
	return a
}

// Handle answers one incoming message: a command, or bug-link previews,
// after Admit (a limited sender gets at most the slow-down reply). It may
// call Bugzilla and the store, so it runs on a worker goroutine, never on
// a transport's read loop. It never panics.
func (r *Router) Handle(ctx context.Context, in chat.Incoming) []chat.Outgoing {
	a := r.Admit(in)
	switch {
	case a.Path == PathNone:
		return nil
	case a.Limited && a.SlowDown != nil:
		return []chat.Outgoing{*a.SlowDown}
	case a.Limited:
		return nil
	}
	return r.Serve(ctx, in, a)
}

// Serve answers a message that Admit accepted, with Admit's verdict: a
// command, or previews of the bugs Admit found (the message is not scanned
// again). It may call Bugzilla and the store, so it runs on a worker
// goroutine. It never panics.
func (r *Router) Serve(ctx context.Context, in chat.Incoming, a Admission) (out []chat.Outgoing) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("command handler panicked", "panic", fmt.Sprint(p), "text", in.Text,
				"channel", in.Channel.Key, "stack", string(debug.Stack()))
			out = []chat.Outgoing{r.reply(in, chat.Line{}.Text("Sorry, something went wrong with that command; the operator can find the details in the log."))}
		}
	}()
	if !a.Command {
		return r.previewsFor(ctx, in, a.previews)
	}
	name, args, ok := Parse(r.prefix, in.Text)
	if !ok {
		return nil
	}
	lines := r.dispatch(ctx, in, name, args)
	if len(lines) == 0 {
		return nil
	}
	return []chat.Outgoing{r.reply(in, lines...)}
}

// Reply wraps lines into a reply to in (for the core's own answers:
// "busy", late results).
func (r *Router) Reply(in chat.Incoming, lines ...chat.Line) chat.Outgoing {
	return r.reply(in, lines...)
}

// senderKey identifies a sender for rate limiting: the account when
// identified, else the host (so that nick changes and clones on one host
// share a limit), else the nick.
func senderKey(id chat.Identity) string {
	switch {
	case id.Account != "":
		return id.Network + "\x00a\x00" + strings.ToLower(id.Account)
	case id.Host != "":
		return id.Network + "\x00h\x00" + strings.ToLower(id.Host)
	}
	return id.Network + "\x00n\x00" + strings.ToLower(id.Nick)
}

// limiter is one sender's token bucket and when it was last told to slow
// down.
type limiter struct {
	*rate.Limiter
	warned time.Time
}

// allow applies the per-sender token bucket.
func (r *Router) allow(in chat.Incoming) bool {
	if in.Sender.Network == chat.NetConsole {
		return true // the local operator cannot flood a network
	}
	now := r.now()
	r.mem.mu.Lock()
	defer r.mem.mu.Unlock()
	return r.limiter(in, now).AllowN(now, 1)
}

// warnDue reports whether a limited sender is to be told to slow down now
// (once per SlowDownWindow), and records it.
func (r *Router) warnDue(in chat.Incoming) bool {
	now := r.now()
	r.mem.mu.Lock()
	defer r.mem.mu.Unlock()
	l := r.limiter(in, now)
	if !l.warned.IsZero() && now.Sub(l.warned) < SlowDownWindow {
		return false
	}
	l.warned = now
	return true
}

// limiter returns the sender's limiter, creating it. Called with r.mem.mu held.
func (r *Router) limiter(in chat.Incoming, now time.Time) *limiter {
	key := senderKey(in.Sender)
	l, ok := r.mem.limiters[key]
	if !ok {
		if len(r.mem.limiters) > 10000 {
			r.pruneLimiters(now)
		}
		l = &limiter{Limiter: rate.NewLimiter(rate.Every(r.d.RateEvery), r.d.RateBurst)}
		r.mem.limiters[key] = l
	}
	return l
}

// pruneLimiters drops limiters that are full again and were not told to
// slow down recently (idle senders). Called with r.mem.mu held.
func (r *Router) pruneLimiters(now time.Time) {
	for k, l := range r.mem.limiters {
		if l.TokensAt(now) >= float64(r.d.RateBurst) && now.Sub(l.warned) >= SlowDownWindow {
			delete(r.mem.limiters, k)
		}
	}
}

// dispatch runs a command after the authorization checks.
func (r *Router) dispatch(ctx context.Context, in chat.Incoming, name string, args []string) []chat.Line {
	i, ok := r.byName[name]
	if !ok {
		return []chat.Line{chat.Line{}.Text("Unknown command ").Code(r.prefix + name).
			Text(". Commands: " + r.commandList() + "; " + r.prefix + "help <command> for details.")}
	}
	cmd := r.cmds[i]
	req := &Request{In: in, Name: cmd.Name, Args: args, Caller: r.caller(in.Sender)}
	if cmd.Write || len(cmd.Roles) > 0 {
		if msg := r.authorize(cmd, req.Caller); msg != "" {
			if cmd.Write {
				r.audit(ctx, req, firstBug(args), "refused", "")
				r.log.Info("command refused", "command", cmd.Name, "account", in.Sender.Account,
					"network", in.Sender.Network, "channel", in.Channel.Key, "reason", msg)
			}
			return []chat.Line{chat.Line{}.Text(msg)}
		}
	}
	if cmd.Write && (r.d.Bugzilla == nil || !r.d.Bugzilla.HasAPIKey()) {
		r.audit(ctx, req, firstBug(args), "read-only", "")
		return []chat.Line{chat.Line{}.Text("read-only: no Bugzilla API key is configured, so ksecbot cannot change bugs; the operator can set bugzilla.api_key_file.")}
	}
	if kr, ok := r.d.Bugzilla.(interface{ KeyRefused() bool }); cmd.Write && ok && kr.KeyRefused() {
		r.audit(ctx, req, firstBug(args), "read-only: key refused", "")
		return []chat.Line{chat.Line{}.Text("read-only for now: Bugzilla refuses ksecbot's API key, so nothing was changed; the operator has been told " +
			"(bugzilla.api_key_file) and ksecbot tries the key again every few minutes. Try again later, or make the change in Bugzilla.")}
	}
	return cmd.Run(ctx, req)
}

// commandList renders the names of every command with the prefix.
func (r *Router) commandList() string {
	names := make([]string, len(r.cmds))
	for i, c := range r.cmds {
		names[i] = r.prefix + c.Name
	}
	return strings.Join(names, " ")
}

// usageLine is the one-line usage of a command.
func (r *Router) usageLine(name string) chat.Line {
	i, ok := r.byName[name]
	if !ok {
		return chat.Line{}.Text("Unknown command " + name)
	}
	c := r.cmds[i]
	return chat.Line{}.Text("Usage: ").Code(r.prefix + c.Usage).Text(" — " + c.Help)
}

// reply wraps lines into a reply to in.
func (r *Router) reply(in chat.Incoming, lines ...chat.Line) chat.Outgoing {
	key := "reply/"
	if in.ID != "" {
		key += in.ID
	} else {
		key += strconv.FormatInt(r.now().UnixNano(), 36) + "-" + strconv.FormatUint(r.seq.Add(1), 36)
	}
	return chat.Outgoing{
		Key:     key,
		Kind:    chat.KindReply,
		Channel: in.Channel.Key,
		Target:  in.Target,
		Lines:   lines,
		ReplyTo: in.ID,
		Notice:  in.Channel.Notice,
	}
}

// firstBug returns the first argument that is a bug number, or 0.
func firstBug(args []string) int {
	for _, a := range args {
		if id, ok := parseBugID(a); ok {
			return id
		}
	}
	return 0
}

// parseBugID parses a positive bug number written as "123" or "#123".
func parseBugID(s string) (int, bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "#")
	if s == "" || len(s) > 9 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// lockBug serialises writes to one bug inside the process.
func (r *Router) lockBug(id int) func() {
	m := &r.bugLocks[uint(id)%uint(len(r.bugLocks))]
	m.Lock()
	return m.Unlock
}

func hasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// The real store and client satisfy the interfaces.
var (
	_ Store    = (*store.Store)(nil)
	_ Bugzilla = (*bugzilla.Client)(nil)
)
