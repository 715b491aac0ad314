// SPDX-License-Identifier: GPL-3.0-or-later

// Package matrix_test runs the real ksecbot binary against a real Dendrite
// homeserver and the in-process Bugzilla (bugzillatest), and checks what a
// Matrix user and a Bugzilla user would see. It has no non-test code: the
// binary, its config and process come from e2e/e2etest, the Matrix side
// (users, observer, private Dendrite) from internal/mxtest.
//
// Start the shared homeserver with scripts/matrix-server.sh start and source
// its env file; without KSECBOT_MATRIX_URL the tests skip (fail under CI=true).
package matrix_test

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/e2e/e2etest"
	"github.com/ksecbot/ksecbot/internal/mxtest"
)

// ksecbotBin is the binary built once in TestMain.
var ksecbotBin string

func TestMain(m *testing.M) {
	_, ok := mxtest.FromEnv()
	os.Exit(e2etest.RunMain(m, "e2e/matrix", ok, &ksecbotBin))
}

// wait is the default deadline for anything the homeserver or the bot must
// do; generous because the test machine is shared.
const wait = mxtest.DefaultTimeout

// body and mentions read a message event.
var (
	body      = mxtest.Body
	mentions  = mxtest.Mentions
	isReplyTo = mxtest.IsReplyTo
)

// isAnnouncement matches the announcement of bug n in room.
func isAnnouncement(room id.RoomID, n int) func(*event.Event) bool {
	re := regexp.MustCompile(fmt.Sprintf(`^New kernel security bug %d[: ]`, n))
	return func(e *event.Event) bool { return e.RoomID == room && re.MatchString(body(e)) }
}

// botConfig is what the TOML configuration of one ksecbot run needs.
type botConfig struct {
	BugzillaURL string
	Homeserver  string
	Bot         mxtest.User
	Rooms       []id.RoomID
	KernelMX    []string // gentoo-sources maintainers
	HardenedMX  []string // hardened maintainers
	Linked      id.UserID
	LinkedLogin string
	DigestAfter int         // 0: 5, ksecbot's default
	Private     []id.RoomID // rooms with private = true
}

// write writes the configuration and its secret files into dir and returns
// the config path.
func (c botConfig) write(t *testing.T, dir string) string {
	t.Helper()
	rooms := make([]string, len(c.Rooms))
	for i, r := range c.Rooms {
		rooms[i] = string(r)
	}
	cfg := e2etest.Config{
		Dir:             dir,
		BugzillaURL:     c.BugzillaURL,
		DefaultAssignee: "security@gentoo.org",
		AutoCC:          []string{"kernel@gentoo.org"},
		DigestAfter:     c.DigestAfter,
		Matrix:          &e2etest.Matrix{Homeserver: c.Homeserver, UserID: string(c.Bot.ID), Password: c.Bot.Password, Encryption: true, Rooms: rooms},
		Trees: []e2etest.Tree{{
			Name:     "gentoo-sources",
			Aliases:  []string{"gentoo-kernel"},
			Packages: []string{"sys-kernel/gentoo-sources", "sys-kernel/gentoo-kernel"},
			Bugzilla: []string{"kernel@gentoo.org"},
			Matrix:   c.KernelMX,
		}, {
			Name:     "hardened",
			Aliases:  []string{"hardened-sources"},
			Packages: []string{"sys-kernel/hardened-sources"},
			Bugzilla: []string{"hardened@gentoo.org"},
			Matrix:   c.HardenedMX,
		}},
	}
	if cfg.DigestAfter == 0 {
		cfg.DigestAfter = 5
	}
	for _, r := range c.Private {
		cfg.Matrix.Private = append(cfg.Matrix.Private, string(r))
	}
	if c.Linked != "" {
		cfg.Extra = fmt.Sprintf("[[user]]\nbugzilla = %q\nmatrix = %q\nroles = [\"maintainer\"]\n", c.LinkedLogin, string(c.Linked))
	}
	return cfg.Write(t)
}

// startBot runs `ksecbot --config cfg` with its log in the test log; a
// log line that contains one of secrets fails the test, even at debug
// level. The test's cleanup stops it.
func startBot(t *testing.T, cfg, name string, secrets ...string) *e2etest.Proc {
	t.Helper()
	p := e2etest.Start(t, name, ksecbotBin, "--config", cfg, "--log-level", "debug")
	p.Log.Forbid(secrets...)
	return p
}

// stopBot ends the bot with SIGTERM and fails the test unless it exits
// cleanly within 20 s.
func stopBot(t *testing.T, p *e2etest.Proc) {
	t.Helper()
	if err := p.Stop(20 * time.Second); err != nil {
		t.Errorf("ksecbot exited with %v after SIGTERM, want a clean exit", err)
	}
}

// bugState is what a Bugzilla user sees of a bug.
type bugState struct {
	assignee string
	cc       []string
	comments []string
}

func stateOf(t *testing.T, bz *bugzillatest.Server, id int) bugState {
	t.Helper()
	b, ok := bz.Bug(id)
	if !ok {
		t.Fatalf("bug %d not in bugzillatest", id)
	}
	s := bugState{assignee: b.AssignedTo, cc: slices.Clone(b.CC)}
	for _, c := range b.Comments {
		s.comments = append(s.comments, c.Text)
	}
	return s
}
