// Package matrix_test runs the real ksecbot binary against a real Dendrite
// homeserver and the in-process Bugzilla (bugzillatest), and checks what a
// Matrix user and a Bugzilla user would see. It has no non-test code.
//
// Start the shared homeserver with scripts/matrix-server.sh start and source
// its env file; without KSECBOT_MATRIX_URL the tests skip (fail under CI=true).
package matrix_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/crypto/cryptohelper"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
	"maunium.net/go/mautrix/synapseadmin"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
)

// ksecbotBin is the binary built once in TestMain.
var ksecbotBin string

func TestMain(m *testing.M) {
	if os.Getenv("KSECBOT_MATRIX_URL") == "" {
		os.Exit(m.Run()) // every test skips (or fails under CI)
	}
	dir, err := os.MkdirTemp("", "ksecbot-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ksecbotBin = filepath.Join(dir, "ksecbot")
	build := exec.Command("go", "build", "-tags", "goolm", "-o", ksecbotBin, "./cmd/ksecbot")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building ksecbot: %v\n%s", err, out)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// wait is the default deadline for anything the homeserver or the bot must
// do; generous because the test machine is shared.
const wait = 60 * time.Second

// homeserver is a Dendrite that accepts shared-secret registration.
type homeserver struct {
	URL, Secret string
}

// sharedServer returns the homeserver of scripts/matrix-server.sh; without
// one the test is skipped, except under CI where that is a failure.
func sharedServer(t *testing.T) homeserver {
	t.Helper()
	hs := homeserver{URL: os.Getenv("KSECBOT_MATRIX_URL"), Secret: os.Getenv("KSECBOT_MATRIX_SECRET")}
	if hs.URL == "" || hs.Secret == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("KSECBOT_MATRIX_URL/KSECBOT_MATRIX_SECRET unset under CI: run scripts/matrix-server.sh start and source its env file")
		}
		t.Skip("no Matrix test homeserver: run scripts/matrix-server.sh start and source its env file")
	}
	return hs
}

func randName(prefix string) string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// register creates a fresh user and returns its ID and password.
func (hs homeserver) register(ctx context.Context, t *testing.T, prefix string) (id.UserID, string) {
	t.Helper()
	cli, err := mautrix.NewClient(hs.URL, "", "")
	if err != nil {
		t.Fatal(err)
	}
	name, pw := randName(prefix), randName("pw-")
	admin := &synapseadmin.Client{Client: cli}
	if _, err := admin.SharedSecretRegister(ctx, hs.Secret, synapseadmin.ReqSharedSecretRegister{
		Username: name, Password: pw, InhibitLogin: true,
	}); err != nil {
		t.Fatalf("register %s: %v", name, err)
	}
	return id.NewUserID(name, "localhost"), pw
}

// login returns a plain client (no encryption) logged in as user.
func (hs homeserver) login(ctx context.Context, t *testing.T, user id.UserID, pw string) *mautrix.Client {
	t.Helper()
	cli, err := mautrix.NewClient(hs.URL, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Login(ctx, &mautrix.ReqLogin{
		Type:             mautrix.AuthTypePassword,
		Identifier:       mautrix.UserIdentifier{Type: mautrix.IdentifierTypeUser, User: user.Localpart()},
		Password:         pw,
		StoreCredentials: true,
	}); err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	return cli
}

// observer is a Matrix user with its own encryption, like a maintainer's
// client: it records every message from others (decrypted) and every join.
type observer struct {
	cli    *mautrix.Client
	mu     sync.Mutex
	msgs   []*event.Event
	joined map[id.RoomID]map[id.UserID]bool
	notify chan struct{}
}

func (hs homeserver) newObserver(ctx context.Context, t *testing.T, user id.UserID, pw string) *observer {
	t.Helper()
	cli, err := mautrix.NewClient(hs.URL, "", "")
	if err != nil {
		t.Fatal(err)
	}
	helper, err := cryptohelper.NewCryptoHelper(cli, []byte("observer pickle key"), filepath.Join(t.TempDir(), "observer.db"))
	if err != nil {
		t.Fatal(err)
	}
	helper.LoginAs = &mautrix.ReqLogin{
		Type:       mautrix.AuthTypePassword,
		Identifier: mautrix.UserIdentifier{Type: mautrix.IdentifierTypeUser, User: user.Localpart()},
		Password:   pw,
	}
	if err := helper.Init(ctx); err != nil {
		t.Fatalf("observer crypto: %v", err)
	}
	cli.Crypto = helper
	o := &observer{cli: cli, joined: map[id.RoomID]map[id.UserID]bool{}, notify: make(chan struct{}, 1)}
	sy := cli.Syncer.(*mautrix.DefaultSyncer)
	sy.OnEventType(event.EventMessage, func(_ context.Context, evt *event.Event) {
		if evt.Sender == cli.UserID {
			return
		}
		o.mu.Lock()
		o.msgs = append(o.msgs, evt)
		o.mu.Unlock()
		o.poke()
	})
	sy.OnEventType(event.StateMember, func(_ context.Context, evt *event.Event) {
		o.mu.Lock()
		if o.joined[evt.RoomID] == nil {
			o.joined[evt.RoomID] = map[id.UserID]bool{}
		}
		o.joined[evt.RoomID][id.UserID(evt.GetStateKey())] = evt.Content.AsMember().Membership == event.MembershipJoin
		o.mu.Unlock()
		o.poke()
	})
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = cli.SyncWithContext(sctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = helper.Close()
	})
	return o
}

