// SPDX-License-Identifier: GPL-3.0-or-later

package kernelcve

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// ErrNotFound is returned by Lookup when the repository has no record.
var ErrNotFound = errors.New("no such CVE record")

// RepositoryURL is the kernel CNA's vulns repository, which
// [kernel_cve] path is a clone of.
const RepositoryURL = "https://git.kernel.org/pub/scm/linux/security/vulns.git"

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
	stamp Stamp
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

// Check reports whether root is a usable vulns clone: cve/published and
// cve/rejected are directories and cve/published holds at least one
// record. An empty or unfinished clone is an error that says so: read as
// a clone without records, every CVE would be "no record".
func (s *Store) Check() error {
	for _, d := range []string{"cve/published", "cve/rejected"} {
		st, err := os.Stat(filepath.Join(s.root, d))
		if err != nil {
			return fmt.Errorf("vulns clone %s: %w (clone the kernel CNA's vulns repository there: git clone %s %s)", s.root, err, RepositoryURL, s.root)
		}
		if !st.IsDir() {
			return fmt.Errorf("vulns clone %s: %s is not a directory (clone the kernel CNA's vulns repository there: git clone %s %s)", s.root, d, RepositoryURL, s.root)
		}
	}
	years, err := os.ReadDir(filepath.Join(s.root, "cve", "published"))
	if err != nil {
		return fmt.Errorf("vulns clone %s: %w", s.root, err)
	}
	for _, y := range years {
		names, err := os.ReadDir(filepath.Join(s.root, "cve", "published", y.Name()))
		if err != nil {
			continue
		}
		for _, n := range names {
			if id, ok := strings.CutSuffix(n.Name(), ".json"); ok && ValidID(id) {
				return nil
			}
		}
	}
	return fmt.Errorf("vulns clone %s: cve/published holds no record: an empty or unfinished clone (run git -C %s pull, or clone %s again)", s.root, s.root, RepositoryURL)
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
	stamp, err := s.stampOf(path, st)
	if err != nil {
		return nil, fmt.Errorf("kernel CVE record %s: %w", id, err)
	}
	s.mu.Lock()
	c, ok := s.cache[id]
	s.mu.Unlock()
	if ok && c.stamp == stamp {
		return c.rec, c.err
	}
	rec, _, err := ReadRecord(path, id, rejected)
	s.mu.Lock()
	if len(s.cache) >= maxCached {
		s.cache = map[string]cached{}
	}
	s.cache[id] = cached{stamp: stamp, rec: rec, err: err}
	s.mu.Unlock()
	return rec, err
}

// Stamp identifies the files a CVE's record is read from as they are now:
// the JSON's path, modification time and size, and those of the .dyad
// beside it (zero without one), the same validity Lookup's own cache
// uses. The zero Stamp means the repository has no record. A result
// derived from a record stays valid while its Stamp is unchanged.
type Stamp struct {
	Path    string
	ModTime int64 // Unix nanoseconds
	Size    int64
	// DyadModTime and DyadSize are the .dyad's; both 0 without one.
	DyadModTime int64
	DyadSize    int64
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
	stamp, err := s.stampOf(path, st)
	if err != nil {
		return Stamp{}, fmt.Errorf("kernel CVE record %s: %w", id, err)
	}
	return stamp, nil
}

// stampOf is the stamp of the record at path (st: its regular file's
// information) and of the .dyad beside it.
func (s *Store) stampOf(path string, st fs.FileInfo) (Stamp, error) {
	out := Stamp{Path: path, ModTime: st.ModTime().UnixNano(), Size: st.Size()}
	dst, err := regularFile(DyadPath(path))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return Stamp{}, err
	default:
		out.DyadModTime, out.DyadSize = dst.ModTime().UnixNano(), dst.Size()
	}
	return out, nil
}

// DyadPath is the .dyad file beside a record's JSON file.
func DyadPath(jsonPath string) string { return strings.TrimSuffix(jsonPath, ".json") + ".dyad" }

// locate finds the file of a valid, upper-case id: under cve/published/,
// else under cve/rejected/ (rejected true); ErrNotFound when neither has
// it. A name that is there but is no regular file (a FIFO, a dangling
// symlink, a directory) is an error that says so, never "no record".
func (s *Store) locate(id string) (path string, rejected bool, st fs.FileInfo, err error) {
	year := id[4:8]
	for _, folder := range []string{"published", "rejected"} {
		path := filepath.Join(s.root, "cve", folder, year, id+".json")
		st, err := regularFile(path)
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

// ReadRecord reads and parses the record of id at path and the .dyad
// beside it (when there is one), with Rejected set as given. sum is the
// SHA-256 of the two files' contents, which says whether a record really
// changed when its files were written again.
func ReadRecord(path, id string, rejected bool) (rec *Record, sum [sha256.Size]byte, err error) {
	data, err := readRegular(path, maxRecord)
	if err != nil {
		return nil, sum, fmt.Errorf("kernel CVE record %s: %w", id, err)
	}
	dyad, err := readRegular(DyadPath(path), maxRecord)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, sum, fmt.Errorf("kernel CVE record %s: %w", id, err)
	}
	h := sha256.New()
	h.Write(data)
	h.Write([]byte{0})
	h.Write(dyad)
	h.Sum(sum[:0])
	rec, err = Parse(data)
	if err != nil {
		return nil, sum, fmt.Errorf("kernel CVE record %s (%s): %w", id, path, err)
	}
	if rec.ID != id {
		return nil, sum, fmt.Errorf("kernel CVE record %s: %s holds %s", id, path, rec.ID)
	}
	if dyad != nil {
		d, err := ParseDyad(dyad)
		if err != nil {
			return nil, sum, fmt.Errorf("kernel CVE record %s (%s): %w", id, DyadPath(path), err)
		}
		rec.SetDyad(d)
	}
	rec.Rejected = rejected
	return rec, sum, nil
}
