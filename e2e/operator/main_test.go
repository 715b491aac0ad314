// SPDX-License-Identifier: GPL-3.0-or-later

// Package operator tests what the operator is told, with the real binary
// as the operator runs it: check-config refuses what the daemon refuses,
// with the same exit status and the same lines; relative paths are
// relative to the configuration file wherever ksecbot is started; the
// commands the README, --help and the man page show run as written; the
// test servers' scripts honour their port settings. It needs no chat
// server.
package operator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/e2e/e2etest"
)

// bin is the ksecbot binary built by TestMain; root is the repository.
var bin, root string

func TestMain(m *testing.M) {
	os.Exit(func() int {
		var err error
		if root, err = e2etest.ModuleRoot(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e/operator:", err)
			return 1
		}
		dir, err := os.MkdirTemp("", "ksecbot-operator-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e/operator:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		// Other users run it too (TestCheckConfigAsTheServiceUser).
		if err := os.Chmod(dir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "e2e/operator:", err)
			return 1
		}
		if bin, err = e2etest.Build(dir); err != nil {
			fmt.Fprintln(os.Stderr, "e2e/operator:", err)
			return 1
		}
		return m.Run()
	}())
}

// result is how a ksecbot run ended.
type result struct {
	code           int
	stdout, stderr string
}

// runBin runs ksecbot with args in dir, stdin empty, and waits at most a
// minute; with cred set (tests running as root) as that user.
func runBin(t *testing.T, dir string, cred *userIDs, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "KSECBOT_CONFIG=")
	cred.apply(cmd)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("ksecbot %q: %v", args, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("ksecbot %q did not end within a minute; stderr:\n%s", args, errb.String())
	}
	return result{code, out.String(), errb.String()}
}

// writeFile writes content to dir/name with mode perm (past the umask)
// and returns its path.
func writeFile(t *testing.T, dir, name, content string, perm os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, perm); err != nil {
		t.Fatal(err)
	}
	return p
}

// linesAbout returns the lines of out that begin with path and a colon:
// the problems and warnings about that file, as both check-config and
// the daemon print them.
func linesAbout(out, path string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, path+":") && l != path+": ok" {
			lines = append(lines, l)
		}
	}
	return lines
}

// daemon is a ksecbot a test started, its console on a pipe.
type daemon struct {
	cmd   *exec.Cmd
	log   *e2etest.Log
	stdin io.WriteCloser
	done  chan error
}

// startDaemon runs ksecbot with args in dir and waits until its log says
// it started; its standard input stays open until stop.
func startDaemon(t *testing.T, dir string, args ...string) *daemon {
	t.Helper()
	d := &daemon{cmd: exec.Command(bin, args...), log: e2etest.NewLog(t, "daemon: "), done: make(chan error, 1)}
	d.cmd.Dir = dir
	d.cmd.Env = append(os.Environ(), "KSECBOT_CONFIG=")
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	var err error
	if d.stdin, err = d.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		d.stdin.Close()
		_ = d.cmd.Process.Kill()
	})
	d.log.WaitFor(t, 30*time.Second, 0, "the daemon's start", e2etest.Contains("ksecbot starting"))
	return d
}

// stop sends SIGTERM and wants the daemon to end with status 0.
func (d *daemon) stop(t *testing.T) {
	t.Helper()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		if err != nil {
			t.Errorf("daemon after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the daemon did not stop on SIGTERM")
	}
}
