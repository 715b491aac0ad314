// SPDX-License-Identifier: GPL-3.0-or-later

// Package store is ksecbot's own durable state in SQLite: the Bugzilla
// mirror and watch cursors, the events derived from it, the outbox of
// messages still to deliver, announcements per channel, auto-CC jobs,
// reminders, the command audit log and reaction-time statistics.
//
// A Store is safe for concurrent use. Writers are serialised inside the
// process and wait (busy timeout) for locks held by other processes. No
// transaction is ever held across network I/O: every method does its work
// in one short transaction and returns.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3" // also the "sqlite3" database/sql driver
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Store is the SQLite-backed state of ksecbot. Safe for concurrent use.
type Store struct {
	db    *sql.DB
	now   func() time.Time
	write chan struct{} // one in-process writer at a time
	path  string        // as given to Open (for messages)
	file  fileID        // the file opened, to notice it vanishing
	side  sidecars      // its -wal and -shm files

	faults   faults      // the first fault the store cannot go on with
	setAside atomic.Bool // SetAside ran: no more writes, Close leaves the files

	// mirrorVersion moves at the end of every write to the mirror
	// (SaveWatched, ApplyUpdate); mirrorWriting counts the writes under
	// way: see MirrorVersion.
	mirrorVersion atomic.Uint64
	mirrorWriting atomic.Int64
}

// MirrorVersion returns a number that changes whenever this Store has
// written, or tried to write, bugs to the mirror, and 0 while such a write
// is under way. A reader that keeps bugs it read (the deliverer, for one
// delivery round) reads the version before it reads them, keeps them only
// while the version is the same and not 0, and reads them again
// otherwise: a write committed but not yet counted can never leave it
// with the copy from before (a restricted bug shown as public).
func (s *Store) MirrorVersion() uint64 {
	if s.mirrorWriting.Load() > 0 {
		return 0
	}
	return s.mirrorVersion.Load() + 1
}

// mirrorWrite marks a write to the mirror under way until the returned
// func is called (after the commit, or the failure).
func (s *Store) mirrorWrite() (done func()) {
	s.mirrorWriting.Add(1)
	return func() {
		s.mirrorVersion.Add(1)
		s.mirrorWriting.Add(-1)
	}
}

type options struct {
	now         func() time.Time
	busyTimeout time.Duration
	inspected   bool
}

// Option configures Open.
type Option func(*options)

// WithNow sets the clock used for the times the store records.
func WithNow(now func() time.Time) Option { return func(o *options) { o.now = now } }

// Inspected tells Open that Inspect has just checked the file, so that
// the daemon's start does not run the same integrity check twice.
func Inspected() Option { return func(o *options) { o.inspected = true } }

// WithBusyTimeout sets how long a writer waits for a lock held by another
// connection or process before it fails (default 10 s).
func WithBusyTimeout(d time.Duration) Option { return func(o *options) { o.busyTimeout = d } }

// Open opens the database at path, creating it only when there is no
// file there (an empty file or one that is no database is refused with
// ErrCorrupt and what to do), switches it to WAL, checks it (startCheck: a
// corrupted database is refused with ErrCorrupt and the recovery steps)
// and applies every pending migration, each in its own transaction.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	o := options{now: time.Now, busyTimeout: 10 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	s := &Store{now: o.now, write: make(chan struct{}, 1), path: path}
	s.faults.done = make(chan struct{})
	pool := dsn(path, o.busyTimeout)
	if plainFile(path) {
		if err := create(ctx, path, o.busyTimeout); err != nil {
			return nil, err
		}
		info, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("failed to open store %s: %w", path, err)
		}
		if info.Size() == 0 {
			return nil, emptyFile(path)
		}
		s.file = fileID{path: path, info: info}
		// The pool never creates the file: once the file is gone
		// (removed with its directory while ksecbot runs), a new
		// connection must fail, not open a new empty database at the
		// path, which the bot would take for its own (a new baseline,
		// announcements repeated) and which would stop SaveCopy from
		// saving the real one there. Nor does it open a file moved over
		// the path (connector).
		pool += "&mode=rw"
	}
	s.db = sql.OpenDB(&connector{drv: &sqlite3.SQLiteDriver{}, dsn: pool, s: s})
	s.db.SetMaxOpenConns(4)
	// Connections are kept, not closed when idle: an open connection is
	// what SaveCopy saves a removed database file through.
	s.db.SetMaxIdleConns(4)
	if !o.inspected {
		if err := s.startCheck(ctx, path); err != nil {
			s.db.Close()
			return nil, err
		}
	}
	if err := s.migrate(ctx, 0); err != nil {
		s.db.Close()
		if isCorrupt(err) {
			return nil, corrupt(path, err.Error(), hintOf(err))
		}
		return nil, err
	}
	s.noteSidecars()
	return s, nil
}

