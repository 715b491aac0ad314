package e2etest

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// IRCServer is a private InspIRCd+Atheme started by scripts/irc-server.sh
// on free ports, with the test accounts registered; tests may kill it.
type IRCServer struct {
	// Addr is the lenient (no flood limits) client port, host:port.
	Addr string
	env  []string
	root string
}

// StartIRCServer starts a private IRC server; the test's cleanup stops it.
// It needs the packages that scripts/irc-server.sh start installs.
func StartIRCServer(t testing.TB) *IRCServer {
	t.Helper()
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	p := FreePorts(t, 4)
	s := &IRCServer{
		Addr: fmt.Sprintf("127.0.0.1:%d", p[0]),
		root: root,
		env: append(os.Environ(),
			"KSECBOT_IRC_STATE="+t.TempDir(),
			fmt.Sprintf("KSECBOT_IRC_PORT=%d", p[0]), fmt.Sprintf("KSECBOT_IRC_STRICT_PORT=%d", p[1]),
			fmt.Sprintf("KSECBOT_IRC_TLS_PORT=%d", p[2]), fmt.Sprintf("KSECBOT_IRC_LINK_PORT=%d", p[3])),
	}
	s.Run(t, "start")
	t.Cleanup(func() { s.Run(t, "stop") })
	return s
}

// Run runs an irc-server.sh subcommand on this instance: "stop-ircd"
// kills only InspIRCd, "start-ircd" brings it back.
func (s *IRCServer) Run(t testing.TB, sub string) {
	t.Helper()
	c := exec.Command("bash", filepath.Join(s.root, "scripts", "irc-server.sh"), sub)
	c.Env = s.env
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("irc-server.sh %s: %v\n%s", sub, err, out)
	}
}

// Dendrite is a private Matrix homeserver made from the shared one's
// config (scripts/matrix-server.sh) with its own data and port.
type Dendrite struct {
	// URL is the client-server API base URL.
	URL string
	// Secret is the shared registration secret.
	Secret           string
	bin, config, dir string
	port             int
	cmd              *exec.Cmd
	exited           chan struct{}
}

// StartDendrite starts a private Dendrite; the test's cleanup stops it.
// It skips (fails under CI) without the shared server's env file.
func StartDendrite(t testing.TB) *Dendrite {
	t.Helper()
	hint := "source ~/.cache/ksecbot-testservers/matrix/env (scripts/matrix-server.sh start)"
	v := Env(t, hint, "KSECBOT_MATRIX_DENDRITE", "KSECBOT_MATRIX_CONFIG", "KSECBOT_MATRIX_DATA", "KSECBOT_MATRIX_SECRET")
	raw, err := os.ReadFile(v[1])
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "dendrite.yaml")
	if err := os.WriteFile(cfg, []byte(strings.ReplaceAll(string(raw), v[2], filepath.Join(dir, "data"))), 0o600); err != nil {
		t.Fatal(err)
	}
	port := FreePorts(t, 1)[0]
	d := &Dendrite{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Secret: v[3], bin: v[0], config: cfg, dir: dir, port: port}
	d.Start(t)
	t.Cleanup(d.Stop)
	return d
}

// Start (re)starts the homeserver and waits until it answers.
func (d *Dendrite) Start(t testing.TB) {
	t.Helper()
	logf, err := os.OpenFile(filepath.Join(d.dir, "dendrite.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	d.cmd = exec.Command(d.bin, "--config", d.config, "--http-bind-address", fmt.Sprintf("127.0.0.1:%d", d.port))
	d.cmd.Dir, d.cmd.Stdout, d.cmd.Stderr = d.dir, logf, logf
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d.exited = make(chan struct{})
	go func(c *exec.Cmd, done chan struct{}) { _ = c.Wait(); close(done) }(d.cmd, d.exited)
	// Nothing tells us when Dendrite listens: poll /versions.
	Eventually(t, 60*time.Second, "dendrite to answer /versions", func() bool {
		resp, err := http.Get(d.URL + "/_matrix/client/versions")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// Stop stops the homeserver (SIGINT, SIGKILL after 10 s) and waits.
func (d *Dendrite) Stop() {
	if d.cmd == nil {
		return
	}
	_ = d.cmd.Process.Signal(os.Interrupt)
	select {
	case <-d.exited:
	case <-time.After(10 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.exited
	}
	d.cmd = nil
}
