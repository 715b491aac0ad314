package matrix

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/crypto/cryptohelper"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
	"maunium.net/go/mautrix/synapseadmin"

	"github.com/ksecbot/ksecbot/chat"
)

// server is the test homeserver started by scripts/matrix-server.sh.
type server struct {
	URL, Secret string
}

// testServer returns the homeserver from the environment; without one the
// test is skipped, except under CI where that is a failure.
func testServer(t *testing.T) server {
	t.Helper()
	s := server{URL: os.Getenv("KSECBOT_MATRIX_URL"), Secret: os.Getenv("KSECBOT_MATRIX_SECRET")}
	if s.URL == "" || s.Secret == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("KSECBOT_MATRIX_URL/KSECBOT_MATRIX_SECRET unset under CI: run scripts/matrix-server.sh start and source its env file")
		}
		t.Skip("no Matrix test homeserver: run scripts/matrix-server.sh start and source its env file")
	}
	return s
}

func randName(prefix string) string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// register creates a fresh user and returns its ID and password.
func (s server) register(t *testing.T, ctx context.Context, prefix string) (id.UserID, string) {
	t.Helper()
	cli, err := mautrix.NewClient(s.URL, "", "")
	if err != nil {
		t.Fatal(err)
	}
	name, pw := randName(prefix), randName("pw-")
	admin := &synapseadmin.Client{Client: cli}
	_, err = admin.SharedSecretRegister(ctx, s.Secret, synapseadmin.ReqSharedSecretRegister{
		Username: name, Password: pw, InhibitLogin: true,
	})
	if err != nil {
		t.Fatalf("register %s: %v", name, err)
	}
	return id.NewUserID(name, "localhost"), pw
}

// peer is a plain mautrix client with its own crypto: the "observer" in the
// room, who reads what the bot sends and talks to it.
type peer struct {
	cli    *mautrix.Client
	events chan *event.Event
}

func (s server) newPeer(t *testing.T, ctx context.Context, user id.UserID, pw string) *peer {
	t.Helper()
	cli, err := mautrix.NewClient(s.URL, "", "")
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
	p := &peer{cli: cli, events: make(chan *event.Event, 256)}
	sy := cli.Syncer.(*mautrix.DefaultSyncer)
	sy.OnEventType(event.EventMessage, func(_ context.Context, evt *event.Event) {
		if evt.Sender != cli.UserID {
			p.events <- evt
		}
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
	return p
}

// next returns the next message event in room from someone else.
func (p *peer) next(t *testing.T, room id.RoomID) *event.Event {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case evt := <-p.events:
			if evt.RoomID == room {
				return evt
			}
		case <-deadline:
			t.Fatalf("no message in %s within 15 s", room)
			return nil
		}
	}
}

func (p *peer) say(t *testing.T, ctx context.Context, room id.RoomID, content *event.MessageEventContent) id.EventID {
	t.Helper()
	resp, err := p.cli.SendMessageEvent(ctx, room, event.EventMessage, content)
	if err != nil {
		t.Fatalf("observer send: %v", err)
	}
	return resp.EventID
}

// inbox collects what the transport hands to the core.
type inbox chan chat.Incoming

func (in inbox) Receive(_ context.Context, m chat.Incoming) { in <- m }

func (in inbox) next(t *testing.T) chat.Incoming {
	t.Helper()
	select {
	case m := <-in:
		return m
	case <-time.After(15 * time.Second):
		t.Fatal("no incoming message within 15 s")
		return chat.Incoming{}
	}
}

// running is a transport whose Run goroutine the test controls.
type running struct {
	tr     *Transport
	in     inbox
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, tr *Transport) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{tr: tr, in: make(inbox, 64), cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- tr.Run(ctx, r.in) }()
	t.Cleanup(r.stop)
	return r
}

var stopOnce sync.Map

func (r *running) stop() {
	if _, done := stopOnce.LoadOrStore(r, true); done {
		return
	}
	r.cancel()
	<-r.done
}

// waitFor polls an observable condition; there is no event to wait on for
// "the sync loop has noticed", so a short poll with a deadline is the barrier.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *running) waitJoined(t *testing.T) {
	t.Helper()
	waitFor(t, "the transport to sync and join its rooms", 20*time.Second, func() bool {
		return r.tr.Connected() && r.tr.allJoined()
	})
}

// dendrite runs a private homeserver for destructive tests, from the same
// config template as the shared one but with its own data directory.
type dendrite struct {
	bin, config, dir string
	port             int
	cmd              *exec.Cmd
}

func newDendrite(t *testing.T) *dendrite {
	t.Helper()
	bin, cfg, data := os.Getenv("KSECBOT_MATRIX_DENDRITE"), os.Getenv("KSECBOT_MATRIX_CONFIG"), os.Getenv("KSECBOT_MATRIX_DATA")
	if bin == "" || cfg == "" || data == "" {
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
	waitFor(t, "dendrite to answer /versions", 20*time.Second, func() bool {
		resp, err := http.Get(d.url() + "/_matrix/client/versions")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
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
