// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/store"
)

// startFlags are the daemon's flags that decide how it starts. check-config
// takes them too, so that `ksecbot check-config --config F FLAGS` checks
// the start that `ksecbot --config F FLAGS` makes.
type startFlags struct {
	config        *string
	console       *bool
	logLevel      *string
	logFormat     *string
	allowInsecure *bool
}

// addStartFlags adds the start flags to fs; what is the --config help.
func addStartFlags(fs *pflag.FlagSet, what string) *startFlags {
	return &startFlags{
		config:        fs.StringP("config", "c", "", what),
		console:       fs.Bool("console", false, "use the terminal as one more (private) channel"),
		logLevel:      fs.String("log-level", "", "log level: debug, info, warn, error (default from [log] level)"),
		logFormat:     fs.String("log-format", "", "log format: text or json (default from [log] format)"),
		allowInsecure: fs.Bool("allow-insecure-secrets", false, "start even when a secret file can be read by its group or others"),
	}
}

// check reports flag values that are wrong (exit 64), before anything
// else is looked at.
func (f *startFlags) check() error {
	if _, err := newLogger(io.Discard, orDefault(*f.logLevel, config.DefaultLogLevel), *f.logFormat); err != nil {
		return err
	}
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// options are the configuration checks these flags ask for.
func (f *startFlags) options() config.CheckOptions {
	return config.CheckOptions{
		Requested:            map[string]bool{chat.NetConsole: *f.console},
		AllowInsecureSecrets: *f.allowInsecure,
	}
}

// startCheck is the outcome of preflight: the configuration when the
// daemon can start with it, and every problem and warning found.
type startCheck struct {
	path     string
	cfg      *config.Config   // nil when there is a problem
	problems []config.Problem // in the order found
	warnings []config.Problem
	status   int // exit status of the first problem's kind; 0 when none
}

// preflight runs every check the daemon runs before it starts, in its
// order, and all that check-config runs: the configuration file, its
// secrets and the files it names (config.Validate), then the database at
// [store] path (store.Inspect; a missing one is created at start, not
// here). Every problem is reported at once. The exit status is that of
// the first kind found: 78 for the configuration, 65 for a database that
// cannot be trusted, 1 for one that cannot be checked.
func preflight(ctx context.Context, path string, o config.CheckOptions, nets ...config.Network) *startCheck {
	sc := &startCheck{path: path}
	cfg, warnings, err := config.Validate(path, o, nets...)
	sc.warnings = warnings
	var ps *config.Problems
	if errors.As(err, &ps) {
		sc.problems, sc.status = ps.List, config.ExitConfig
	} else if err != nil {
		sc.problems, sc.status = []config.Problem{{Msg: err.Error()}}, config.ExitConfig
	}
	if cfg != nil && !o.FileOnly && !cfg.Bad("store.path") {
		if err := store.Inspect(ctx, cfg.Store.Path); err != nil {
			sc.problems = append(sc.problems, config.Problem{Key: "store.path", Line: cfg.Line("store.path"), Msg: err.Error()})
			if sc.status == 0 {
				sc.status = exitFailure
				if errors.Is(err, store.ErrCorrupt) {
					sc.status = ExitCorrupt
				}
			}
		}
	}
	if len(sc.problems) == 0 {
		sc.cfg = cfg
	}
	return sc
}

// print writes every problem, then every warning, one per line, as
// "FILE:LINE: key: problem" and "FILE:LINE: key: warning: ...", with
// control characters escaped (values in them come from the file).
func (sc *startCheck) print(w io.Writer) {
	for _, p := range sc.problems {
		fmt.Fprintln(w, escapeControl(p.At(sc.path)))
	}
	for _, p := range sc.warnings {
		p.Msg = "warning: " + p.Msg
		fmt.Fprintln(w, escapeControl(p.At(sc.path)))
	}
}

// err is nil when the daemon can start, else the error that ends it with
// sc.status, after the problems were printed.
func (sc *startCheck) err(who string) error {
	if len(sc.problems) == 0 {
		return nil
	}
	return &statusError{status: sc.status, msg: fmt.Sprintf("%s: %d problem(s) (listed above); %s", sc.path, len(sc.problems), who)}
}

// statusError ends ksecbot with its exit status once its details are
// printed (every problem of a start check).
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

// configPath is --config, else $KSECBOT_CONFIG.
func (f *startFlags) configPath() string {
	if *f.config != "" {
		return *f.config
	}
	return os.Getenv("KSECBOT_CONFIG")
}
