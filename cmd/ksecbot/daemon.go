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
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/store"
	"github.com/ksecbot/ksecbot/transport"
)

// runDaemon is `ksecbot --config FILE [--console]`.
func runDaemon(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("ksecbot", pflag.ContinueOnError)
	cfgPath := fs.StringP("config", "c", "", "configuration file (TOML; default $KSECBOT_CONFIG); see config.sample.toml")
	useConsole := fs.Bool("console", false, "use the terminal as one more (private) channel")
	logLevel := fs.String("log-level", "", "log level: debug, info, warn, error (default from [log] level)")
	logFormat := fs.String("log-format", "", "log format: text or json (default from [log] format)")
	showVersion := fs.BoolP("version", "V", false, "print the version and exit")
	allowInsecure := fs.Bool("allow-insecure-secrets", false, "start even when a secret file can be read by its group or others")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `ksecbot announces kernel security bugs from Bugzilla on IRC and Matrix.

Usage:
  ksecbot --config FILE [--console]   run the bot
  ksecbot demo                        try it with an embedded Bugzilla, no server needed
  ksecbot check-config FILE           report every problem in a configuration file
  ksecbot ingest-mail --config FILE   push one bugmail (on stdin) to the running bot
  ksecbot trees --repo PATH           print [[tree]] entries from a Gentoo repository
  ksecbot --version

Each subcommand has its own --help. Exit status: 0 ok, 1 run-time failure,
64 usage mistake, 65 corrupted database, 75 database file replaced or
removed while running, 78 configuration or secret problem (see man ksecbot).

Flags:
%s`, fs.FlagUsages())
	}
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	if *showVersion {
		fmt.Fprintln(stdout, versionString())
		return nil
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q (see ksecbot --help)", errUsage, fs.Arg(0))
	}
	if *cfgPath == "" {
		*cfgPath = os.Getenv("KSECBOT_CONFIG")
	}
	if *cfgPath == "" {
		fs.Usage()
		return fmt.Errorf("%w: --config FILE is required (or try `ksecbot demo`)", errUsage)
	}
	cfg, err := config.Load(*cfgPath, netConfigs()...)
	if err != nil {
		return err
	}
	level, format := cfg.Log.Level, cfg.Log.Format
	if *logLevel != "" {
		level = *logLevel
	}
	if *logFormat != "" {
		format = *logFormat
	}
	log, err := newLogger(stderr, level, format)
	if err != nil {
		return err
	}
	if *allowInsecure {
		for _, w := range config.SecretFileWarnings(cfg) {
			log.Warn(w + " (allowed by --allow-insecure-secrets)")
		}
	} else if err := config.InsecureSecrets(cfg); err != nil {
		return err
	}
	for _, w := range cfg.Warnings() {
		log.Warn("configuration: "+w.Msg, "key", w.Key, "line", w.Line)
	}
	env := transport.Env{Stdin: stdin, Stdout: stdout, Requested: map[string]bool{chat.NetConsole: *useConsole}}
	if !anyWanted(networks, cfg, env) {
		return fmt.Errorf("%w: %s: neither %s is configured: add one, or run with --console", errConfig, *cfgPath, transport.Tables(networks, "nor"))
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	return serve(ctx, cfg, log, networks, env, func(b *bot.Bot) {
		go reloadOnHUP(ctx, hup, *cfgPath, *allowInsecure, b, log)
	})
}

// reloadOnHUP reloads trees, users and announce/command settings on
// SIGHUP. An invalid new file is logged and the old configuration kept.
func reloadOnHUP(ctx context.Context, hup <-chan os.Signal, path string, allowInsecure bool, b *bot.Bot, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			cfg, err := config.Load(path, netConfigs()...)
			if err != nil {
				log.Error("reload failed, keeping the old configuration", "path", path, "err", err)
				continue
			}
			if !allowInsecure {
				if err := config.InsecureSecrets(cfg); err != nil {
					log.Error("reload failed, keeping the old configuration", "path", path, "err", err)
					continue
				}
			}
			if restart := b.Settings.Reload(cfg); len(restart) > 0 {
				log.Warn("reloaded; these sections changed but need a restart to apply", "sections", restart)
			}
			b.Networks.RetryNow() // a network stopped by a permanent error tries again
		}
	}
}

// anyWanted reports whether any of nets is to run.
func anyWanted(nets []transport.Network, cfg *config.Config, env transport.Env) bool {
	for _, n := range nets {
		if n.Wanted(cfg, env) {
			return true
		}
	}
	return false
}

// serve opens the store, builds the Bugzilla client and the transports of
// the wanted networks of nets, and runs the bot until ctx is done. env
// gives the networks the terminal and which of them were asked for; serve
// fills in the logger, the version and the state directory. ready, if
// set, gets the bot once it is built.
func serve(ctx context.Context, cfg *config.Config, log *slog.Logger, nets []transport.Network, env transport.Env, ready func(*bot.Bot)) error {
	if dir := filepath.Dir(cfg.Store.Path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("failed to create the store directory (store.path): %w", err)
		}
	}
	st, err := store.Open(ctx, cfg.Store.Path)
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
