package e2etest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
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