func (o *observer) poke() {
	select {
	case o.notify <- struct{}{}:
	default:
	}
}

// until waits until cond holds for the recorded state; the observer's sync
// loop pokes o.notify on every recorded event.
func (o *observer) until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		o.mu.Lock()
		ok := cond()
		o.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-o.notify:
		case <-deadline.C:
			t.Fatalf("timed out after %s waiting for %s; messages seen:\n%s", wait, what, o.dump())
		}
	}
}

// waitMsg returns the first recorded message for which match holds.
func (o *observer) waitMsg(t *testing.T, what string, match func(*event.Event) bool) *event.Event {
	t.Helper()
	var found *event.Event
	o.until(t, what, func() bool {
		for _, e := range o.msgs {
			if match(e) {
				found = e
				return true
			}
		}
		return false
	})
	return found
}

// count returns how many recorded messages match.
func (o *observer) count(match func(*event.Event) bool) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, e := range o.msgs {
		if match(e) {
			n++
		}
	}
	return n
}

func (o *observer) dump() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var b strings.Builder
	for _, e := range o.msgs {
		fmt.Fprintf(&b, "  %s %s: %q\n", e.RoomID, e.Sender, body(e))
	}
	return b.String()
}

// waitJoined waits until user has joined room.
func (o *observer) waitJoined(t *testing.T, room id.RoomID, user id.UserID) {
	t.Helper()
	o.until(t, fmt.Sprintf("%s to join %s", user, room), func() bool { return o.joined[room][user] })
}

// say sends a text message (a Matrix reply when to is set), encrypted in
// encrypted rooms, and returns its event ID.
func (o *observer) say(ctx context.Context, t *testing.T, room id.RoomID, text string, to *event.Event) id.EventID {
	t.Helper()
	return say(ctx, t, o.cli, room, text, to)
}

func say(ctx context.Context, t *testing.T, cli *mautrix.Client, room id.RoomID, text string, to *event.Event) id.EventID {
	t.Helper()
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: text}
	if to != nil {
		content.SetReply(to)
	}
	resp, err := cli.SendMessageEvent(ctx, room, event.EventMessage, content)
	if err != nil {
		t.Fatalf("%s: send %q: %v", cli.UserID, text, err)
	}
	return resp.EventID
}

// replyTo waits for the bot's reply to the message ev in room.
func (o *observer) replyTo(t *testing.T, room id.RoomID, ev id.EventID) *event.Event {
	t.Helper()
	return o.waitMsg(t, "the reply to "+string(ev), isReplyTo(room, ev))
}

func isReplyTo(room id.RoomID, ev id.EventID) func(*event.Event) bool {
	return func(e *event.Event) bool {
		m := e.Content.AsMessage()
		return e.RoomID == room && m != nil && m.RelatesTo.GetReplyTo() == ev
	}
}

func body(e *event.Event) string {
	if m := e.Content.AsMessage(); m != nil {
		return m.Body
	}
	return ""
}

func mentions(e *event.Event) []string {
	m := e.Content.AsMessage()
	if m == nil || m.Mentions == nil {
		return nil
	}
	out := make([]string, 0, len(m.Mentions.UserIDs))
	for _, u := range m.Mentions.UserIDs {
		out = append(out, string(u))
	}
	slices.Sort(out)
	return out
}

