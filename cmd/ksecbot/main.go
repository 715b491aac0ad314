// SPDX-License-Identifier: GPL-3.0-or-later

// Command ksecbot watches Bugzilla for kernel security bugs and gets them
// to every kernel maintainer who must act, on IRC and Matrix.
//
// Usage:
//
//	ksecbot --config FILE [--console]   run the daemon
//	ksecbot demo                        everything embedded, no outside server
//	ksecbot check-config FILE           every problem the daemon would refuse to start with
//	ksecbot ingest-mail --config FILE   push one bugmail (stdin) to the daemon
//	ksecbot trees --repo PATH           print [[tree]] entries from a Gentoo repository
//	ksecbot cve --config FILE [--json] CVE-ID...  what kernel CVEs mean for the trees
//	ksecbot cve --config FILE --tree NAME         the CVEs that affect a tree
//	ksecbot --version
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/store"
	"github.com/ksecbot/ksecbot/transport"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Exit statuses (sysexits.h), documented in the man page (EXIT STATUS) and
// used by the service files: systemd's RestartPreventExitStatus and the
// OpenRC start_pre (check-config, which exits as the daemon would) stop on
// exitUsage, exitConfig and ExitCorrupt instead of restarting.
const (
	exitOK      = 0
	exitFailure = 1  // a run-time failure: no network can run (a ban), the store, a signal
	exitUsage   = 64 // EX_USAGE: a command-line mistake
	// EX_CONFIG: a problem in the configuration or a secret, also found
	// at run time when every network is refused for one (a wrong
	// password or token, an untrusted certificate).
	exitConfig = 78
	// ExitCorrupt (EX_DATAERR): the database failed its check at start,
	// SQLite found it corrupted while running, or the file is empty or no
	// database; restarting cannot help, the operator must recover it.
	ExitCorrupt = 65
	// ExitVanished (EX_TEMPFAIL): the database file was removed or
	// replaced while running; the open database was saved (back to the
	// path, or next to the file that replaced it), and a restart goes on
	// with the file at the path.
	ExitVanished = 75
)

// usage is the top of `ksecbot --help`: every subcommand, every exit
// status, and examples that run as written from the repository's root
// (e2e/operator.TestDocumentedCommands runs them).
const usage = `ksecbot announces kernel security bugs from Bugzilla on IRC and Matrix.

Usage:
  ksecbot --config FILE [--console]        run the bot (--console: the terminal is one more channel)
  ksecbot check-config [FLAGS] FILE        check FILE as the bot would start with it; takes the bot's flags
  ksecbot demo                             try it with an embedded Bugzilla, no server needed
  ksecbot ingest-mail --config FILE        push one bugmail (on stdin) to the running bot
  ksecbot trees --repo PATH                print [[tree]] entries from a Gentoo repository
  ksecbot cve --config FILE CVE-ID...      what kernel CVEs mean for each tree (--json for JSON)
  ksecbot cve --config FILE --tree NAME    the kernel CVEs that affect a tree
  ksecbot version                          print the version (also --version)

Each subcommand has its own --help.

Exit status (man ksecbot, EXIT STATUS):
  0   ok
  1   a run-time failure
  64  a usage mistake
  65  the database is corrupted, empty or no SQLite database
  75  the database file was removed or replaced while the bot ran
  78  a configuration or secret problem

Examples (from the root of ksecbot's repository):
  ksecbot check-config --no-secrets config.sample.toml
  ksecbot demo < /dev/null
  ksecbot cve --config cmd/ksecbot/testdata/cve.toml CVE-2025-40039
  ksecbot trees --repo treegen/testdata/repo
`

// errUsage marks command-line mistakes (exit 64).
var errUsage = errors.New("usage")

