// SPDX-License-Identifier: GPL-3.0-or-later

// Package irctest holds what the IRC tests share: the shared test servers'
// addresses (scripts/irc-server.sh), an observer client that sees what a
// person in the channel sees, registration of fresh services accounts and
// private InspIRCd+Atheme instances for destructive tests.
//
// It is a plain package (not a _test file) so that transport/irc, e2e/ and bench
// can all use it; it depends on "testing" only for testing.TB.
package irctest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"testing"
	"time"
)

// Hint says how to get the shared IRC test servers.
const Hint = "scripts/irc-server.sh start; source ~/.cache/ksecbot-testservers/irc/env"

// Servers are the shared test servers' addresses, from the env file that
// scripts/irc-server.sh start writes.
type Servers struct {
	Addr   string // lenient client port (no flood limits)
	Strict string // Libera-like flood limits
	TLS    string // TLS port, self-signed certificate
	CAFile string // the TLS port's certificate
}

// Need returns the shared servers' addresses. Without KSECBOT_IRC_ADDR the
// test is skipped, or fails when CI=true.
func Need(t testing.TB) Servers {
	t.Helper()
	s := Servers{
		Addr:   os.Getenv("KSECBOT_IRC_ADDR"),
		Strict: os.Getenv("KSECBOT_IRC_STRICT_ADDR"),
		TLS:    os.Getenv("KSECBOT_IRC_TLS_ADDR"),
		CAFile: os.Getenv("KSECBOT_IRC_CA_FILE"),
	}
	if s.Addr == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("KSECBOT_IRC_ADDR not set under CI: " + Hint)
		}
		t.Skip("KSECBOT_IRC_ADDR not set: " + Hint)
	}
	return s
}

// NgircdHint says how to get the second IRC test server.
const NgircdHint = "scripts/ngircd-server.sh start; source ~/.cache/ksecbot-testservers/ngircd/env"

// NeedNgircd returns the address of the ngIRCd test server
// (scripts/ngircd-server.sh: no services, no SASL, no account-tag, no
// echo-message). Without KSECBOT_NGIRCD_ADDR the test is skipped, or
// fails when CI=true.
func NeedNgircd(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("KSECBOT_NGIRCD_ADDR")
	if addr == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("KSECBOT_NGIRCD_ADDR not set under CI: " + NgircdHint)
		}
		t.Skip("KSECBOT_NGIRCD_ADDR not set: " + NgircdHint)
	}
	return addr
}

// Available reports whether the shared servers' env is set (for a
// TestMain deciding whether to build anything).
func Available() bool { return os.Getenv("KSECBOT_IRC_ADDR") != "" }

// Password is the password of the test accounts scripts/irc-server.sh
// registers (ksecbot, alice, bob, carol, observer) and of Register's.
func Password(account string) string { return account + "-pass" }

// RandName returns prefix followed by six random digits: a nick or a
// channel no other test uses.
func RandName(prefix string) string { return fmt.Sprintf("%s%06d", prefix, rand.IntN(1000000)) }

// reconnectIn reads the delay of the IRC transport's reconnect log line.
var reconnectIn = regexp.MustCompile(`reconnecting.* in=([0-9.]+m?s)`)

// ReconnectDelay reads the delay of ksecbot's "disconnected,
// reconnecting ... in=2s" log line; ok is false for other lines.
func ReconnectDelay(line string) (d time.Duration, ok bool) {
	m := reconnectIn.FindStringSubmatch(line)
	if m == nil {
		return 0, false
	}
	d, err := time.ParseDuration(m[1])
	return d, err == nil
}
