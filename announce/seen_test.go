// SPDX-License-Identifier: GPL-3.0-or-later

package announce

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/policy"
)

// The embargo rules by type: these lines compile only while every method
// that renders a bug takes the policy's judgement of it (policy.Seen, from
// policy.Policy.See) and the CVE hook takes the bug as shown in full
// (policy.Full), never a bare *bugzilla.Bug. policy.Seen and policy.Full
// have unexported fields, so only package policy makes them, after its
// decision: a renderer cannot show a bug's details without asking.
var (
	_ func(*Renderer, policy.Seen) chat.Line                                      = (*Renderer).Describe
	_ func(*Renderer, policy.Seen) (chat.Line, bool)                              = (*Renderer).NewBug
	_ func(*Renderer, policy.Seen, string, bool, time.Duration) (chat.Line, bool) = (*Renderer).MovedIn
	_ func(*Renderer, string, string, string, policy.Seen) (chat.Line, bool)      = (*Renderer).Change
	_ func(*Renderer, []policy.Seen) (chat.Line, bool)                            = (*Renderer).Digest
	_ func(*Renderer, []policy.Seen) []chat.Line                                  = (*Renderer).DigestDetail
	_ func(*Renderer, policy.Seen, time.Duration) (chat.Line, bool)               = (*Renderer).Remind
	_ func(CVEAnnotator, policy.Full) (CVENote, bool)                             = CVEAnnotator.AnnotateBug
)

// TestRendererNeverSeesABareBug: the files that render lines do not even
// import package bugzilla; only Intent and the announcer, which hand each
// bug to policy.Policy.See, do.
func TestRendererNeverSeesABareBug(t *testing.T) {
	handsToPolicy := map[string]bool{"intent.go": true, "announcer.go": true}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if handsToPolicy[name] || filepath.Ext(name) != ".go" || len(name) > 8 && name[len(name)-8:] == "_test.go" {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == "github.com/ksecbot/ksecbot/bugzilla" {
				t.Errorf("%s imports package bugzilla: a renderer gets bugs only as policy.Seen and policy.Full", name)
			}
		}
	}
	if checked < 2 {
		t.Fatalf("checked %d files", checked)
	}
}
