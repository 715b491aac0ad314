// SPDX-License-Identifier: GPL-3.0-or-later

package bugmail

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var kernel = [][2]string{{"Gentoo Security", "Kernel"}}

func TestRealBugmail(t *testing.T) {
	tests := []struct {
		file    string
		bug     int
		typ     string
		watched bool
	}{
		{"01-new-kernel.eml", 1, "new", true},
		{"03-new-vulnerabilities.eml", 7, "new", false},
		{"04-new-current-packages.eml", 9, "new", false},
		{"05-changed-kernel.eml", 1, "changed", true},
		{"14-changed-kernel.eml", 3, "changed", true},
		{"18-changed-current-packages.eml", 10, "changed", false},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			m, err := Parse(f)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if m.BugID != tc.bug || m.Type != tc.typ || m.Watched(kernel) != tc.watched {
				t.Errorf("got bug %d type %q watched %v (%s/%s), want %d %q %v", m.BugID, m.Type, m.Watched(kernel), m.Product, m.Component, tc.bug, tc.typ, tc.watched)
			}
		})
	}
}

func TestGarbage(t *testing.T) {
	for name, in := range map[string]string{
		"empty":          "",
		"not mail":       "hello world\x00\xff",
		"no bugzilla":    "From: a@b\r\nSubject: [Bug 1] x\r\n\r\nbody",
		"no bug number":  "Subject: hi\r\nX-Bugzilla-Type: new\r\nX-Bugzilla-Product: Gentoo Security\r\n\r\n",
		"mismatched ids": "Subject: [Bug 5] x\r\nMessage-ID: <bug-6-1@x/>\r\nX-Bugzilla-Type: new\r\nX-Bugzilla-Product: P\r\n\r\n",
		"zero":           "Subject: [Bug 0] x\r\nX-Bugzilla-Type: new\r\nX-Bugzilla-Product: P\r\n\r\n",
	} {
		if _, err := Parse(strings.NewReader(in)); !errors.Is(err, ErrNotBugmail) {
			t.Errorf("%s: err = %v, want ErrNotBugmail", name, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	b, _ := os.ReadFile("testdata/01-new-kernel.eml")
	f.Add(string(b))
	f.Add("Subject: [Bug 1] x\r\n\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := Parse(strings.NewReader(s))
		if err == nil && m.BugID <= 0 {
			t.Fatalf("accepted bug %d", m.BugID)
		}
	})
}
