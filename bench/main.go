// SPDX-License-Identifier: GPL-3.0-or-later

// Command bench measures the real ksecbot binary against the real IRC
// (InspIRCd+Atheme) and Matrix (Dendrite) test servers, with the
// in-process Bugzilla test server: push- and poll-to-highlight latency, a
// 300-bug burst and a command flood on a Libera-like strict server,
// Bugzilla requests per poll, resident memory with a 10 000-bug mirror, and
// !pending response time.
//
// Start the servers first (scripts/irc-server.sh start, scripts/matrix-server.sh
// start), then, from the module root:
//
//	go run -tags goolm ./bench [--samples 200] [--quick] [--skip-irc] [--skip-matrix] [--only PART] [--bin ksecbot]
//
// It prints a Markdown table and exits 0 even when a target is missed: it is
// a measurement, not a test.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/ksecbot/ksecbot/internal/mxtest"
)

// options are the command-line flags.
type options struct {
	samples, pollSamples, pendingSamples, steadyPolls, mirror, burst int
	skipIRC, skipMatrix, quick                                       bool
	cpuprofile, only, bin                                            string
}

// bench holds what every part shares.
type bench struct {
	opts       options
	bin, work  string
	ircAddr    string
	strictAddr string
	hs         mxtest.Server
	rows       []row
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	var o options
	fs := pflag.NewFlagSet("bench", pflag.ContinueOnError)
	fs.IntVar(&o.samples, "samples", 200, "push-to-highlight samples")
	fs.IntVar(&o.pollSamples, "poll-samples", 20, "poll-to-highlight samples (each waits for a 2 s poll)")
	fs.IntVar(&o.pendingSamples, "pending-samples", 10, "!pending samples per network")
	fs.IntVar(&o.steadyPolls, "steady-polls", 10, "quiet polls counted for requests per poll")
	fs.IntVar(&o.mirror, "mirror", 10000, "open bugs in the mirror for memory and !pending")
	fs.IntVar(&o.burst, "burst", 300, "bugs in the burst")
	fs.BoolVar(&o.skipIRC, "skip-irc", false, "leave out IRC")
	fs.BoolVar(&o.skipMatrix, "skip-matrix", false, "leave out Matrix")
	fs.BoolVar(&o.quick, "quick", false, "few samples and a 1000-bug mirror: a smoke run, not for bench/README.md")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write the bench process's CPU profile to this file")
	fs.StringVar(&o.only, "only", "", "run only the parts whose name contains this (push, poll, burst, reconciliation, command flood)")
	fs.StringVar(&o.bin, "bin", "", "measure this ksecbot binary (built with -tags goolm) instead of building the module's")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return err
	}
	if o.quick {
		o.samples, o.pollSamples, o.pendingSamples, o.steadyPolls, o.mirror = min(o.samples, 20), min(o.pollSamples, 5), min(o.pendingSamples, 3), min(o.steadyPolls, 3), min(o.mirror, 1000)
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			return fmt.Errorf("creating the CPU profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("starting the CPU profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	b := &bench{opts: o}
	loadEnvFiles()
	if !o.skipIRC {
		b.ircAddr, b.strictAddr = os.Getenv("KSECBOT_IRC_ADDR"), os.Getenv("KSECBOT_IRC_STRICT_ADDR")
		if b.ircAddr == "" || b.strictAddr == "" {
			return errors.New("KSECBOT_IRC_ADDR/KSECBOT_IRC_STRICT_ADDR unset: run scripts/irc-server.sh start (or pass --skip-irc)")
		}
	}
	if !o.skipMatrix {
		var ok bool
		if b.hs, ok = mxtest.FromEnv(); !ok {
			return errors.New("KSECBOT_MATRIX_URL/KSECBOT_MATRIX_SECRET unset: run scripts/matrix-server.sh start (or pass --skip-matrix)")
		}
	}
	if o.skipIRC && o.skipMatrix {
		return errors.New("nothing to measure with both --skip-irc and --skip-matrix")
	}
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	if b.work, err = os.MkdirTemp("", "ksecbot-bench-"); err != nil {
		return fmt.Errorf("work dir: %w", err)
	}
	defer os.RemoveAll(b.work)
	start := time.Now()
	if b.bin = o.bin; b.bin == "" {
		slog.Info("building ksecbot")
		if b.bin, err = buildKsecbot(ctx, root, b.work); err != nil {
			return err
		}
	}
	for _, part := range []struct {
		name string
		f    func(context.Context) error
	}{
		{"push latency, memory and !pending", b.pushPart},
		{"poll latency and requests per poll", b.pollPart},
		{"burst", b.burstPart},
		{"reconciliation", b.reconcilePart},
		{"command flood", b.floodPart},
	} {
		if !strings.Contains(part.name, o.only) {
			continue
		}
		slog.Info("part", "name", part.name)
		if err := part.f(ctx); err != nil {
			slog.Error("part failed", "name", part.name, "err", err)
			b.rows = append(b.rows, row{what: part.name, measured: "failed: " + firstLine(err.Error()), v: notRun})
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	fmt.Printf("\nksecbot benchmark, %s, %s, total %s\n\n", time.Now().Format("2006-01-02"), machine(), time.Since(start).Round(time.Second))
	writeTable(os.Stdout, b.rows)
	return nil
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// loadEnvFiles reads scripts/*-server.sh's env files for variables that
// are not set, so sourcing them is optional.
func loadEnvFiles() {
	home, err := os.UserHomeDir()
	if err != nil {
		return
	}
	base := os.Getenv("KSECBOT_TESTSERVERS")
	if base == "" {
		base = filepath.Join(home, ".cache", "ksecbot-testservers")
	}
	for _, name := range []string{"irc", "matrix"} {
		f, err := os.Open(filepath.Join(base, name, "env"))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimPrefix(strings.TrimSpace(sc.Text()), "export ")
			k, v, ok := strings.Cut(line, "=")
			if !ok || strings.HasPrefix(k, "#") || os.Getenv(k) != "" {
				continue
			}
			_ = os.Setenv(k, strings.Trim(v, `"'`))
		}
		_ = f.Close()
	}
}

// machine describes the host: CPU count and model.
func machine() string {
	raw, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown machine"
	}
	n, model := 0, ""
	for line := range strings.SplitSeq(string(raw), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "processor":
			n++
		case "model name":
			model = strings.TrimSpace(v)
		}
	}
	return fmt.Sprintf("%d cores (%s)", n, model)
}
