// SPDX-License-Identifier: GPL-3.0-or-later

package irctest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircevent"
	"github.com/ergochat/irc-go/ircmsg"
)

// Server is a private InspIRCd+Atheme started by scripts/irc-server.sh on
// free ports in its own state folder, with the test accounts registered;
// tests may kill and restart it.
type Server struct {
	Addr   string // lenient client port, host:port
	Strict string // strict (flood-limited) client port
	TLS    string // TLS client port (self-signed certificate)
	CAFile string // the TLS port's certificate
	env    []string
}

// ServerOptions vary a private server.
type ServerOptions struct {
	// NoSASL leaves InspIRCd's sasl module out: clients must identify
	// with NickServ.
	NoSASL bool
	// STS advertises a strict transport security policy for the TLS
	// port (sts=port=N on plaintext, sts=duration=300 on TLS).
	STS bool
}

// StartServer starts a private server; the test's cleanup stops it. It
// needs the packages that scripts/irc-server.sh start installs.
func StartServer(t testing.TB, o ServerOptions) *Server {
	t.Helper()
	p := freePorts(t, 4)
	dir := t.TempDir()
	s := &Server{
		Addr:   fmt.Sprintf("127.0.0.1:%d", p[0]),
		Strict: fmt.Sprintf("127.0.0.1:%d", p[1]),
		TLS:    fmt.Sprintf("127.0.0.1:%d", p[2]),
		CAFile: filepath.Join(dir, "cert.pem"),
		env: append(os.Environ(),
			"KSECBOT_IRC_STATE="+dir,
			fmt.Sprintf("KSECBOT_IRC_PORT=%d", p[0]), fmt.Sprintf("KSECBOT_IRC_STRICT_PORT=%d", p[1]),
			fmt.Sprintf("KSECBOT_IRC_TLS_PORT=%d", p[2]), fmt.Sprintf("KSECBOT_IRC_LINK_PORT=%d", p[3])),
	}
	if o.NoSASL {
		s.env = append(s.env, "KSECBOT_IRC_SASL=off")
	}
	if o.STS {
		s.env = append(s.env, "KSECBOT_IRC_STS=on")
	}
	s.Run(t, "start")
	t.Cleanup(func() { s.Run(t, "stop") })
	return s
}

// Run runs an irc-server.sh subcommand on this instance: "stop-ircd"
// kills only InspIRCd, "start-ircd" brings it back.
func (s *Server) Run(t testing.TB, sub string) {
	t.Helper()
	c := exec.Command("bash", script(), sub)
	c.Env = s.env
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("irc-server.sh %s: %v\n%s", sub, err, out)
	}
}

// script is scripts/irc-server.sh, found from this source file.
func script() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "scripts", "irc-server.sh")
}

// freePorts returns n TCP ports on 127.0.0.1 that were free a moment ago.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, 0, n)
	ls := make([]net.Listener, 0, n)
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

// Register registers a fresh services account with NickServ on addr and
// returns its name and password. The name starts with prefix.
func Register(t testing.TB, addr, prefix string) (account, password string) {
	t.Helper()
	account = RandName(prefix)
	password = Password(account)
	done := make(chan string, 16)
	c := &ircevent.Connection{
		Server:    addr,
		Nick:      account,
		Timeout:   10 * time.Second,
		KeepAlive: time.Minute,
		Log:       slog.NewLogLogger(slog.DiscardHandler, slog.LevelDebug),
	}
	c.AddCallback("NOTICE", func(m ircmsg.Message) {
		if !strings.EqualFold(m.Nick(), "NickServ") {
			return
		}
		select {
		case done <- LastParam(m):
		default:
		}
	})
	if err := c.Connect(); err != nil {
		t.Fatalf("register %s: connect to %s: %v", account, addr, err)
	}
	defer c.Quit()
	if c.CurrentNick() != account {
		t.Fatalf("register %s: got nick %q", account, c.CurrentNick())
	}
	if err := c.Privmsg("NickServ", "REGISTER "+password+" "+account+"@example.com"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		select {
		case reply := <-done:
			if strings.Contains(reply, "is now registered to") {
				return account, password
			}
			t.Logf("register %s: NickServ: %s", account, reply)
		case <-ctx.Done():
			t.Fatalf("register %s: NickServ did not confirm within 15 s", account)
		}
	}
}