// isAnnouncement matches the announcement of bug n in room.
func isAnnouncement(room id.RoomID, n int) func(*event.Event) bool {
	re := regexp.MustCompile(fmt.Sprintf(`^New kernel security bug %d[: ]`, n))
	return func(e *event.Event) bool { return e.RoomID == room && re.MatchString(body(e)) }
}

// createRooms creates an unencrypted public room and an encrypted private
// room, both with the bot invited.
func (o *observer) createRooms(ctx context.Context, t *testing.T, bot id.UserID) (plain, enc id.RoomID) {
	t.Helper()
	p, err := o.cli.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat", Invite: []id.UserID{bot}, Name: "ksecbot e2e plain"})
	if err != nil {
		t.Fatalf("create plain room: %v", err)
	}
	e, err := o.cli.CreateRoom(ctx, &mautrix.ReqCreateRoom{
		Preset: "private_chat",
		Invite: []id.UserID{bot},
		Name:   "ksecbot e2e encrypted",
		InitialState: []*event.Event{{
			Type:    event.StateEncryption,
			Content: event.Content{Parsed: &event.EncryptionEventContent{Algorithm: id.AlgorithmMegolmV1}},
		}},
	})
	if err != nil {
		t.Fatalf("create encrypted room: %v", err)
	}
	return p.RoomID, e.RoomID
}

// botConfig is what the TOML configuration of one ksecbot run needs.
type botConfig struct {
	BugzillaURL string
	Homeserver  string
	BotID       id.UserID
	BotPassword string
	Rooms       []id.RoomID
	KernelMX    []string // gentoo-sources maintainers
	HardenedMX  []string // hardened maintainers
	Linked      id.UserID
	LinkedLogin string
	DigestAfter int
}

// write writes the configuration and its secret files into dir and returns
// the config path.
func (c botConfig) write(t *testing.T, dir string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "bugzilla.key"), []byte("key-ksecbot\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "matrix.pass"), []byte(c.BotPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c.DigestAfter == 0 {
		c.DigestAfter = 5
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `[bugzilla]
url = %q
api_key_file = %q
poll_interval = "500ms"
default_assignee = "security@gentoo.org"

[[watch]]
product = "Gentoo Security"
component = "Kernel"

[store]
path = %q

[announce]
auto_cc = ["kernel@gentoo.org"]
digest_after = %d

[matrix]
homeserver = %q
user_id = %q
password_file = %q
encryption = true
`, c.BugzillaURL, filepath.Join(dir, "bugzilla.key"), filepath.Join(dir, "state", "ksecbot.db"), c.DigestAfter,
		c.Homeserver, string(c.BotID), filepath.Join(dir, "matrix.pass"))
	for _, r := range c.Rooms {
		fmt.Fprintf(&b, "\n[[matrix.room]]\nid = %q\n", string(r))
	}
	fmt.Fprintf(&b, `
[[tree]]
name = "gentoo-sources"
aliases = ["gentoo-kernel"]
packages = ["sys-kernel/gentoo-sources", "sys-kernel/gentoo-kernel"]
bugzilla = ["kernel@gentoo.org"]
matrix = %s

[[tree]]
name = "hardened"
aliases = ["hardened-sources"]
packages = ["sys-kernel/hardened-sources"]
bugzilla = ["hardened@gentoo.org"]
matrix = %s
auto_cc = false
`, tomlList(c.KernelMX), tomlList(c.HardenedMX))
	if c.Linked != "" {
		fmt.Fprintf(&b, "\n[[user]]\nbugzilla = %q\nmatrix = %q\nroles = [\"maintainer\"]\n", c.LinkedLogin, string(c.Linked))
	}
	path := filepath.Join(dir, "ksecbot.toml")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func tomlList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// ksecbot is one run of the real binary.
