// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/ksecbot/ksecbot/bugmail"
	"github.com/ksecbot/ksecbot/config"
)

// errFailed is returned after a subcommand already printed why it failed.
var errFailed = errors.New("failed")

// runCheckConfig is `ksecbot check-config [--secrets] FILE`.
func runCheckConfig(args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("check-config", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	secrets := fs.Bool("secrets", false, "also read the secret files and variables, as the daemon would")
	cfgPath := fs.StringP("config", "c", "", "the file to check (instead of the FILE argument)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: ksecbot check-config [--secrets] FILE\n\nPrints every problem in FILE (file:line: key: what is wrong) and exits 1 if there is one.\n\n%s", fs.FlagUsages())
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	path := *cfgPath
	switch {
	case path == "" && fs.NArg() == 1:
		path = fs.Arg(0)
	case path != "" && fs.NArg() == 0:
	default:
		fs.Usage()
		return fmt.Errorf("%w: check-config takes exactly one FILE", errUsage)
	}
	if config.RunCheck(stdout, path, *secrets) != 0 {
		return fmt.Errorf("%s has problems (listed above)", path)
	}
	return nil
}

// runIngestMail is `ksecbot ingest-mail --config FILE`: it reads one
// bugmail from stdin and asks the running daemon (over [http] listen,
// authenticated with the webhook secret) to fetch that bug now. Mail for
// unwatched products/components is ignored (exit 0); a malformed mail is an
// error (exit 1) and changes nothing.
func runIngestMail(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("ingest-mail", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.StringP("config", "c", "", "the daemon's configuration file (for [http] listen, the webhook secret and the watches)")
	url := fs.String("url", "", "the daemon's webhook URL (default http://<http.listen>/webhook)")
	dryRun := fs.Bool("dry-run", false, "parse and print the bug number, do not contact the daemon")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: ksecbot ingest-mail --config FILE < message.eml\n\nUse it as a mail filter (procmail, maildrop, sieve pipe) for Bugzilla bugmail.\n\n%s", fs.FlagUsages())
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	m, err := bugmail.Parse(stdin)
	if err != nil {
		return fmt.Errorf("ingest-mail: %w (nothing was changed)", err)
	}
	if *dryRun && *cfgPath == "" {
		fmt.Fprintf(stdout, "bug %d (%s, %s/%s)\n", m.BugID, m.Type, m.Product, m.Component)
		return nil
	}
	if *cfgPath == "" {
		*cfgPath = defaultConfigPath()
	}
	if *cfgPath == "" {
		return fmt.Errorf("%w: ingest-mail needs --config FILE (the daemon's), $KSECBOT_CONFIG or %s", errUsage, systemConfig)
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	var pairs [][2]string
	for _, w := range cfg.Watches {
		pairs = append(pairs, [2]string{w.Product, w.Component})
	}
	if !m.Watched(pairs) {
		fmt.Fprintf(stdout, "ignored: bug %d is in %s/%s, which no [[watch]] covers\n", m.BugID, m.Product, m.Component)
		return nil
	}
	if *dryRun {
		fmt.Fprintf(stdout, "bug %d (%s, %s/%s)\n", m.BugID, m.Type, m.Product, m.Component)
		return nil
	}
	target := *url
	if target == "" {
		if cfg.HTTP.Listen == "" {
			return fmt.Errorf("%s: [http] listen is not set, so there is no daemon endpoint to push to", *cfgPath)
		}
		host, port, err := net.SplitHostPort(cfg.HTTP.Listen)
		if err != nil {
			return fmt.Errorf("http.listen %q: %w", cfg.HTTP.Listen, err)
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		target = "http://" + net.JoinHostPort(host, port) + "/webhook"
	}
	secret := cfg.HTTP.WebhookSecret.Reveal()
	if secret == "" {
		return fmt.Errorf("%s: http.webhook_secret_file is not set: the daemon refuses pushes without it", *cfgPath)
	}
	body, _ := json.Marshal(map[string]any{"bug": map[string]int{"id": m.BugID}})
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("ingest-mail: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("ingest-mail: the daemon at %s did not answer (is ksecbot running?): %w", target, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("ingest-mail: the daemon answered %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	fmt.Fprintf(stdout, "pushed bug %d\n", m.BugID)
	return nil
}

// runTrees is `ksecbot trees --repo PATH`.
func runTrees(args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("trees", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	repo := fs.String("repo", "/var/db/repos/gentoo", "a Gentoo repository checkout (default: [gentoo] repo of --config, else /var/db/repos/gentoo)")
	cfgPath := fs.StringP("config", "c", "", "a configuration whose [gentoo] repo is the default of --repo")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	path := *repo
	if !fs.Changed("repo") {
		explicit := *cfgPath != ""
		p := *cfgPath
		if !explicit {
			p = defaultConfigPath()
		}
		if p != "" {
			cfg, err := config.ParseFile(p)
			switch {
			case err != nil && explicit:
				return err
			case err == nil && cfg.Gentoo != nil && cfg.Gentoo.Repo != "":
				path = cfg.Gentoo.Repo
			}
		}
	}
	return generateTrees(path, stdout)
}

// systemConfig is where the packaging installs the configuration.
const systemConfig = "/etc/ksecbot/ksecbot.toml"

// defaultConfigPath is $KSECBOT_CONFIG, else the system configuration when
// it exists, else "".
func defaultConfigPath() string {
	if p := os.Getenv("KSECBOT_CONFIG"); p != "" {
		return p
	}
	if _, err := os.Stat(systemConfig); err == nil {
		return systemConfig
	}
	return ""
}
