// SPDX-License-Identifier: GPL-3.0-or-later

package commands

import (
	"strconv"
	"strings"
	"testing"
)

// TestClaimIsOneReadOneWrite: !claim reads the bug once and writes once;
// the mirror is brought up to date from the PUT's answer, not a re-read.
func TestClaimIsOneReadOneWrite(t *testing.T) {
	e := newEnv(t, "key-ksecbot")
	id := e.bug(kernelBug("sys-kernel/gentoo-sources: use-after-free"))
	before := len(e.srv.Requests())
	out := text(e.say(idAlice, chPublic, "!claim "+strconv.Itoa(id)))
	if !strings.Contains(out, "Claimed") {
		t.Fatalf("reply %q", out)
	}
	reqs := e.srv.Requests()[before:]
	var gets, puts int
	for _, r := range reqs {
		switch r.Method {
		case "GET":
			gets++
		case "PUT":
			puts++
		}
	}
	if gets != 1 || puts != 1 || len(reqs) != 2 {
		t.Errorf("!claim made %d requests (%d GET, %d PUT), want 1 read and 1 write", len(reqs), gets, puts)
	}
	m, ok, err := e.st.Bug(e.ctx, id)
	srvBug := e.sbug(id)
	if err != nil || !ok || m.AssignedTo != "alice@gentoo.org" || !m.LastChangeTime.Equal(srvBug.LastChangeTime) {
		t.Errorf("mirror after !claim: assignee %q, last change %v; want alice@gentoo.org, %v", m.AssignedTo, m.LastChangeTime, srvBug.LastChangeTime)
	}
}

// TestWriteRefusedWhileKeyRefused: once Bugzilla has refused the key, a
// write command is refused at once with a clear reply and no request.
func TestWriteRefusedWhileKeyRefused(t *testing.T) {
	e := newEnv(t, "key-revoked")
	id := e.bug(kernelBug("sys-kernel/gentoo-sources: overflow"))
	e.say(idAlice, chPublic, "!claim "+strconv.Itoa(id)) // meets the refusal
	if !e.bz.KeyRefused() {
		t.Fatal("the client did not notice the refused key")
	}
	before := len(e.srv.Requests())
	out := text(e.say(idAlice, chPublic, "!cc hardened "+strconv.Itoa(id)))
	if !strings.Contains(out, "refuses ksecbot's API key") || !strings.Contains(out, "nothing was changed") {
		t.Errorf("reply %q, want a clear read-only answer", out)
	}
	if n := len(e.srv.Requests()) - before; n != 0 {
		t.Errorf("a refused write made %d requests", n)
	}
}
