// SPDX-License-Identifier: GPL-3.0-or-later

// The database file: noticing it removed or replaced while the store is
// open, and setting the open database aside then without harming the file
// that took its place.

package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// ErrVanished is returned by CheckFile when the database file was removed
// or replaced while the store is open, and by the store's writes once it
// was set aside (SetAside).
var ErrVanished = errors.New("the database file vanished")

// fileID remembers which file the store opened, to notice it vanishing.
type fileID struct {
	path string
	info os.FileInfo
}

// sidecars are the WAL and shared-memory files the store opened next to
// its database file (nil info: not seen).
type sidecars struct {
	wal, shm os.FileInfo
}

// CheckFile reports ErrVanished when the database file (or its directory)
// was removed, or replaced by another file, since Open: the store would go
// on writing to a file nobody can open again. Nil for in-memory stores.
func (s *Store) CheckFile() error {
	if s.file.info == nil {
		return nil
	}
	info, err := os.Stat(s.file.path)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrVanished, s.file.path, err)
	}
	if !os.SameFile(info, s.file.info) {
		return fmt.Errorf("%w: %s was replaced by another file", ErrVanished, s.file.path)
	}
	return nil
}

// Path returns the database file's path ("" for an in-memory store).
func (s *Store) Path() string { return s.file.path }

// SaveCopy writes a consistent copy of the open database to path (VACUUM
// INTO a temporary file, then linked to path), creating its directory. It
// works from the open connections, so it also saves a database whose file
// was removed while open. It never overwrites a file: when path exists,
// it fails with an error wrapping os.ErrExist, and path is either absent
// or the whole copy.
func (s *Store) SaveCopy(ctx context.Context, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("failed to create the directory of %s: %w", path, err)
	}
	tmp := path + ".saving-" + strconv.Itoa(os.Getpid())
	_ = os.Remove(tmp) // left by an earlier try
	if _, err := s.db.ExecContext(ctx, "VACUUM INTO ?", tmp); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("failed to save a copy of the database to %s: %w", path, err)
	}
	defer os.Remove(tmp)
	if err := putNew(tmp, path); err != nil {
		return fmt.Errorf("failed to save a copy of the database to %s: %w", path, err)
	}
	return nil
}

// putNew gives the finished file tmp the name path, unless a file is
// there (an error wrapping os.ErrExist): by a hard link, so that a file
// put there meanwhile is never replaced, or, where the file system has no
// hard links, by a rename after a check. tmp is left for the caller.
func putNew(tmp, path string) error {
	err := os.Link(tmp, path)
	if err == nil || errors.Is(err, os.ErrExist) {
		return err
	}
	if _, serr := os.Lstat(path); serr == nil {
		return fmt.Errorf("%s: %w", path, os.ErrExist)
	}
	if rerr := os.Rename(tmp, path); rerr != nil {
		return errors.Join(err, rerr)
	}
	return nil
}

// SetAside handles the database file vanishing (CheckFile) while the
// store is open. SQLite finds a database's -wal and -shm files by name, so
// whoever opens a file moved over the path would replay the open
// database's WAL into it, destroying it. SetAside therefore stops the
// store's writes for good, moves everything the WAL holds into the open
// (unlinked) database file and empties the WAL, removes the -wal and -shm
// files at the path if they are the ones the store opened, and saves a
// copy of the open database: back to the path when nothing is there, else
// next to it as <path>.replaced-<UTC time>. It returns where the copy
// went. Afterwards Close leaves the files alone. It may be called again
// after a failure.
func (s *Store) SetAside(ctx context.Context, now time.Time) (string, error) {
	if s.file.info == nil {
		return "", errors.New("an in-memory store has no file to set aside")
	}
	if err := s.stopWrites(ctx); err != nil {
		return "", err
	}
	var busy, frames, done int
	if err := s.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &frames, &done); err != nil {
		return "", fmt.Errorf("failed to empty the WAL of the database: %w", err)
	}
	if busy != 0 {
		return "", fmt.Errorf("failed to empty the WAL of the database: readers are in the way (%d of %d frames moved)", done, frames)
	}
	s.removeSidecars()
	path := s.file.path
	aside := path + ".replaced-" + now.UTC().Format("20060102T150405Z")
	dest := path
	if _, err := os.Lstat(path); err == nil {
		dest = aside // another file took its place
	}
	err := s.SaveCopy(ctx, dest)
	if dest == path && errors.Is(err, os.ErrExist) { // one did just now
		dest = aside
		err = s.SaveCopy(ctx, dest)
	}
	return dest, err
}

// stopWrites makes every write from now on fail with ErrVanished (and
// Close leave the files alone), once the write under way is done.
func (s *Store) stopWrites(ctx context.Context) error {
	select {
	case s.write <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("failed to stop the store's writes: %w", ctx.Err())
	}
	s.setAside.Store(true)
	<-s.write
	return nil
}

// removeSidecars removes the -wal and -shm files at the path that are the
// ones the store opened (emptied and useless now); files that others put
// there stay.
func (s *Store) removeSidecars() {
	for _, f := range []struct {
		path string
		info os.FileInfo
	}{{s.file.path + "-wal", s.side.wal}, {s.file.path + "-shm", s.side.shm}} {
		if info, err := os.Stat(f.path); err == nil && f.info != nil && os.SameFile(info, f.info) {
			_ = os.Remove(f.path)
		}
	}
}

// noteSidecars remembers the -wal and -shm files the store opened.
func (s *Store) noteSidecars() {
	if info, err := os.Stat(s.file.path + "-wal"); err == nil {
		s.side.wal = info
	}
	if info, err := os.Stat(s.file.path + "-shm"); err == nil {
		s.side.shm = info
	}
}
