// SPDX-License-Identifier: GPL-3.0-or-later

package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// fileProblems reports the files the configuration names that the daemon
// could not use, as the user it runs as: the database's folder
// (store.path) and the networks' files (PathHolder): a file it reads that
// is missing or unreadable, a folder where it writes that cannot be
// created or written to. Secret files are LoadSecrets'; what is inside
// the database is the store's to check.
func (c *Config) fileProblems() []Problem {
	var out []Problem
	add := func(key, msg string) {
		out = append(out, Problem{Key: key, Line: c.Line(key), Msg: msg})
	}
	if p := c.Store.Path; p != "" && !c.Bad("store.path") && !strings.HasPrefix(p, ":memory:") && !strings.HasPrefix(p, "file:") {
		if msg := writable(p, "the database"); msg != "" {
			add("store.path", msg)
		}
	}
	for _, ref := range c.networkFiles() {
		p := *ref.Path
		if p == "" || c.Bad(ref.Key) {
			continue
		}
		if ref.Writes {
			if msg := writable(p, "it"); msg != "" {
				add(ref.Key, msg)
			}
		} else if msg := readable(p); msg != "" {
			add(ref.Key, msg)
		}
	}
	return out
}

// readable says what keeps the daemon from reading the file at path, or
// "" when nothing does.
func readable(path string) string {
	st, err := os.Stat(path)
	switch {
	case missing(err):
		return fmt.Sprintf("file %s does not exist", path)
	case err != nil:
		return fmt.Sprintf("cannot use %s: %v", path, unwrapPath(err))
	case st.IsDir():
		return fmt.Sprintf("%s is a folder, not a file", path)
	case !st.Mode().IsRegular():
		return fmt.Sprintf("%s is not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("%s cannot be read by %s: %v", path, whoAmI(), unwrapPath(err))
	}
	f.Close()
	return ""
}

// writable says what keeps the daemon from creating or writing the file
// at path (what names it in messages: "the database"), or "" when nothing
// does: an existing file must be a regular file it can read and write, and
// its folder must exist, or be creatable, and be writable (SQLite
// creates its -wal and -shm files beside a database). Nothing is created.
func writable(path, what string) string {
	st, err := os.Stat(path)
	switch {
	case err == nil && st.IsDir():
		return fmt.Sprintf("%s is a folder; give the path of a file in it", path)
	case err == nil && !st.Mode().IsRegular():
		return fmt.Sprintf("%s is not a regular file", path)
	case err == nil:
		if err := access(path, false); err != nil {
			return fmt.Sprintf("%s cannot be read and written by %s: %v", path, whoAmI(), err)
		}
	case !missing(err):
		return fmt.Sprintf("cannot use %s: %v", path, unwrapPath(err))
	}
	dir := filepath.Dir(path)
	for d := dir; ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if missing(err) && filepath.Dir(d) != d {
			continue // created at start, if its parent allows
		}
		switch {
		case err != nil:
			return fmt.Sprintf("cannot use the folder %s: %v", d, unwrapPath(err))
		case !st.IsDir():
			return fmt.Sprintf("cannot create the folder %s for %s: %s is not a folder", dir, what, d)
		case access(d, true) != nil:
			if d == dir {
				return fmt.Sprintf("the folder %s is not writable by %s, who must create files there; make it theirs (chown) or choose another path", d, whoAmI())
			}
			return fmt.Sprintf("cannot create the folder %s for %s: %s is not writable by %s; create it for that user", dir, what, d, whoAmI())
		}
		return ""
	}
}

// missing reports whether err says that a path does not exist, also
// because a file stands where a folder of it should be.
func missing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// unwrapPath drops the operation and path that *fs.PathError adds, since
// the messages name the path already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// whoAmI names the user this process runs as, for messages: the files are
// checked as this user, so the check means something only as the user the
// daemon runs as.
func whoAmI() string {
	uid := os.Geteuid()
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return fmt.Sprintf("user %s (uid %d)", u.Username, uid)
	}
	return fmt.Sprintf("uid %d", uid)
}