type ksecbot struct {
	t    *testing.T
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// startBot runs `ksecbot --config cfg`, copying its log into the test log.
// When the test ends (and the bot is stopped) it checks that no secret
// appears in the bot's output, even at debug level.
func startBot(t *testing.T, cfg, name string, secrets ...string) *ksecbot {
	t.Helper()
	cmd := exec.Command(ksecbotBin, "--config", cfg, "--log-level", "debug")
	out := &logWriter{t: t, prefix: name + ": "}
	cmd.Stdout, cmd.Stderr = out, out
	t.Cleanup(func() {
		out.mu.Lock()
		defer out.mu.Unlock()
		for _, l := range out.lines {
			for _, s := range secrets {
				if strings.Contains(l, s) {
					t.Errorf("%s logged a secret: %q", name, l)
				}
			}
		}
		t.Logf("%s: checked %d log lines for secrets", name, len(out.lines))
	})
	if err := cmd.Start(); err != nil {
		t.Fatalf("start ksecbot: %v", err)
	}
	k := &ksecbot{t: t, cmd: cmd, done: make(chan struct{})}
	go func() {
		k.err = cmd.Wait() // also waits for the log copying
		close(k.done)
	}()
	t.Cleanup(k.stop)
	return k
}

// stop ends the bot with SIGTERM (SIGKILL after 20 s) and waits for it.
func (k *ksecbot) stop() {
	select {
	case <-k.done:
		return
	default:
	}
	_ = k.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-k.done:
	case <-time.After(20 * time.Second):
		k.t.Errorf("ksecbot did not exit within 20 s of SIGTERM; killing it")
		_ = k.cmd.Process.Kill()
		<-k.done
	}
}

// kill ends the bot with SIGKILL, like a crash, and waits for it.
func (k *ksecbot) kill() {
	_ = k.cmd.Process.Kill()
	<-k.done
}

// logWriter copies a child's output into the test log, line by line.
type logWriter struct {
	t      *testing.T
	prefix string
	mu     sync.Mutex
	buf    []byte
	lines  []string
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	consumed := 0
	for {
		i := bytes.IndexByte(w.buf[consumed:], '\n')
		if i < 0 {
			break
		}
		line := string(w.buf[consumed : consumed+i])
		w.lines = append(w.lines, line)
		w.t.Log(w.prefix + line)
		consumed += i + 1
	}
	w.buf = w.buf[consumed:]
	return len(p), nil
}

// bugState is what a Bugzilla user sees of a bug.
type bugState struct {
	assignee string
	cc       []string
	comments []string
}

func stateOf(t *testing.T, bz *bugzillatest.Server, id int) bugState {
	t.Helper()
	b, ok := bz.Bug(id)
	if !ok {
		t.Fatalf("bug %d not in bugzillatest", id)
	}
	s := bugState{assignee: b.AssignedTo, cc: slices.Clone(b.CC)}
	for _, c := range b.Comments {
		s.comments = append(s.comments, c.Text)
	}
	return s
}

// dendrite is a private homeserver for destructive tests, from the shared
// one's config template with its own data directory and port.
type dendrite struct {
	bin, config, dir string
	port             int
	cmd              *exec.Cmd
}

func newDendrite(t *testing.T) *dendrite {
	t.Helper()
	bin, cfg, data := os.Getenv("KSECBOT_MATRIX_DENDRITE"), os.Getenv("KSECBOT_MATRIX_CONFIG"), os.Getenv("KSECBOT_MATRIX_DATA")
	if bin == "" || cfg == "" || data == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("KSECBOT_MATRIX_DENDRITE/CONFIG/DATA unset under CI")
		}
		t.Skip("KSECBOT_MATRIX_DENDRITE/CONFIG/DATA unset: source the env file of scripts/matrix-server.sh")
	}
	raw, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "dendrite.yaml")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(raw), data, filepath.Join(dir, "data"))), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	d := &dendrite{bin: bin, config: path, dir: dir, port: port}
	d.start(t)
	t.Cleanup(d.stop)
	return d
}

func (d *dendrite) url() string { return fmt.Sprintf("http://127.0.0.1:%d", d.port) }

func (d *dendrite) start(t *testing.T) {
	t.Helper()
	logf, err := os.OpenFile(filepath.Join(d.dir, "dendrite.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	d.cmd = exec.Command(d.bin, "--config", d.config, "--http-bind-address", fmt.Sprintf("127.0.0.1:%d", d.port))
	d.cmd.Dir, d.cmd.Stdout, d.cmd.Stderr = d.dir, logf, logf
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	_ = logf.Close()
	// Nothing tells us when dendrite listens: poll /versions with a deadline.
	deadline := time.Now().Add(wait)
	for {
		resp, err := http.Get(d.url() + "/_matrix/client/versions")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("dendrite did not answer /versions within %s", wait)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (d *dendrite) stop() {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	_ = d.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = d.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = d.cmd.Process.Kill()
		<-done
	}
	d.cmd = nil
}
