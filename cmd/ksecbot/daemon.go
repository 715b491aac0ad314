// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/ksecbot/ksecbot/bot"
	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/store"
	"github.com/ksecbot/ksecbot/transport"
)

// runDaemon is `ksecbot --config FILE [--console]`.
func runDaemon(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("ksecbot", pflag.ContinueOnError)
	flags := addStartFlags(fs, "configuration file (TOML; default $KSECBOT_CONFIG); see config.sample.toml")
	showVersion := fs.BoolP("version", "V", false, "print the version and exit")
	fs.Usage = func() { fmt.Fprintf(fs.Output(), "%s\nFlags:\n%s", usage, fs.FlagUsages()) }
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	if *showVersion {
		fmt.Fprintln(stdout, versionString())
		return nil
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: %q is no subcommand; they are check-config, demo, ingest-mail, trees, cve and version (see ksecbot --help)", errUsage, fs.Arg(0))
	}
	cfgPath := flags.configPath()
	if cfgPath == "" {
		fs.Usage()
		return fmt.Errorf("%w: --config FILE is required (or try `ksecbot demo`)", errUsage)
	}
	if err := flags.check(); err != nil {
		return err
	}
	// The same checks as check-config, all at once: a problem is printed
	// with every other before the daemon gives up.
	sc := preflight(ctx, cfgPath, flags.options(), netConfigs()...)
	if err := sc.err("ksecbot did not start"); err != nil {
		sc.print(stderr)
		return err
	}
	cfg := sc.cfg
	log, err := newLogger(stderr, orDefault(*flags.logLevel, cfg.Log.Level), orDefault(*flags.logFormat, cfg.Log.Format))
	if err != nil {
		return err
	}
	for _, w := range sc.warnings {
		log.Warn("configuration: "+w.Msg, "key", w.Key, "line", w.Line)
	}
	env := transport.Env{Stdin: stdin, Stdout: stdout, Requested: flags.options().Requested}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	return serve(ctx, cfg, log, networks, env, func(b *bot.Bot) {
		go reloadOnHUP(ctx, hup, cfgPath, flags.options(), b, log)
	}, store.Inspected())
}

// reloadOnHUP reloads trees, users and announce/command settings on
// SIGHUP, checked as at start (config.Validate with the start's flags).
// An invalid new file is logged, every problem, and the old configuration
// kept.
func reloadOnHUP(ctx context.Context, hup <-chan os.Signal, path string, o config.CheckOptions, b *bot.Bot, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			cfg, warnings, err := config.Validate(path, o, netConfigs()...)
			if err != nil {
				log.Error("reload failed, keeping the old configuration", "path", path, "err", err)
				continue
			}
			for _, w := range warnings {
				log.Warn("configuration: "+w.Msg, "key", w.Key, "line", w.Line)
			}
			if restart := b.Live.Reload(cfg); len(restart) > 0 {
				log.Warn("reloaded; these sections changed but need a restart to apply", "sections", restart)
			}
			b.Networks.RetryNow() // a network stopped by a permanent error tries again
		}
	}
}

// serve opens the store, builds the Bugzilla client and the transports of
// the wanted networks of nets, and runs the bot until ctx is done. env
// gives the networks the terminal and which of them were asked for; serve
// fills in the logger, the version and the state directory. ready, if
// set, gets the bot once it is built; opts go to store.Open.
func serve(ctx context.Context, cfg *config.Config, log *slog.Logger, nets []transport.Network, env transport.Env, ready func(*bot.Bot), opts ...store.Option) error {
	if dir := filepath.Dir(cfg.Store.Path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("failed to create the store directory (store.path): %w", err)
		}
	}
	st, err := store.Open(ctx, cfg.Store.Path, opts...)
	if err != nil {
		return fmt.Errorf("store.path %s: %w", cfg.Store.Path, err)
	}
	defer st.Close()

	bz, err := bugzilla.New(bugzilla.Options{
		BaseURL:   cfg.Bugzilla.URL,
		APIKey:    cfg.Bugzilla.APIKey.Reveal(),
		UserAgent: "ksecbot/" + Version(),
		Timeout:   cfg.Bugzilla.Timeout.Duration,
		Retries:   3,
		Logger:    log,
	})
	if err != nil {
		return fmt.Errorf("bugzilla.url: %w", err)
	}

	env.Logger, env.Version, env.StateDir = log, Version(), filepath.Dir(cfg.Store.Path)
	transports, err := transport.Build(nets, cfg, env)
	if err != nil {
		return err
	}

	b, err := bot.Wire(bot.Options{
		Config:     cfg,
		Store:      st,
		Bugzilla:   bz,
		Transports: transports,
		Logger:     log,
		Version:    Version(),
	})
	if err != nil {
		return err
	}
	if ready != nil {
		ready(b)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	if cfg.HTTP.Listen != "" {
		go func() {
			if err := b.HTTP.ServeHTTP(ctx, cfg.HTTP.Listen); err != nil {
				errc <- err
				cancel()
			}
		}()
	}
	log.Info("ksecbot starting", "version", Version(), "bugzilla", cfg.Bugzilla.URL, "watches", len(cfg.Watches), "trees", len(cfg.Trees), "transports", len(transports))
	runErr := b.Run(ctx)
	select {
	case err := <-errc:
		runErr = err
	default:
	}
	// The error itself is the last line, printed once by main.
	log.Info("ksecbot stopped", "failed", runErr != nil)
	return runErr
}
