// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"bytes"
	"context"
	"encoding/json"
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
	_ "github.com/ksecbot/ksecbot/internal/buildguard" // fails the build without -tags goolm or without cgo
)

// runCheckConfig is `ksecbot check-config [FLAGS] FILE`: the checks the
// daemon runs before it starts (preflight), with the daemon's flags, so
// that "ok" means `ksecbot --config FILE FLAGS` starts, and a problem
// gives the exit status the daemon would.
func runCheckConfig(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("check-config", pflag.ContinueOnError)
	flags := addStartFlags(fs, "the file to check (instead of the FILE argument; default $KSECBOT_CONFIG)")
	noSecrets := fs.Bool("no-secrets", false, "check the file alone, as written for another host: read no secret, look at no file or database it names")
	fs.Bool("secrets", true, "read the secrets (the default; kept for old scripts)")
	_ = fs.MarkHidden("secrets")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: ksecbot check-config [FLAGS] FILE

Checks FILE as the daemon does before it starts, with the same flags:
the file (syntax, keys, values), its secrets (missing, unreadable, empty,
readable by others), the files and folders it names, whether a chat
network would run, and the database at [store] path (empty, no SQLite
database, corrupted; a missing one is created at start, not here).
Prints every problem at once as FILE:LINE: key: problem, then warnings,
then "FILE: ok" when the daemon would start. Run it as the user the
daemon runs as. Exit status as the daemon's: 0 ok, 78 a configuration
or secret problem, 65 a database that cannot be trusted, 1 one that
cannot be checked, 64 a usage mistake.

%s`, fs.FlagUsages())
	}
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	path := *flags.config
	switch {
	case path == "" && fs.NArg() == 1:
		path = fs.Arg(0)
	case path != "" && fs.NArg() == 0:
	case path == "" && fs.NArg() == 0 && os.Getenv("KSECBOT_CONFIG") != "":
		path = os.Getenv("KSECBOT_CONFIG")
	default:
		fs.Usage()
		return fmt.Errorf("%w: check-config takes exactly one FILE", errUsage)
	}
	if err := flags.check(); err != nil {
		return err
	}
	o := flags.options()
	o.FileOnly = *noSecrets
	return checkConfig(ctx, stdout, path, o, netConfigs()...)
}

// checkConfig runs preflight on path and prints its outcome to w: every
// problem, every warning, then "path: ok" or the count.
func checkConfig(ctx context.Context, w io.Writer, path string, o config.CheckOptions, nets ...config.Network) error {
	sc := preflight(ctx, path, o, nets...)
	sc.print(w)
	if err := sc.err("the daemon would not start"); err != nil {
		return err
	}
	if o.FileOnly {
		fmt.Fprintf(w, "%s: ok (--no-secrets: secrets, files and the database not checked)\n", escapeControl(path))
		return nil
	}
	fmt.Fprintf(w, "%s: ok\n", escapeControl(path))
	return nil
}

// runIngestMail is `ksecbot ingest-mail --config FILE`: it reads one
// bugmail from stdin and asks the running daemon (over [http] listen,
// authenticated with the webhook secret) to fetch that bug now. The
// configuration and the webhook secret (the only secret it reads) are
// checked before stdin is read, so a mail-filter setup can be tested with an
// empty message. Mail for unwatched products/components is ignored (exit 0);
// a malformed mail is an error (exit 1) and changes nothing.
func runIngestMail(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("ingest-mail", pflag.ContinueOnError)
	cfgPath := fs.StringP("config", "c", "", "the daemon's configuration file (for [http] listen, the webhook secret and the watches; default $KSECBOT_CONFIG, then "+systemConfig+")")
	url := fs.String("url", "", "the daemon's webhook URL (default http://<http.listen>/webhook)")
	dryRun := fs.Bool("dry-run", false, "parse and print the bug number, do not contact the daemon")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: ksecbot ingest-mail [--config FILE] [--url URL] [--dry-run] < message.eml\n\nUse it as a mail filter (procmail, maildrop, sieve pipe) for Bugzilla bugmail.\n\n%s", fs.FlagUsages())
	}
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: ingest-mail reads the mail on stdin and takes no argument; got %q", errUsage, fs.Arg(0))
	}
	if *cfgPath == "" {
		*cfgPath = defaultConfigPath()
	}
	if *cfgPath == "" && !*dryRun {
		return fmt.Errorf("%w: ingest-mail needs --config FILE (the daemon's), $KSECBOT_CONFIG or %s", errUsage, systemConfig)
	}
	// Everything about the configuration is checked before the mail is
	// read.
	var cfg *config.Config
	var target, secret string
	if *cfgPath != "" {
		var err error
		cfg, err = config.ParseFile(*cfgPath, netConfigs()...)
		if err != nil {
			return err
		}
		if !*dryRun {
			if target, err = webhookURL(cfg, *url); err != nil {
				return err
			}
			if cfg.HTTP.WebhookSecretFile == "" && cfg.HTTP.WebhookSecretEnv == "" {
				return fmt.Errorf("%w: %s: http.webhook_secret_file is not set: the daemon refuses pushes without it", errConfig, *cfgPath)
			}
			if err := cfg.LoadSecret("http.webhook_secret"); err != nil {
				return err
			}
			secret = cfg.HTTP.WebhookSecret.Reveal()
		}
	}

	m, err := bugmail.Parse(stdin)
	if err != nil {
		return fmt.Errorf("ingest-mail: %w (nothing was changed)", err)
	}
	if cfg != nil {
		var pairs [][2]string
		for _, w := range cfg.Watches {
			pairs = append(pairs, [2]string{w.Product, w.Component})
		}
		if !m.Watched(pairs) {
			fmt.Fprintf(stdout, "ignored: bug %d is in %s/%s, which no [[watch]] covers\n", m.BugID, m.Product, m.Component)
			return nil
		}
	}
	if *dryRun {
		fmt.Fprintf(stdout, "bug %d (%s, %s/%s)\n", m.BugID, m.Type, m.Product, m.Component)
		return nil
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

// webhookURL is the daemon's webhook: --url, else http://[http] listen/webhook.
func webhookURL(cfg *config.Config, flagURL string) (string, error) {
	if flagURL != "" {
		return flagURL, nil
	}
	if cfg.HTTP.Listen == "" {
		return "", fmt.Errorf("%w: %s: [http] listen is not set, so there is no daemon endpoint to push to", errConfig, cfg.Metadata.Path)
	}
	host, port, err := net.SplitHostPort(cfg.HTTP.Listen)
	if err != nil {
		return "", fmt.Errorf("%w: http.listen %q: %w", errConfig, cfg.HTTP.Listen, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/webhook", nil
}

// runTrees is `ksecbot trees --repo PATH`.
func runTrees(args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("trees", pflag.ContinueOnError)
	repo := fs.String("repo", "/var/db/repos/gentoo", "a Gentoo repository checkout (default: [gentoo] repo of --config, else /var/db/repos/gentoo)")
	cfgPath := fs.StringP("config", "c", "", "a configuration whose [gentoo] repo is the default of --repo")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: ksecbot trees [--repo PATH] [--config FILE]\n\nPrints [[tree]] entries for the kernel trees of a Gentoo repository\n(maintainers from sys-kernel/*/metadata.xml; trees whose ebuilds set\nK_SECURITY_UNSUPPORTED commented out), ready to paste into the configuration.\nFill in the maintainers' IRC nicks and Matrix IDs by hand.\n\n%s", fs.FlagUsages())
	}
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: trees takes no argument; got %q (did you mean --repo %s?)", errUsage, fs.Arg(0), fs.Arg(0))
	}
	path := *repo
	if !fs.Changed("repo") {
		explicit := *cfgPath != ""
		p := *cfgPath
		if !explicit {
			p = defaultConfigPath()
		}
		if p != "" {
			cfg, err := config.ParseFile(p, netConfigs()...)
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
