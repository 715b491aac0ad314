// SPDX-License-Identifier: GPL-3.0-or-later

// Package trees maps kernel security bugs to the kernel trees they concern
// and to the people who maintain those trees (docs/design.md, "Data flow").
//
// A bug names a tree when its summary, whiteboard, aliases or keywords
// contain the tree's name, one of its aliases, or one of its packages (with
// or without category, version or operator). A bug that names no tree
// concerns every supported tree; a tree marked unsupported (no security
// support) is concerned only when a bug names it.
package trees

import (
	"sort"
	"strings"
	"unicode"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
)

// Registry is the set of configured trees. It is immutable after New and
// safe for concurrent use.
type Registry struct {
	trees []config.Tree
	// index maps a lower-case token (name, alias, package, package
	// without category) to the indexes of the trees it names.
	index map[string][]int
}

// New builds a registry from the [[tree]] entries.
func New(list []config.Tree) *Registry {
	r := &Registry{trees: append([]config.Tree(nil), list...), index: map[string][]int{}}
	for i, t := range r.trees {
		add := func(tok string) {
			tok = strings.ToLower(strings.TrimSpace(tok))
			if tok == "" {
				return
			}
			for _, j := range r.index[tok] {
				if j == i {
					return
				}
			}
			r.index[tok] = append(r.index[tok], i)
		}
		add(t.Name)
		for _, a := range t.Aliases {
			add(a)
		}
		for _, p := range t.Packages {
			add(p)
			if _, pn, ok := strings.Cut(p, "/"); ok {
				add(pn)
			}
		}
	}
	return r
}

// All returns every tree, in configuration order.
func (r *Registry) All() []config.Tree { return append([]config.Tree(nil), r.trees...) }

// Len returns the number of trees.
func (r *Registry) Len() int { return len(r.trees) }

// Lookup finds a tree by name, alias or package (case-insensitive).
func (r *Registry) Lookup(name string) (config.Tree, bool) {
	idx := r.index[strings.ToLower(strings.TrimSpace(name))]
	if len(idx) == 0 {
		return config.Tree{}, false
	}
	return r.trees[idx[0]], true
}

// Match returns the trees a bug names, in configuration order, and
// named=true; when the bug names none it returns every tree that is not
// marked unsupported, and named=false.
func (r *Registry) Match(b *bugzilla.Bug) (list []config.Tree, named bool) {
	hit := map[int]bool{}
	texts := []string{b.Summary, b.Whiteboard}
	texts = append(texts, b.Alias...)
	texts = append(texts, b.Keywords...)
	for _, text := range texts {
		for _, tok := range Tokens(text) {
			for _, i := range r.index[tok] {
				hit[i] = true
			}
		}
	}
	if len(hit) == 0 {
		for _, t := range r.trees {
			if !t.Unsupported {
				list = append(list, t)
			}
		}
		return list, false
	}
	idx := make([]int, 0, len(hit))
	for i := range hit {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	for _, i := range idx {
		list = append(list, r.trees[i])
	}
	return list, true
}

// Concerns reports whether a bug concerns the tree called name, as its
// announcement's highlights have it (Match): the bug names the tree, or it
// names no tree and the tree is supported.
func (r *Registry) Concerns(b *bugzilla.Bug, name string) bool {
	list, _ := r.Match(b)
	for _, t := range list {
		if t.Name == name {
			return true
		}
	}
	return false
}

// Tokens splits text into the lower-case words a tree can be named by.
// Package atoms are reduced to their unversioned form: for
// "<=sys-kernel/gentoo-sources-6.6.60:6.6" it yields
// "sys-kernel/gentoo-sources" and "gentoo-sources".
func Tokens(text string) []string {
	fields := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '/' || r == '_' || r == '.' || r == '+' || r == ':' || r == '<' || r == '>' || r == '=' || r == '~')
	})
	var out []string
	for _, f := range fields {
		f = strings.TrimLeft(f, "<>=~!")
		f = strings.TrimRight(f, ".:")
		if i := strings.IndexByte(f, ':'); i >= 0 {
			f = f[:i] // slot
		}
		f = stripVersion(f)
		if f == "" {
			continue
		}
		out = append(out, f)
		if _, pn, ok := strings.Cut(f, "/"); ok && pn != "" {
			out = append(out, pn)
		}
	}
	return out
}

// stripVersion removes a trailing "-<version>" (a dash followed by a
// digit) from a package atom.
func stripVersion(s string) string {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '-' && s[i+1] >= '0' && s[i+1] <= '9' {
			return s[:i]
		}
	}
	return s
}

// Highlight returns the chat highlight for a tree's maintainers.
func Highlight(t config.Tree) chat.Highlight {
	return chat.Highlight{Tree: t.Name, Handles: t.Handles}
}

// Logins returns the Bugzilla logins of the given trees, without
// duplicates, in order.
func Logins(list []config.Tree) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range list {
		for _, l := range t.Bugzilla {
			if !seen[strings.ToLower(l)] {
				seen[strings.ToLower(l)] = true
				out = append(out, l)
			}
		}
	}
	return out
}

// Names returns the names of the given trees.
func Names(list []config.Tree) []string {
	out := make([]string, len(list))
	for i, t := range list {
		out[i] = t.Name
	}
	return out
}
