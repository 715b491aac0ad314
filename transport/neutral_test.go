// SPDX-License-Identifier: GPL-3.0-or-later

package transport_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// networkAware are the folders whose code may name a network: the network
// packages themselves, cmd/ (the wiring), and code that drives the real
// networks from outside: the benchmark program, the end-to-end suites and
// the test-only helpers and networks under internal/. config is not among
// them: each network registers its own keys with it.
var networkAware = []string{
	"transport/irc", "transport/matrix", "transport/console",
	"cmd",
	"bench", "e2e",
	"internal/irctest", "internal/mxtest", "internal/memnet",
}

// networkNames are the values a switch or comparison on a network would
// use.
var networkNames = map[string]bool{"irc": true, "matrix": true, "console": true}

// TestCoreNamesNoNetwork: outside the network packages and cmd/ (config
// included), no code has a field, constant, type or function named after
// IRC or Matrix (a NetIRC, cfg.IRC, a tree's Matrix list,
// Highlight.IRCNicks), none uses chat.NetConsole, and none compares or
// switches on a network's name ("irc", "matrix", "console"). Such code
// asks "on this network" instead: identities, highlights and sections are
// keyed by network name (config/networks.go, filled by each network's
// registration), the console's operator is chat.Identity.Operator, and
// what differs between networks comes from the transport
// (chat.Channel.Terse, chat.Identity.Kind). It reads the syntax tree, so
// comments and message text may still say "IRC".
func TestCoreNamesNoNetwork(t *testing.T) {
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
			if strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || aware(rel) {
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
		for _, p := range networkSpecific(f) {
			pos := fset.Position(p.pos)
			t.Errorf("%s:%d: %s outside the network packages and cmd/: key it by network name or let the transport say it", rel, pos.Line, p.what)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("checked only %d files: is the walk rooted at the module?", checked)
	}
}

// aware reports whether the folder rel may name networks.
func aware(rel string) bool {
	for _, a := range networkAware {
		if rel == a || strings.HasPrefix(rel, a+"/") {
			return true
		}
	}
	return false
}

type finding struct {
	pos  token.Pos
	what string
}

// networkSpecific returns the places in f that name a network: identifiers
// containing IRC or Matrix, and network names compared with == or != or
// used as a switch case.
func networkSpecific(f *ast.File) []finding {
	var out []finding
	isName := func(e ast.Expr) bool {
		lit, ok := e.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return false
		}
		s, err := strconv.Unquote(lit.Value)
		return err == nil && networkNames[strings.ToLower(s)]
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Ident:
			if strings.Contains(n.Name, "IRC") || strings.Contains(n.Name, "Matrix") {
				out = append(out, finding{n.Pos(), "the name " + n.Name})
			}
		case *ast.SelectorExpr:
			// The console's name, defined in chat for the console and
			// its channel key, is used by no part of the core.
			if x, ok := n.X.(*ast.Ident); ok && x.Name == "chat" && n.Sel.Name == "NetConsole" {
				out = append(out, finding{n.Pos(), "chat.NetConsole"})
			}
		case *ast.BinaryExpr:
			if (n.Op == token.EQL || n.Op == token.NEQ) && (isName(n.X) || isName(n.Y)) {
				out = append(out, finding{n.Pos(), "a comparison with a network name"})
			}
		case *ast.CaseClause:
			for _, e := range n.List {
				if isName(e) {
					out = append(out, finding{e.Pos(), "a switch case on a network name"})
				}
			}
		}
		return true
	})
	return out
}

// TestConfigNamesNoNetwork holds package config to more than the core:
// none of its code (tests aside) has a string that is a network's name or
// an identifier naming one, console included. Its per-network keys come
// from the registrations (Network) that cmd/ksecbot hands to Parse.
func TestConfigNamesNoNetwork(t *testing.T) {
	names := map[string]bool{"irc": true, "matrix": true, "console": true, "memnet": true}
	files, err := filepath.Glob("../config/*.go")
	if err != nil || len(files) < 10 {
		t.Fatalf("config files: %v, %v", files, err)
	}
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BasicLit:
				if s, err := strconv.Unquote(n.Value); n.Kind == token.STRING && err == nil {
					for _, word := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return r == '.' || r == '[' || r == ']' || r == '_' || r == ' ' || r == '"' }) {
						if names[word] {
							t.Errorf("%s: the string %s names the network %q", fset.Position(n.Pos()), n.Value, word)
						}
					}
				}
			case *ast.Ident:
				for _, net := range []string{"IRC", "Matrix", "Console"} {
					if strings.Contains(n.Name, net) {
						t.Errorf("%s: the name %s", fset.Position(n.Pos()), n.Name)
					}
				}
			}
			return true
		})
	}
}
