// SPDX-License-Identifier: GPL-3.0-or-later

package policy_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// sightOwners are the folders whose code may read a bug's restriction and
// sight itself: this package, which decides; bugzilla, which defines Bug
// and fills Sight when it reconciles; store, which keeps both in the
// mirror and records a change of restriction as an event.
var sightOwners = []string{"policy", "bugzilla", "store"}

// TestOnlyPolicyDecidesSight: outside policy (and the packages that
// define and store the data), no code calls Bug.Restricted or touches
// Bug.Sight. Whether a bug is restricted, gone or unconfirmed is asked of
// this package (See, Restricted, Gone, ConfirmedWithin, Unread), so a new
// kind of line or a new command cannot decide it differently. It reads
// the syntax tree of every non-test file: a call of a method named
// Restricted without arguments, and any selector named Sight, count.
// policy.Seen and policy.Full name theirs Embargoed, so no other
// Restricted() is in the way.
func TestOnlyPolicyDecidesSight(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || owner(rel) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		checked++
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Restricted" && len(n.Args) == 0 {
					t.Errorf("%s:%d: calls Restricted() itself: ask package policy (policy.Restricted, or See for what a channel may see)", rel, fset.Position(n.Pos()).Line)
				}
			case *ast.SelectorExpr:
				if n.Sel.Name == "Sight" {
					t.Errorf("%s:%d: touches Sight itself: ask package policy (See, Gone, ConfirmedWithin, Unread)", rel, fset.Position(n.Pos()).Line)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 100 {
		t.Fatalf("checked only %d files: is the walk rooted at the module?", checked)
	}
}

func owner(rel string) bool {
	for _, o := range sightOwners {
		if rel == o || strings.HasPrefix(rel, o+"/") {
			return true
		}
	}
	return false
}
