// SPDX-License-Identifier: GPL-3.0-or-later

// The pool's connections: opened only to the file Open opened, and every
// error SQLite returns through them is looked at, so that a corruption met
// by any query stops the store (Store.Faulted) instead of failing one
// caller after another.

package store

import (
	"context"
	"database/sql/driver"
	"sync"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// faults is the first fault a store cannot go on with.
type faults struct {
	once sync.Once
	err  error
	done chan struct{}
}

// set records err as the fault, unless there is one already.
func (f *faults) set(err error) {
	f.once.Do(func() {
		f.err = err
		close(f.done)
	})
}

// Faulted is closed when the store met a fault it cannot go on with:
// its database is corrupted (Fault wraps ErrCorrupt, with the recovery
// steps) or its file was removed or replaced (ErrVanished). The store's
// owner must stop using it: see docs/operating.md, "Storage faults".
func (s *Store) Faulted() <-chan struct{} { return s.faults.done }

// Fault returns the fault Faulted announced, or nil.
func (s *Store) Fault() error {
	select {
	case <-s.faults.done:
		return s.faults.err
	default:
		return nil
	}
}

// watch looks at an error SQLite returned: a corruption is a fault. It
// returns err unchanged.
func (s *Store) watch(err error) error {
	if err != nil && isCorrupt(err) {
		s.faults.set(corrupt(s.path, "found while running: "+err.Error(), hintOf(err)))
	}
	return err
}

// connector opens the pool's connections. A connection is opened only
// while the file at the path is the one Open opened: SQLite would replay
// the open database's WAL into a file moved over it (its -wal and -shm
// files are found by name), destroying it.
type connector struct {
	drv *sqlite3.SQLiteDriver
	dsn string
	s   *Store
}

// Connect opens a connection, checking the file before and after.
func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	if err := c.s.CheckFile(); err != nil {
		c.s.faults.set(err)
		return nil, err
	}
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, c.s.watch(err)
	}
	if err := c.s.CheckFile(); err != nil { // replaced while opening
		_ = conn.Close()
		c.s.faults.set(err)
		return nil, err
	}
	return &watchedConn{SQLiteConn: conn.(*sqlite3.SQLiteConn), s: c.s}, nil
}

// Driver returns the SQLite driver.
func (c *connector) Driver() driver.Driver { return c.drv }

// watchedConn is a connection whose errors the store looks at.
type watchedConn struct {
	*sqlite3.SQLiteConn
	s *Store
}

func (c *watchedConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *watchedConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.SQLiteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, c.s.watch(err)
	}
	return &watchedStmt{Stmt: st, s: c.s}, nil
}

func (c *watchedConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *watchedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.SQLiteConn.BeginTx(ctx, opts)
	if err != nil {
		return nil, c.s.watch(err)
	}
	return &watchedTx{Tx: tx, s: c.s}, nil
}

func (c *watchedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	res, err := c.SQLiteConn.ExecContext(ctx, query, args)
	return res, c.s.watch(err)
}

func (c *watchedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := c.SQLiteConn.QueryContext(ctx, query, args)
	if err != nil {
		return nil, c.s.watch(err)
	}
	return &watchedRows{Rows: rows, s: c.s}, nil
}

// watchedStmt is a prepared statement whose errors the store looks at.
type watchedStmt struct {
	driver.Stmt
	s *Store
}

// Exec and Query complete driver.Stmt; database/sql calls the Context
// variants.
func (st *watchedStmt) Exec(args []driver.Value) (driver.Result, error) {
	return st.ExecContext(context.Background(), named(args))
}

func (st *watchedStmt) Query(args []driver.Value) (driver.Rows, error) {
	return st.QueryContext(context.Background(), named(args))
}

func named(args []driver.Value) []driver.NamedValue {
	out := make([]driver.NamedValue, len(args))
	for i, v := range args {
		out[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return out
}

func (st *watchedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	res, err := st.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
	return res, st.s.watch(err)
}

func (st *watchedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := st.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		return nil, st.s.watch(err)
	}
	return &watchedRows{Rows: rows, s: st.s}, nil
}

// watchedRows are result rows whose errors the store looks at.
type watchedRows struct {
	driver.Rows
	s *Store
}

func (r *watchedRows) Next(dest []driver.Value) error { return r.s.watch(r.Rows.Next(dest)) }

// watchedTx is a transaction whose errors the store looks at.
type watchedTx struct {
	driver.Tx
	s *Store
}

func (tx *watchedTx) Commit() error   { return tx.s.watch(tx.Tx.Commit()) }
func (tx *watchedTx) Rollback() error { return tx.s.watch(tx.Tx.Rollback()) }
