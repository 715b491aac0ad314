// Package e2eirc holds end-to-end tests of the whole ksecbot: the real
// binary (built once in TestMain) against the real InspIRCd+Atheme test
// servers and the in-process Bugzilla test server. Observer clients are
// plain irc-go connections that see what a person in the channel sees.
//
// Run scripts/irc-server.sh start and source its env file first; without
// KSECBOT_IRC_ADDR the tests skip, unless CI=true (then they fail).
package e2eirc

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircevent"
	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
)

// binPath is the ksecbot binary built by TestMain.
var binPath string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if os.Getenv("KSECBOT_IRC_ADDR") == "" && os.Getenv("CI") != "true" {
		return m.Run() // every test skips: no need to build
	}
	dir, err := os.MkdirTemp("", "ksecbot-e2e-irc-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e/irc:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binPath = filepath.Join(dir, "ksecbot")
	build := exec.Command("go", "build", "-tags", "goolm", "-o", binPath, "./cmd/ksecbot")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e/irc: building ksecbot: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// servers are the shared test servers' addresses.
type servers struct{ addr, strict string }

func needServers(t *testing.T) servers {
	t.Helper()
	s := servers{addr: os.Getenv("KSECBOT_IRC_ADDR"), strict: os.Getenv("KSECBOT_IRC_STRICT_ADDR")}
	if s.addr == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("KSECBOT_IRC_ADDR not set: run scripts/irc-server.sh start and source its env file")
		}
		t.Skip("KSECBOT_IRC_ADDR not set (scripts/irc-server.sh start; source ~/.cache/ksecbot-testservers/irc/env)")
	}
	return s
}

func randName(prefix string) string { return fmt.Sprintf("%s%06d", prefix, rand.IntN(1000000)) }

// ---- observer: a person's IRC client ----

type observer struct {
	conn   *ircevent.Connection
	events chan ircmsg.Message
}

// newObserver connects a plain client with nick (random if empty), logged
// in to the services account if account is set (password account+"-pass").
func newObserver(t *testing.T, addr, nick, account string) *observer {
	t.Helper()
	if nick == "" {
		nick = randName("obs")
	}
	o := &observer{events: make(chan ircmsg.Message, 2000)}
	c := &ircevent.Connection{
		Server:      addr,
		Nick:        nick,
		RequestCaps: []string{"account-tag", "extended-join", "message-tags"},
		Timeout:     10 * time.Second,
		KeepAlive:   time.Minute,
		Log:         slog.NewLogLogger(slog.DiscardHandler, slog.LevelDebug),
	}
	if account != "" {
		c.SASLLogin, c.SASLPassword, c.UseSASL = account, account+"-pass", true
	}
	for _, cmd := range []string{"PRIVMSG", "NOTICE", "JOIN", "QUIT", "PART", "KICK", "MODE", "353"} {
		c.AddCallback(cmd, func(m ircmsg.Message) {
			select {
			case o.events <- m:
			default: // a test that stopped reading; never block the client
			}
		})
	}
	if err := c.Connect(); err != nil {
		t.Fatalf("observer %s connect to %s: %v", nick, addr, err)
	}
	o.conn = c // no Loop: a dropped observer stays dropped
	t.Cleanup(c.Quit)
	return o
}

func (o *observer) nick() string { return o.conn.CurrentNick() }

// waitFor reads events until pred matches one; the events it skips are
// returned too, in order, for tests that count what arrived.
func (o *observer) waitFor(t *testing.T, timeout time.Duration, what string, pred func(ircmsg.Message) bool) (ircmsg.Message, []ircmsg.Message) {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var skipped []ircmsg.Message
	for {
		select {
		case m := <-o.events:
			if pred(m) {
				return m, skipped
			}
			skipped = append(skipped, m)
		case <-timer.C:
			t.Fatalf("timed out after %v waiting for %s; saw %s", timeout, what, describe(skipped))
		}
	}
}