// errConfig marks configuration and secret problems that are not a
// *config.Problems (exit 78).
var errConfig = errors.New("configuration problem")

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	sub, args := subcommand(args)
	switch sub {
	case "check-config", "ingest-mail", "trees":
		// Their messages quote files and mail that may be hostile.
		stdout, stderr = escapeWriter{stdout}, escapeWriter{stderr}
	}
	switch sub {
	case "demo":
		err = runDemo(ctx, args, stdin, stdout, stderr)
	case "check-config":
		err = runCheckConfig(ctx, args, stdout, stderr)
	case "ingest-mail":
		err = runIngestMail(ctx, args, stdin, stdout, stderr)
	case "trees":
		err = runTrees(args, stdout, stderr)
	case "cve":
		err = runCVE(args, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, versionString())
	default:
		err = runDaemon(ctx, args, stdin, stdout, stderr)
	}
	return exitStatus(err, stderr)
}

// exitStatus prints err (if any) and returns the process exit status for
// it: exitOK, exitUsage, exitConfig, ExitCorrupt, ExitVanished or
// exitFailure.
func exitStatus(err error, stderr io.Writer) int {
	var ps *config.Problems
	var se *statusError
	switch {
	case err == nil, errors.Is(err, pflag.ErrHelp):
		return exitOK
	case errors.As(err, &se):
		fmt.Fprintln(stderr, "ksecbot:", err)
		return se.status
	case errors.Is(err, errUsage):
		fmt.Fprintln(stderr, "ksecbot:", err)
		return exitUsage
	case errors.Is(err, errConfig), errors.As(err, &ps), errors.Is(err, transport.ErrConfig):
		fmt.Fprintln(stderr, "ksecbot:", err)
		return exitConfig
	case errors.Is(err, store.ErrCorrupt):
		fmt.Fprintln(stderr, "ksecbot:", err)
		return ExitCorrupt
	case errors.Is(err, store.ErrVanished):
		fmt.Fprintln(stderr, "ksecbot:", err)
		return ExitVanished
	default:
		fmt.Fprintln(stderr, "ksecbot:", err)
		return exitFailure
	}
}

// subcommands are the words that select a mode other than the daemon.
var subcommands = map[string]bool{"demo": true, "check-config": true, "ingest-mail": true, "trees": true, "cve": true, "version": true}

// valueFlags are the global flags that take a separate value.
var valueFlags = map[string]bool{"--config": true, "-c": true, "--log-level": true, "--log-format": true}

// subcommand finds the subcommand wherever it stands among the flags
// ("ksecbot --config F ingest-mail" as well as "ksecbot ingest-mail
// --config F") and returns it with the remaining arguments; "" means the
// daemon.
func subcommand(args []string) (string, []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if strings.HasPrefix(a, "-") {
			if valueFlags[a] {
				i++ // skip the flag's value
			}
			continue
		}
		if subcommands[a] {
			rest := append(append([]string(nil), args[:i]...), args[i+1:]...)
			return a, rest
		}
		break
	}
	return "", args
}

// parseFlags parses a subcommand's flags: --help prints the usage on
// stdout and is not an error (exit 0), anything else wrong is a usage error
// (exit 64). Afterwards the flag set writes to stderr, so a usage printed
// for a mistake goes there. fs.Usage must write to fs.Output().
func parseFlags(fs *pflag.FlagSet, args []string, stdout, stderr io.Writer) error {
	fs.SetOutput(stdout)
	err := fs.Parse(args)
	fs.SetOutput(stderr)
	if err == nil || errors.Is(err, pflag.ErrHelp) {
		return err
	}
	cmd := "ksecbot " + fs.Name()
	if fs.Name() == "ksecbot" {
		cmd = "ksecbot"
	}
	return fmt.Errorf("%w: %v (see %s --help)", errUsage, err, cmd)
}

// version is set by -ldflags "-X main.version=..." in release builds.
var version = ""

// Version returns the module version, or the VCS revision of a
// development build.
func Version() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	v := bi.Main.Version
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		v += "+" + rev
		if dirty {
			v += "-dirty"
		}
	}
	return v
}

func versionString() string {
	bi, _ := debug.ReadBuildInfo()
	gov := ""
	if bi != nil {
		gov = bi.GoVersion
	}
	return fmt.Sprintf("ksecbot %s (%s)", Version(), gov)
}

// newLogger builds the slog logger from --log-level/--log-format.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("%w: --log-level %q: want debug, info, warn or error", errUsage, level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("%w: --log-format %q: want text or json", errUsage, format)
	}
}
