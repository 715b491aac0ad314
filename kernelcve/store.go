// SPDX-License-Identifier: GPL-3.0-or-later

package kernelcve

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// ErrNotFound is returned by Lookup when the repository has no record.
var ErrNotFound = errors.New("no such CVE record")

// maxCached bounds the cache; past it the cache starts again empty.
const maxCached = 4096

// Store finds records by id in a clone of the kernel CNA's vulns
// repository and caches them by file modification time, so a `git pull`
// is seen at the next lookup. Safe for concurrent use.
type Store struct {
	root string // the clone; records live under root/cve/

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	path  string
	mtime time.Time
	size  int64
	rec   *Record
	err   error
}

// NewStore returns a Store reading the clone at root (the directory that
// holds cve/published and cve/rejected).
func NewStore(root string) *Store {
	return &Store{root: root, cache: map[string]cached{}}
}

// Root is the clone's path.
func (s *Store) Root() string { return s.root }

// Check reports whether root looks like a vulns clone.
func (s *Store) Check() error {
	for _, d := range []string{"cve/published", "cve/rejected"} {
		st, err := os.Stat(filepath.Join(s.root, d))
		if err != nil {
			return fmt.Errorf("kernel CVE repository %s: %w (clone https://git.kernel.org/pub/scm/linux/security/vulns.git there)", s.root, err)
		}
		if !st.IsDir() {
			return fmt.Errorf("kernel CVE repository %s: %s is not a directory", s.root, d)
		}
	}
	return nil
}

// Lookup returns the record for id ("CVE-2025-21638", any case):
// ErrNotFound when the repository has none; another error for a record
// that cannot be read or parsed (its verdict is Unknown). A record under
// cve/rejected/ has Rejected set.
func (s *Store) Lookup(id string) (*Record, error) {
	id = strings.ToUpper(strings.TrimSpace(id))
	if !ValidID(id) {
		return nil, fmt.Errorf("%q is not a CVE id (want CVE-YYYY-NNNN)", id)
	}
	path, rejected, st, err := s.locate(id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	c, ok := s.cache[id]
	s.mu.Unlock()
	if ok && c.path == path && c.mtime.Equal(st.ModTime()) && c.size == st.Size() {
		return c.rec, c.err
	}
	rec, err := readRecord(path, id, rejected)
	s.mu.Lock()
	if len(s.cache) >= maxCached {
		s.cache = map[string]cached{}
	}
	s.cache[id] = cached{path: path, mtime: st.ModTime(), size: st.Size(), rec: rec, err: err}
	s.mu.Unlock()
	return rec, err
}

// Stamp identifies the file a CVE's record is read from as it is now: its
// path, modification time and size, the same validity Lookup's own cache
// uses. The zero Stamp means the repository has no record. A result
// derived from a record stays valid while its Stamp is unchanged.
type Stamp struct {
	Path    string
	ModTime int64 // Unix nanoseconds
	Size    int64
}

// Stamp returns the stamp of id's record (any case) now: one or two
// stat calls, no read. An id that is not a CVE id, or a record that cannot
// be stat'ed, is an error.
func (s *Store) Stamp(id string) (Stamp, error) {
	id = strings.ToUpper(strings.TrimSpace(id))
	if !ValidID(id) {
		return Stamp{}, fmt.Errorf("%q is not a CVE id (want CVE-YYYY-NNNN)", id)
	}
	path, _, st, err := s.locate(id)
	switch {
	case errors.Is(err, ErrNotFound):
		return Stamp{}, nil
	case err != nil:
		return Stamp{}, err
	}
	return Stamp{Path: path, ModTime: st.ModTime().UnixNano(), Size: st.Size()}, nil
}

// locate finds the file of a valid, upper-case id: under cve/published/,
// else under cve/rejected/ (rejected true); ErrNotFound when neither has it.
func (s *Store) locate(id string) (path string, rejected bool, st fs.FileInfo, err error) {
	year := id[4:8]
	for _, folder := range []string{"published", "rejected"} {
		path := filepath.Join(s.root, "cve", folder, year, id+".json")
		st, err := os.Stat(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", false, nil, fmt.Errorf("kernel CVE record %s: %w", id, err)
		}
		return path, folder == "rejected", st, nil
	}
	return "", false, nil, fmt.Errorf("%s: %w", id, ErrNotFound)
}

// maxRecord bounds the file read: real records are under 100 kB.
const maxRecord = 4 << 20

func readRecord(path, id string, rejected bool) (*Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("kernel CVE record %s: %w", id, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("kernel CVE record %s: %w", id, err)
	}
	if st.Size() > maxRecord {
		return nil, fmt.Errorf("kernel CVE record %s: %s is %d bytes, more than a record can be", id, path, st.Size())
	}
	data := make([]byte, st.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, fmt.Errorf("kernel CVE record %s: %w", id, err)
	}
	rec, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("kernel CVE record %s (%s): %w", id, path, err)
	}
	if rec.ID != id {
		return nil, fmt.Errorf("kernel CVE record %s: %s holds %s", id, path, rec.ID)
	}
	rec.Rejected = rejected
	return rec, nil
}