func describe(ms []ircmsg.Message) string {
	var parts []string
	for _, m := range ms {
		parts = append(parts, fmt.Sprintf("%s %s %q", m.Nick(), m.Command, m.Params))
	}
	if len(parts) > 20 {
		parts = append(parts[:20], fmt.Sprintf("... %d more", len(parts)-20))
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

// join joins channel, sets key (+k) if given, and waits for both.
func (o *observer) join(t *testing.T, channel, key string) {
	t.Helper()
	if err := o.conn.Join(channel); err != nil {
		t.Fatal(err)
	}
	o.waitFor(t, 10*time.Second, "observer JOIN "+channel, from("JOIN", o.nick(), channel))
	if key != "" {
		if err := o.conn.Send("MODE", channel, "+k", key); err != nil {
			t.Fatal(err)
		}
		o.waitFor(t, 10*time.Second, "MODE +k", from("MODE", o.nick(), channel))
	}
}

// say sends a PRIVMSG.
func (o *observer) say(t *testing.T, target, text string) {
	t.Helper()
	if err := o.conn.Privmsg(target, text); err != nil {
		t.Fatalf("observer PRIVMSG: %v", err)
	}
}

// from matches a command from nick whose first parameter is param0 (any
// if empty).
func from(cmd, nick, param0 string) func(ircmsg.Message) bool {
	return func(m ircmsg.Message) bool {
		return m.Command == cmd && strings.EqualFold(m.Nick(), nick) &&
			(param0 == "" || (len(m.Params) > 0 && strings.EqualFold(m.Params[0], param0)))
	}
}

// privmsgFrom matches a PRIVMSG from nick to target whose text, without
// IRC formatting, contains every one of want.
func privmsgFrom(nick, target string, want ...string) func(ircmsg.Message) bool {
	return func(m ircmsg.Message) bool {
		if !from("PRIVMSG", nick, target)(m) || len(m.Params) < 2 {
			return false
		}
		txt := plainText(m.Params[1])
		for _, w := range want {
			if !strings.Contains(txt, w) {
				return false
			}
		}
		return true
	}
}

// plainText strips the formatting the bot itself adds (bold).
func plainText(s string) string { return strings.ReplaceAll(s, "\x02", "") }

// ---- the ksecbot process ----

// logLines collects the bot's stderr, line by line, and mirrors it to t.Log.
type logLines struct {
	t      *testing.T
	mu     sync.Mutex
	lines  []string
	notify chan struct{}
}

func (l *logLines) consume(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		l.t.Log("ksecbot: " + line)
		l.mu.Lock()
		l.lines = append(l.lines, line)
		l.mu.Unlock()
		select {
		case l.notify <- struct{}{}:
		default:
		}
	}
}

func (l *logLines) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// count returns how many log lines contain s.
func (l *logLines) count(s string) int {
	n := 0
	for _, line := range l.snapshot() {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

// waitFor waits until a log line from index start on satisfies pred and
// returns its index.
func (l *logLines) waitFor(t *testing.T, timeout time.Duration, start int, what string, pred func(string) bool) int {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		lines := l.snapshot()
		for i := start; i < len(lines); i++ {
			if pred(lines[i]) {
				return i
			}
		}
		select {
		case <-l.notify:
		case <-deadline.C:
			t.Fatalf("timed out after %v waiting for the log line %s", timeout, what)
		}
	}
}

func contains(s string) func(string) bool {
	return func(l string) bool { return strings.Contains(l, s) }
}

// botProc is a running ksecbot binary.
type botProc struct {
	nick string
	cmd  *exec.Cmd
	log  *logLines
	done chan struct{} // closed when the process exited
	err  error         // Wait's result, valid after done
}

// botConf is what varies between the tests' configurations.
type botConf struct {
	server      string
	nick        string
	saslPass    string // default "ksecbot-pass"
	channels    []chanConf
	digestAfter int           // -1: leave the default
	flood       string        // extra [irc.flood] lines; empty: defaults
	pollEvery   time.Duration // default 500ms
	users       string        // [[user]] tables
}

type chanConf struct{ name, key string }

const treesTOML = `
[[tree]]
name = "gentoo-sources"
packages = ["sys-kernel/gentoo-sources", "sys-kernel/gentoo-kernel"]
bugzilla = ["kernel@gentoo.org"]
irc = ["mpagano", "alicef"]

[[tree]]
name = "hardened"
packages = ["sys-kernel/hardened-sources"]
bugzilla = ["hardened@gentoo.org"]
irc = ["blueness", "zorry"]
`

// writeConfig writes the secrets and the TOML file into a temp dir.
func writeConfig(t *testing.T, bz *bugzillatest.Server, c botConf) string {
	t.Helper()
	dir := t.TempDir()
	secret := func(name, val string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(val+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if c.saslPass == "" {
		c.saslPass = "ksecbot-pass"
	}
	if c.pollEvery == 0 {
		c.pollEvery = 500 * time.Millisecond
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[bugzilla]\nurl = %q\napi_key_file = %q\npoll_interval = %q\npublic_url = \"https://bugs.gentoo.org\"\n\n",
		bz.URL(), secret("bugzilla.key", "key-ksecbot"), c.pollEvery.String())
	b.WriteString("[[watch]]\nproduct = \"Gentoo Security\"\ncomponent = \"Kernel\"\n\n")
	fmt.Fprintf(&b, "[store]\npath = %q\n\n", filepath.Join(dir, "ksecbot.db"))
	if c.digestAfter >= 0 {
		fmt.Fprintf(&b, "[announce]\ndigest_after = %d\n\n", c.digestAfter)
	}
	fmt.Fprintf(&b, "[irc]\nserver = %q\nnick = %q\nsasl_user = \"ksecbot\"\nsasl_password_file = %q\n\n",
		c.server, c.nick, secret("irc.pass", c.saslPass))
	if c.flood != "" {
		b.WriteString("[irc.flood]\n" + c.flood + "\n\n")
	}
	for i, ch := range c.channels {
		fmt.Fprintf(&b, "[[irc.channel]]\nname = %q\n", ch.name)
		if ch.key != "" {
			fmt.Fprintf(&b, "key_file = %q\n", secret(fmt.Sprintf("chan%d.key", i), ch.key))
		}
		b.WriteString("\n")
	}
	b.WriteString(treesTOML)
	b.WriteString(c.users)
	p := filepath.Join(dir, "ksecbot.toml")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// startBot runs the ksecbot binary with a fresh config; the cleanup stops
// it with SIGTERM and reports a non-zero exit.
func startBot(t *testing.T, bz *bugzillatest.Server, c botConf, args ...string) *botProc {
	t.Helper()
	if c.nick == "" {
		c.nick = randName("ksb")
	}
	cfg := writeConfig(t, bz, c)
	if lv := os.Getenv("KSECBOT_E2E_LOG_LEVEL"); lv != "" {
		args = append(args, "--log-level", lv)
	}
	cmd := exec.Command(binPath, append([]string{"--config", cfg}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	p := &botProc{nick: c.nick, cmd: cmd, log: &logLines{t: t, notify: make(chan struct{}, 1)}, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start ksecbot: %v", err)
	}
	read := make(chan struct{})
	go func() { p.log.consume(stderr); close(read) }()
	go func() { <-read; p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
			return
		default:
		}
		t.Logf("sending SIGTERM to ksecbot at %s", time.Now().Format("15:04:05.000"))
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
			if p.err != nil {
				t.Errorf("ksecbot did not exit cleanly on SIGTERM: %v", p.err)
			}
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-p.done
			t.Error("ksecbot did not exit within 15 s of SIGTERM")
		}
	})
	return p
}

// waitExit waits for the process to exit by itself.
func (p *botProc) waitExit(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		t.Fatalf("ksecbot still running after %v", timeout)
		return nil
	}
}

// ready waits until the bot joined every channel (seen by obs) and
// stored its Bugzilla baseline, so bugs created afterwards are new.
func (p *botProc) ready(t *testing.T, obs *observer, channels ...string) {
	t.Helper()
	for _, ch := range channels {
		m, _ := obs.waitFor(t, 20*time.Second, "ksecbot JOIN "+ch, from("JOIN", p.nick, ch))
		// extended-join: channel account :realname
		if len(m.Params) < 2 || m.Params[1] != "ksecbot" {
			t.Fatalf("ksecbot joined %s as account %q, want ksecbot (SASL)", ch, m.Params)
		}
	}
	p.log.waitFor(t, 20*time.Second, 0, "baseline stored", contains("baseline stored"))
}

// ---- private server for destructive tests ----

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		_ = l.Close()
	}
	return ports
}

// privateServer starts an own inspircd+atheme (accounts registered) and
// returns its lenient address and a runner for irc-server.sh subcommands.
func privateServer(t *testing.T) (string, func(cmd string)) {
	t.Helper()
	script, err := filepath.Abs("../../scripts/irc-server.sh")
	if err != nil {
		t.Fatal(err)
	}
	p := freePorts(t, 4)
	env := append(os.Environ(),
		"KSECBOT_IRC_STATE="+t.TempDir(),
		fmt.Sprintf("KSECBOT_IRC_PORT=%d", p[0]), fmt.Sprintf("KSECBOT_IRC_STRICT_PORT=%d", p[1]),
		fmt.Sprintf("KSECBOT_IRC_TLS_PORT=%d", p[2]), fmt.Sprintf("KSECBOT_IRC_LINK_PORT=%d", p[3]))
	run := func(cmd string) {
		c := exec.Command("bash", script, cmd)
		c.Env = env
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("irc-server.sh %s: %v\n%s", cmd, err, out)
		}
	}
	run("start")
	t.Cleanup(func() { run("stop") })
	return fmt.Sprintf("127.0.0.1:%d", p[0]), run
}

// reconnectDelay reads the delay of a transport "reconnecting" log line.
var reconnectDelay = regexp.MustCompile(`reconnecting.* in=([0-9.]+m?s)`)

func parseDelay(line string) (time.Duration, bool) {
	m := reconnectDelay.FindStringSubmatch(line)
	if m == nil {
		return 0, false
	}
	d, err := time.ParseDuration(m[1])
	return d, err == nil
}
