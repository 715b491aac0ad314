// SPDX-License-Identifier: GPL-3.0-or-later

// Package mxtest holds the Matrix helpers that ksecbot's tests and the
// benchmark share: the test homeserver of scripts/matrix-server.sh (from
// its env file), shared-secret registration of fresh users, an observer
// client with its own end-to-end encryption that records what it receives,
// room creation, sending, reading a room's history, and a private Dendrite
// that a test may stop and start.
//
// It is a plain package, not a _test file, so that transport/matrix tests, the
// e2e suites and bench can all use it; it imports "testing" only for
// testing.TB. Together with transport/matrix it is the only package that imports
// mautrix outside tests.
package mxtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"
	"maunium.net/go/mautrix/synapseadmin"
)

// RoomID and UserID are mautrix's identifiers, named here so that callers
// outside tests (bench) need not import mautrix.
type (
	RoomID = id.RoomID
	UserID = id.UserID
)

// Hint says how to provide the test homeserver.
const Hint = "run scripts/matrix-server.sh start and source ~/.cache/ksecbot-testservers/matrix/env"

// Server is a Matrix homeserver that accepts shared-secret registration.
type Server struct {
	// URL is the client-server API base URL.
	URL string
	// Secret is the registration shared secret.
	Secret string
}

// FromEnv returns the shared test homeserver named by KSECBOT_MATRIX_URL
// and KSECBOT_MATRIX_SECRET, and whether both are set.
func FromEnv() (Server, bool) {
	s := Server{URL: os.Getenv("KSECBOT_MATRIX_URL"), Secret: os.Getenv("KSECBOT_MATRIX_SECRET")}
	return s, s.URL != "" && s.Secret != ""
}

// Shared returns the shared test homeserver; without one the test is
// skipped, except under CI=true where that is a failure.
func Shared(t testing.TB) Server {
	t.Helper()
	requireEnv(t, "KSECBOT_MATRIX_URL", "KSECBOT_MATRIX_SECRET")
	s, _ := FromEnv()
	return s
}

// requireEnv skips the test (fails it under CI=true) unless every one of
// names is set in the environment.
func requireEnv(t testing.TB, names ...string) {
	t.Helper()
	var missing []string
	for _, n := range names {
		if os.Getenv(n) == "" {
			missing = append(missing, n)
		}
	}
	switch {
	case len(missing) == 0:
	case os.Getenv("CI") == "true":
		t.Fatalf("%s unset under CI: %s", strings.Join(missing, ", "), Hint)
	default:
		t.Skipf("no Matrix test homeserver (%s unset): %s", strings.Join(missing, ", "), Hint)
	}
}

// RandName returns prefix followed by ten random hex digits.
func RandName(prefix string) string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// User is a registered account.
type User struct {
	ID       id.UserID
	Password string
}

// Register creates a fresh user named prefix plus random hex digits, by
// shared-secret registration (no login, no device).
func (s Server) Register(ctx context.Context, prefix string) (User, error) {
	cli, err := mautrix.NewClient(s.URL, "", "")
	if err != nil {
		return User{}, fmt.Errorf("failed to create a matrix client: %w", err)
	}
	name, pw := RandName(prefix), RandName("pw-")
	admin := &synapseadmin.Client{Client: cli}
	if _, err := admin.SharedSecretRegister(ctx, s.Secret, synapseadmin.ReqSharedSecretRegister{
		Username: name, Password: pw, InhibitLogin: true,
	}); err != nil {
		return User{}, fmt.Errorf("failed to register %s: %w", name, err)
	}
	return User{ID: id.NewUserID(name, "localhost"), Password: pw}, nil
}

// NewUser is Register that fails the test on error.
func (s Server) NewUser(ctx context.Context, t testing.TB, prefix string) User {
	t.Helper()
	u, err := s.Register(ctx, prefix)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Login returns a plain client (no encryption, no sync) logged in as u.
func (s Server) Login(ctx context.Context, t testing.TB, u User) *mautrix.Client {
	t.Helper()
	cli, err := mautrix.NewClient(s.URL, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Login(ctx, loginReq(u, true)); err != nil {
		t.Fatalf("login %s: %v", u.ID, err)
	}
	return cli
}

func loginReq(u User, store bool) *mautrix.ReqLogin {
	return &mautrix.ReqLogin{
		Type:             mautrix.AuthTypePassword,
		Identifier:       mautrix.UserIdentifier{Type: mautrix.IdentifierTypeUser, User: u.ID.Localpart()},
		Password:         u.Password,
		StoreCredentials: store,
	}
}
