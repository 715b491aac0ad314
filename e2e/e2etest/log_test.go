// SPDX-License-Identifier: GPL-3.0-or-later

package e2etest

import (
	"fmt"
	"strings"
	"testing"
)

// recorder is a testing.TB that records what Log reports.
type recorder struct {
	testing.TB
	logs, errs []string
}

func (r *recorder) Helper()                      {}
func (r *recorder) Log(args ...any)              { r.logs = append(r.logs, fmt.Sprint(args...)) }
func (r *recorder) Errorf(f string, args ...any) { r.errs = append(r.errs, fmt.Sprintf(f, args...)) }

// TestLogForbid: a line holding a forbidden secret fails the test, before
// or after Forbid, and is mirrored masked; clean lines pass.
func TestLogForbid(t *testing.T) {
	for _, tc := range []struct {
		name      string
		before    string // written before Forbid
		after     string // written after Forbid
		wantErrs  int
		wantShown string // mirrored form of the last line
	}{
		{"clean", "ok\n", "still ok\n", 0, "p: still ok"},
		{"secret later", "ok\n", "token=hunter2 x\n", 1, "p: token=*** x"},
		{"secret earlier", "pw hunter2\n", "fine\n", 1, "p: fine"},
		{"both", "hunter2\n", "key-ksecbot hunter2\n", 2, "p: *** ***"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{TB: t}
			l := NewLog(r, "p: ")
			_, _ = l.Write([]byte(tc.before))
			l.Forbid("hunter2", "key-ksecbot")
			_, _ = l.Write([]byte(tc.after))
			if len(r.errs) != tc.wantErrs {
				t.Errorf("errors = %q, want %d", r.errs, tc.wantErrs)
			}
			for _, e := range r.errs {
				if strings.Contains(e, "hunter2") {
					t.Errorf("the error shows the secret: %q", e)
				}
			}
			if got := r.logs[len(r.logs)-1]; got != tc.wantShown {
				t.Errorf("mirrored %q, want %q", got, tc.wantShown)
			}
		})
	}
}
