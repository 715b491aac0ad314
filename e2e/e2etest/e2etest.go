// SPDX-License-Identifier: GPL-3.0-or-later

// Package e2etest holds what the end-to-end suites share: building the
// ksecbot binary once, writing its configuration, running it as a
// subprocess with its log captured and waiting on that log. The network
// helpers, private servers included, are in internal/irctest and
// internal/mxtest.
//
// It is a plain package (not a _test file) so that every suite under e2e/
// can import it; it depends on "testing" only for testing.TB.
package e2etest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// ModuleRoot returns the directory of ksecbot's go.mod, searched upwards
// from the working directory.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("failed to get the working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("e2etest: go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Build compiles ./cmd/ksecbot (with -tags goolm) into dir and returns the
// binary's path. Call it once from TestMain.
func Build(dir string) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "ksecbot")
	cmd := exec.Command("go", "build", "-tags", "goolm", "-o", bin, "./cmd/ksecbot")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("failed to build ksecbot: %w\n%s", err, out)
	}
	return bin, nil
}

// Env returns the values of the named environment variables. When one is
// unset the test is skipped, or fails when CI=true; hint says how to set
// them (e.g. "source ~/.cache/ksecbot-testservers/irc/env").
func Env(t testing.TB, hint string, names ...string) []string {
	t.Helper()
	vals := make([]string, len(names))
	for i, n := range names {
		vals[i] = os.Getenv(n)
		if vals[i] == "" {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not set under CI: %s", n, hint)
			}
			t.Skipf("%s not set: %s", n, hint)
		}
	}
	return vals
}

// Eventually checks cond every 50 ms until it holds, and fails the test
// with what after timeout. Use it only for state nothing notifies about
// (a database, an HTTP API); prefer a log or message barrier.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		<-tick.C
	}
}
