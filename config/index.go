// SPDX-License-Identifier: GPL-3.0-or-later

package config

import (
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// docIndex maps every key of a TOML document to its line, so that problems
// found after decoding (validation, secrets) can name their line too.
type docIndex struct {
	lines     map[string]int // indexed key path -> 1-based line
	entries   []entry        // every key-value and table header, in document order
	lineStart []int          // byte offset of the start of each line
}

// entry is one key-value (at any depth) or table header of the document.
type entry struct {
	key        string
	start, end int  // byte range: the whole key-value, or the header's key
	top        bool // a top-level key-value expression: may be blanked out
	value      bool // the entry holds a value (key-value or array element)
	kind       unstable.Kind
	text       string // the value of a string
}

// scanDoc indexes data. It returns the parser's error for a document that is
// not valid TOML syntax.
func scanDoc(data []byte) (*docIndex, error) {
	idx := &docIndex{lines: map[string]int{}, lineStart: []int{0}}
	for i, c := range data {
		if c == '\n' {
			idx.lineStart = append(idx.lineStart, i+1)
		}
	}
	var p unstable.Parser
	p.Reset(data)
	arrays := map[string]int{} // array-of-tables path -> entries so far
	cur := ""
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			var parts []string
			start, end := -1, -1
			it := e.Key()
			for it.Next() {
				n := it.Node()
				parts = append(parts, string(n.Data))
				if start < 0 {
					start = int(n.Raw.Offset)
				}
				end = int(n.Raw.Offset + n.Raw.Length)
			}
			path := ""
			for i, part := range parts {
				path = joinKey(path, part)
				last := i == len(parts)-1
				if last && e.Kind == unstable.ArrayTable {
					arrays[path]++
					path += "[" + strconv.Itoa(arrays[path]) + "]"
				} else if n := arrays[path]; n > 0 {
					path += "[" + strconv.Itoa(n) + "]"
				}
			}
			cur = path
			if start >= 0 {
				idx.add(entry{key: path, start: start, end: end})
			}
		case unstable.KeyValue:
			idx.keyValue(&p, cur, e, true)
		}
	}
	if err := p.Error(); err != nil {
		return nil, err
	}
	return idx, nil
}

// keyValue indexes one key-value and, recursively, what its value holds.
func (idx *docIndex) keyValue(p *unstable.Parser, table string, kv *unstable.Node, top bool) {
	path := table
	keyStart := -1
	it := kv.Key()
	for it.Next() {
		n := it.Node()
		path = joinKey(path, string(n.Data))
		if keyStart < 0 {
			keyStart = int(n.Raw.Offset)
		}
	}
	if keyStart < 0 {
		return
	}
	start, end := keyStart, int(kv.Raw.Offset+kv.Raw.Length)
	if kv.Raw.Length == 0 || int(kv.Raw.Offset) > keyStart {
		end = keyStart + 1
	} else {
		start = int(kv.Raw.Offset)
	}
	v := kv.Value()
	idx.add(valueEntry(entry{key: path, start: start, end: end, top: top}, v))
	idx.value(p, path, v)
}

// value indexes the contents of inline tables and arrays.
func (idx *docIndex) value(p *unstable.Parser, path string, v *unstable.Node) {
	switch v.Kind {
	case unstable.InlineTable:
		it := v.Children()
		for it.Next() {
			if n := it.Node(); n.Kind == unstable.KeyValue {
				idx.keyValue(p, path, n, false)
			}
		}
	case unstable.Array:
		it := v.Children()
		i := 0
		for it.Next() {
			n := it.Node()
			if n.Kind == unstable.Comment {
				continue
			}
			i++
			el := path + "[" + strconv.Itoa(i) + "]"
			if n.Raw.Length > 0 {
				idx.add(valueEntry(entry{key: el, start: int(n.Raw.Offset), end: int(n.Raw.Offset + n.Raw.Length)}, n))
			}
			idx.value(p, el, n)
		}
	}
}

func valueEntry(e entry, v *unstable.Node) entry {
	e.value, e.kind = true, v.Kind
	if v.Kind == unstable.String {
		e.text = string(v.Data)
	}
	return e
}

func (idx *docIndex) add(e entry) {
	idx.entries = append(idx.entries, e)
	if _, ok := idx.lines[e.key]; !ok {
		idx.lines[e.key] = idx.line(e.start)
	}
}

// line returns the 1-based line of a byte offset.
func (idx *docIndex) line(offset int) int {
	return sort.Search(len(idx.lineStart), func(i int) bool { return idx.lineStart[i] > offset })
}

// offset returns the byte offset of a 1-based line and column.
func (idx *docIndex) offset(line, col int) int {
	if line < 1 || line > len(idx.lineStart) {
		return -1
	}
	return idx.lineStart[line-1] + max(col, 1) - 1
}

// has reports whether the document sets key.
func (idx *docIndex) has(key string) bool {
	if idx == nil {
		return false
	}
	_, ok := idx.lines[key]
	return ok
}

// lineOf returns the line of key or, when the document does not set it, of
// its closest enclosing table that it does set; 0 when there is none.
func (idx *docIndex) lineOf(key string) int {
	if idx == nil {
		return 0
	}
	for key != "" {
		if l, ok := idx.lines[key]; ok {
			return l
		}
		cut := strings.LastIndexAny(key, ".[")
		if cut < 0 {
			break
		}
		key = key[:cut]
	}
	return 0
}

// at returns the innermost entry whose range holds offset.
func (idx *docIndex) at(offset int) (entry, bool) {
	var best entry
	found := false
	for _, e := range idx.entries {
		if offset >= e.start && offset < e.end && (!found || e.end-e.start <= best.end-best.start) {
			best, found = e, true
		}
	}
	return best, found
}

// topAt returns the top-level key-value whose range holds offset.
func (idx *docIndex) topAt(offset int) (entry, bool) {
	for _, e := range idx.entries {
		if e.top && offset >= e.start && offset < e.end {
			return e, true
		}
	}
	return entry{}, false
}

// joinKey appends one part to a dotted key, quoting parts that need it.
func joinKey(prefix, part string) string {
	if part == "" || strings.ContainsAny(part, ". \t\"'[]") {
		part = strconv.Quote(part)
	}
	if prefix == "" {
		return part
	}
	return prefix + "." + part
}
