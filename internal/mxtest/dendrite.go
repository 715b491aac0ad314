// SPDX-License-Identifier: GPL-3.0-or-later

package mxtest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Dendrite is a private homeserver for destructive tests. It runs the
// binary of scripts/matrix-server.sh with the config that script generated,
// pointed at its own data directory and a free port.
type Dendrite struct {
	// Server is its URL and registration secret.
	Server
	bin, config, dir string
	addr             string
	cmd              *exec.Cmd
	exited           chan struct{}
}

// StartDendrite starts a private Dendrite; the test's cleanup stops it. It
// skips the test (fails it under CI=true) without the shared server's env.
func StartDendrite(t testing.TB) *Dendrite {
	t.Helper()
	requireEnv(t, "KSECBOT_MATRIX_DENDRITE", "KSECBOT_MATRIX_CONFIG", "KSECBOT_MATRIX_DATA", "KSECBOT_MATRIX_SECRET")
	raw, err := os.ReadFile(os.Getenv("KSECBOT_MATRIX_CONFIG"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "dendrite.yaml")
	if err := os.WriteFile(cfg, []byte(strings.ReplaceAll(string(raw), os.Getenv("KSECBOT_MATRIX_DATA"), data)), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	d := &Dendrite{
		Server: Server{URL: "http://" + addr, Secret: os.Getenv("KSECBOT_MATRIX_SECRET")},
		bin:    os.Getenv("KSECBOT_MATRIX_DENDRITE"), config: cfg, dir: dir, addr: addr,
	}
	d.Start(t)
	t.Cleanup(d.Stop)
	return d
}

// Start (re)starts the homeserver on the same port and data, and waits
// until it answers /versions; its output goes to dendrite.log in its
// directory.
func (d *Dendrite) Start(t testing.TB) {
	t.Helper()
	logf, err := os.OpenFile(filepath.Join(d.dir, "dendrite.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	d.cmd = exec.Command(d.bin, "--config", d.config, "--http-bind-address", d.addr)
	d.cmd.Dir, d.cmd.Stdout, d.cmd.Stderr = d.dir, logf, logf
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("failed to start dendrite: %v", err)
	}
	d.exited = make(chan struct{})
	go func(c *exec.Cmd, done chan struct{}) { _ = c.Wait(); close(done) }(d.cmd, d.exited)
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	if err := d.awaitReady(ctx); err != nil {
		t.Fatalf("dendrite on %s: %v (log: %s)", d.addr, err, filepath.Join(d.dir, "dendrite.log"))
	}
}

// awaitReady polls /versions: nothing tells us when Dendrite listens.
func (d *Dendrite) awaitReady(ctx context.Context) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.URL+"/_matrix/client/versions", nil)
		if err != nil {
			return fmt.Errorf("failed to build the request: %w", err)
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-d.exited:
			return fmt.Errorf("dendrite exited before answering /versions")
		case <-ctx.Done():
			return fmt.Errorf("no answer on /versions: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// Stop stops the homeserver (SIGINT, SIGKILL after 10 s) and waits for it;
// it does nothing when it is not running.
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
