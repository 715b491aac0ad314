// SPDX-License-Identifier: GPL-3.0-or-later

package kernelcve

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Entry is one record of the clone as Scan finds it.
type Entry struct {
	ID       string
	Rejected bool
	Stamp    Stamp
	// Err says why the record's files cannot be read (not a regular
	// file, a dangling symlink); Stamp is then zero.
	Err error
}

// Scan lists every record of the clone with its stamp, without reading
// any: a directory listing per year folder and a stat per file, so that a
// rescan with nothing new costs no parsing. A record found both under
// cve/published and cve/rejected (a git pull under way) is listed once,
// as published, as Lookup reads it. It fails when the clone is not usable
// (Check), and with ErrBusy when git was updating the checkout before or
// during the listing: records seen half way through a pull would be
// announced in two parts.
func (s *Store) Scan() ([]Entry, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	before, busy := s.gitState()
	if busy {
		return nil, ErrBusy
	}
	out, err := s.list()
	if err != nil {
		return nil, err
	}
	if after, busy := s.gitState(); busy || after != before {
		return nil, ErrBusy
	}
	return out, nil
}

// list is Scan's listing.
func (s *Store) list() ([]Entry, error) {
	var out []Entry
	seen := map[string]bool{}
	for _, folder := range []string{"published", "rejected"} {
		base := filepath.Join(s.root, "cve", folder)
		years, err := os.ReadDir(base)
		if err != nil {
			return nil, fmt.Errorf("vulns clone %s: %w", s.root, err)
		}
		for _, y := range years {
			if !y.IsDir() {
				continue
			}
			dir := filepath.Join(base, y.Name())
			names, err := os.ReadDir(dir)
			if err != nil {
				return nil, fmt.Errorf("vulns clone %s: %w", s.root, err)
			}
			dyads := map[string]fs.DirEntry{}
			for _, n := range names {
				if strings.HasSuffix(n.Name(), ".dyad") {
					dyads[n.Name()] = n
				}
			}
			for _, n := range names {
				id, ok := strings.CutSuffix(n.Name(), ".json")
				// Lookup finds a record by the year in its id only.
				if !ok || !ValidID(id) || seen[id] || id[4:8] != y.Name() {
					continue
				}
				seen[id] = true
				e := Entry{ID: id, Rejected: folder == "rejected"}
				e.Stamp, e.Err = entryStamp(dir, n, dyads[id+".dyad"])
				out = append(out, e)
			}
		}
	}
	return out, nil
}

// entryStamp stamps a record from its directory entries: one lstat each,
// and a stat for a symlink.
func entryStamp(dir string, js, dyad fs.DirEntry) (Stamp, error) {
	info := func(e fs.DirEntry) (fs.FileInfo, error) {
		path := filepath.Join(dir, e.Name())
		if e.Type().IsRegular() {
			st, err := e.Info()
			if err == nil {
				return st, nil
			}
		}
		return regularFile(path)
	}
	st, err := info(js)
	if err != nil {
		return Stamp{}, err
	}
	out := Stamp{Path: filepath.Join(dir, js.Name()), ModTime: st.ModTime().UnixNano(), Size: st.Size()}
	if dyad != nil {
		dst, err := info(dyad)
		if err != nil {
			return Stamp{}, err
		}
		out.DyadModTime, out.DyadSize = dst.ModTime().UnixNano(), dst.Size()
	}
	return out, nil
}
