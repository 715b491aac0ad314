// SPDX-License-Identifier: GPL-3.0-or-later

package operator

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMatrixServerPort starts scripts/matrix-server.sh with
// KSECBOT_MATRIX_PORT set to a free port and its own KSECBOT_TESTSERVERS,
// as a second developer on a shared machine would: Dendrite answers on
// that port and nowhere else is taken, its env file says so, a second
// start on the same (now taken) port is refused, and stop ends it.
func TestMatrixServerPort(t *testing.T) {
	gopath, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		t.Fatal(err)
	}
	dendrite := filepath.Join(strings.SplitN(strings.TrimSpace(string(gopath)), ":", 2)[0], "bin", "dendrite")
	if _, err := os.Stat(dendrite); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no Dendrite at %s under CI (scripts/test.sh builds it)", dendrite)
		}
		t.Skipf("no Dendrite at %s: scripts/matrix-server.sh start builds it (about 2 minutes)", dendrite)
	}
	port := freePort(t)
	state := t.TempDir()
	script := func(servers, port string, args ...string) (string, error) {
		cmd := exec.Command(filepath.Join(root, "scripts", "matrix-server.sh"), args...)
		cmd.Env = append(os.Environ(), "KSECBOT_TESTSERVERS="+servers, "KSECBOT_MATRIX_PORT="+port)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	t.Cleanup(func() {
		if out, err := script(state, port, "stop"); err != nil {
			t.Errorf("matrix-server.sh stop: %v\n%s", err, out)
		}
	})
	out, err := script(state, port, "start")
	if err != nil {
		t.Fatalf("matrix-server.sh start: %v\n%s", err, out)
	}
	url := "http://127.0.0.1:" + port
	env, err := os.ReadFile(filepath.Join(state, "matrix", "env"))
	if err != nil || !strings.Contains(string(env), "KSECBOT_MATRIX_URL="+url+"\n") {
		t.Fatalf("env file (%v):\n%s\nwant KSECBOT_MATRIX_URL=%s", err, env, url)
	}
	if body := get(t, url+"/_matrix/client/versions"); !strings.Contains(body, `"versions"`) {
		t.Errorf("GET %s/_matrix/client/versions: %s; want Dendrite's versions", url, body)
	}

	// The port is taken now: another start with it is refused, it does
	// not move to another port.
	other := t.TempDir()
	out, err = script(other, port, "start")
	if err == nil || !strings.Contains(out, "KSECBOT_MATRIX_PORT="+port+": the port is in use") {
		t.Errorf("a second start on the taken port %s: %v\n%s\nwant it refused", port, err, out)
		_, _ = script(other, port, "stop")
	}

	if out, err := script(state, port, "stop"); err != nil {
		t.Fatalf("matrix-server.sh stop: %v\n%s", err, out)
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second); err == nil {
		c.Close()
		t.Errorf("port %s still answers after stop", port)
	}
}

// freePort returns a TCP port on 127.0.0.1 that nothing listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// get returns the body of a GET of url.
func get(t *testing.T, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return string(b)
}