// plainFile reports whether path names a database file (not an in-memory
// database, not a URI).
func plainFile(path string) bool {
	return path != "" && !strings.HasPrefix(path, ":memory:") && !strings.HasPrefix(path, "file:")
}

// create makes a new database file at path when there is none. It is
// made under a temporary name, switched to WAL (which writes its first
// page) and then given the name path (putNew), so that path is never an
// empty file ksecbot made (Open refuses those) and an existing file is
// never replaced.
func create(ctx context.Context, path string, busy time.Duration) error {
	if _, err := os.Lstat(path); err == nil {
		return nil
	}
	tmp := path + ".new-" + strconv.Itoa(os.Getpid())
	_ = os.Remove(tmp) // left by a crash
	db, err := sql.Open("sqlite3", dsn(tmp, busy)+"&mode=rwc")
	if err != nil {
		return fmt.Errorf("failed to create store %s: %w", path, err)
	}
	err = db.PingContext(ctx)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	defer os.Remove(tmp)
	if err != nil {
		return fmt.Errorf("failed to create store %s: %w", path, err)
	}
	if err := putNew(tmp, path); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("failed to create store %s: %w", path, err)
	}
	return nil
}

// dsn builds the go-sqlite3 connection string: WAL, foreign keys, a busy
// timeout, and BEGIN IMMEDIATE for every transaction so a writer takes the
// write lock up front (and waits for it) instead of failing on upgrade.
func dsn(path string, busy time.Duration) string {
	q := url.Values{}
	q.Set("_busy_timeout", strconv.FormatInt(busy.Milliseconds(), 10))
	q.Set("_txlock", "immediate")
	q.Set("_journal_mode", "WAL")
	q.Set("_foreign_keys", "on")
	q.Set("_synchronous", "NORMAL")
	return "file:" + path + "?" + q.Encode()
}

// Ping checks that the database answers a query (health checks).
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("store does not answer: %w", err)
	}
	return nil
}

// Close closes the database. After SetAside it closes nothing: SQLite
// would remove the -wal and -shm files at the path by name, and those may
// belong to the file that took the database's place by now; the process
// is about to end anyway.
func (s *Store) Close() error {
	if s.setAside.Load() {
		return nil
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("failed to close store: %w", err)
	}
	return nil
}

type migration struct {
	version int
	name    string
	sql     string
}

func migrations() ([]migration, error) {
	ents, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("failed to list migrations: %w", err)
	}
	var ms []migration
	for _, e := range ents {
		num, _, ok := strings.Cut(e.Name(), "_")
		if !ok || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		v, err := strconv.Atoi(num)
		if err != nil {
			return nil, fmt.Errorf("bad migration name %q: %w", e.Name(), err)
		}
		b, err := migrationFS.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("failed to read migration %s: %w", e.Name(), err)
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: want version %d", m.name, i+1)
		}
	}
	return ms, nil
}

// migrate applies the migrations above the database's user_version, up to
// version upTo (0: all), each in one transaction with its user_version bump.
func (s *Store) migrate(ctx context.Context, upTo int) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	if upTo == 0 {
		upTo = len(ms)
	}
	for _, m := range ms {
		if m.version > upTo {
			break
		}
		err := s.tx(ctx, func(tx *sql.Tx) error {
			var cur int
			if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&cur); err != nil {
				return fmt.Errorf("failed to read schema version: %w", err)
			}
			if cur > len(ms) {
				return fmt.Errorf("database schema version %d is newer than this ksecbot (%d)", cur, len(ms))
			}
			if cur >= m.version {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("failed to apply migration %s: %w", m.name, err)
			}
			if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", m.version)); err != nil {
				return fmt.Errorf("failed to set schema version %d: %w", m.version, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// SchemaVersion returns the database's schema version (PRAGMA user_version).
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("failed to read schema version: %w", err)
	}
	return v, nil
}

// tx runs fn in one write transaction (BEGIN IMMEDIATE), committing when fn
// returns nil. In-process writers queue here; other processes' locks are
// waited for by SQLite's busy timeout.
func (s *Store) tx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	select {
	case s.write <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("failed to start transaction: %w", ctx.Err())
	}
	defer func() { <-s.write }()
	if s.setAside.Load() {
		return fmt.Errorf("%w: the database %s was set aside, nothing more is written to it", ErrVanished, s.file.path)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("failed to start transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		if rerr := tx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
			return errors.Join(err, fmt.Errorf("failed to roll back: %w", rerr))
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("failed to commit: %w", err)
	}
	return nil
}

// ts converts a time to the stored form (Unix nanoseconds, 0 = zero time).
func ts(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromTS converts a stored time back (UTC).
func fromTS(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// placeholders returns "?,?,...,?" with n marks.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}
