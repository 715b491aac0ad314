// SPDX-License-Identifier: GPL-3.0-or-later

package config

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that its errors are always
// *Problems whose lines lie inside the document, and that what it accepts
// is a usable config. Run: go test -tags goolm -fuzz FuzzParse ./config/
func FuzzParse(f *testing.F) {
	if sample, err := os.ReadFile(samplePath); err == nil {
		f.Add(string(sample))
	}
	f.Add(minimal)
	f.Add(minimal + "[[tree]]\nname = \"a\"\naliases = [\"b\", {x = 1}]\n")
	f.Add(minimal + "[announce]\nremind_grade = {A = 5, \"a.b\" = \"1d\"}\n")
	f.Add(minimal + "[chat.limits]\ninterval = [1]\n[[chat]]\n")
	f.Add("bugzilla = {url = \"https://x\", poll_interval = 60}\nchat.nick = 3\n")
	f.Add(minimal + "[[tree]]\nname = \"t\"\nchat = [1]\nroom = \"@r\"\n[[user]]\nroom = [\"@x\"]\n")
	f.Add("[[watch]]\n[[watch.x]]\n[watch.x.y]\na=1\n")
	f.Add("[log\n")
	f.Fuzz(func(t *testing.T, doc string) {
		c, err := Parse([]byte(doc), "f.toml", testNets...)
		if err != nil {
			var ps *Problems
			if !errors.As(err, &ps) {
				t.Fatalf("error %T is not *Problems: %v", err, err)
			}
			if len(ps.List) == 0 {
				t.Fatalf("empty *Problems returned as an error")
			}
			lines := strings.Count(doc, "\n") + 1
			for _, p := range ps.List {
				if p.Line < 0 || p.Line > lines {
					t.Fatalf("problem %+v: line outside the %d-line document", p, lines)
				}
				if p.Msg == "" {
					t.Fatalf("problem without a message: %+v", p)
				}
			}
			return
		}
		if c.Bugzilla.URL == "" || len(c.Watches) == 0 || c.Bugzilla.PollInterval.Duration <= 0 || c.Commands.Prefix == "" {
			t.Fatalf("accepted config lacks required values: %+v", c)
		}
		if s := chat(c); s != nil && (s.Nick == "" || s.Timeout.Duration <= 0) {
			t.Fatalf("accepted [chat] without nick or its defaults: %+v", s)
		}
		for _, tr := range c.Trees {
			if got, ok := c.Tree(tr.Name); !ok || got.Name != tr.Name {
				t.Fatalf("Tree(%q) = %v, %v", tr.Name, got, ok)
			}
		}
	})
}
