// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// buildKsecbot builds the real binary into dir and returns its path.
func buildKsecbot(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "ksecbot")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "goolm", "-o", bin, "./cmd/ksecbot")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building ksecbot: %w\n%s", err, out)
	}
	return bin, nil
}

// moduleRoot returns the directory of the go.mod that `go` sees from here.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the ksecbot module: run from /work/main")
	}
	return filepath.Dir(gomod), nil
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr, nil
}

// botConf is what varies between the benchmark's ksecbot runs.
type botConf struct {
	bugzillaURL string
	poll        time.Duration
	reconcile   time.Duration // [bugzilla] reconcile_interval; 0: the default
	digestAfter int           // 0: default

	ircAddr     string
	ircNick     string
	ircChannels []string
	ircFlood    string // [irc.flood] body; empty: the defaults

	mxURL, mxUser, mxPassword string
	mxRooms                   []string

	trees int // number of [[tree]] entries
}

// treeNames are the kernel trees of the generated registry.
var treeNames = []string{
	"gentoo-sources", "hardened-sources", "vanilla-sources", "git-sources", "rt-sources",
	"zen-sources", "xanmod-sources", "raspberrypi-sources", "pf-sources", "ck-sources",
}

// writeConfig writes the TOML and its secrets into dir.
func writeConfig(dir, httpAddr string, c botConf) (string, error) {
	secret := func(name, val string) (string, error) {
		p := filepath.Join(dir, name)
		return p, os.WriteFile(p, []byte(val+"\n"), 0o600)
	}
	var b strings.Builder
	key, err := secret("bugzilla.key", "key-ksecbot")
	if err != nil {
		return "", fmt.Errorf("writing secret: %w", err)
	}
	// catch_up "0s": the preloaded bugs stand for an existing mirror, not
	// for bugs filed while the bot was away, so none is announced.
	fmt.Fprintf(&b, "[bugzilla]\nurl = %q\napi_key_file = %q\npoll_interval = %q\npublic_url = \"https://bugs.gentoo.org\"\ncatch_up = \"0s\"\n\n",
		c.bugzillaURL, key, c.poll.String())
	if c.reconcile > 0 {
		s := strings.TrimSuffix(b.String(), "\n")
		b.Reset()
		fmt.Fprintf(&b, "%sreconcile_interval = %q\n\n", s, c.reconcile.String())
	}
	b.WriteString("[[watch]]\nproduct = \"Gentoo Security\"\ncomponent = \"Kernel\"\n\n")
	fmt.Fprintf(&b, "[store]\npath = %q\n\n", filepath.Join(dir, "ksecbot.db"))
	if c.digestAfter > 0 {
		fmt.Fprintf(&b, "[announce]\ndigest_after = %d\n\n", c.digestAfter)
	}
	hook, err := secret("webhook.secret", webhookSecret)
	if err != nil {
		return "", fmt.Errorf("writing secret: %w", err)
	}
	fmt.Fprintf(&b, "[http]\nlisten = %q\nwebhook_secret_file = %q\nstatus_page = true\n\n", httpAddr, hook)
	if c.ircAddr != "" {
		pass, err := secret("irc.pass", "ksecbot-pass")
		if err != nil {
			return "", fmt.Errorf("writing secret: %w", err)
		}
		fmt.Fprintf(&b, "[irc]\nserver = %q\nnick = %q\nsasl_user = \"ksecbot\"\nsasl_password_file = %q\n\n", c.ircAddr, c.ircNick, pass)
		if c.ircFlood != "" {
			b.WriteString("[irc.flood]\n" + c.ircFlood + "\n\n")
		}
		for _, ch := range c.ircChannels {
			fmt.Fprintf(&b, "[[irc.channel]]\nname = %q\n\n", ch)
		}
	}
	if c.mxURL != "" {
		pass, err := secret("matrix.pass", c.mxPassword)
		if err != nil {
			return "", fmt.Errorf("writing secret: %w", err)
		}
		fmt.Fprintf(&b, "[matrix]\nhomeserver = %q\nuser_id = %q\npassword_file = %q\nencryption = true\n\n", c.mxURL, c.mxUser, pass)
		for _, r := range c.mxRooms {
			fmt.Fprintf(&b, "[[matrix.room]]\nid = %q\n\n", r)
		}
	}
	for i := range c.trees {
		name := treeNames[i%len(treeNames)]
		if i >= len(treeNames) {
			name = fmt.Sprintf("%s-%d", name, i)
		}
		// Each tree has its own Bugzilla login (not the component's
		// default CC), so a new bug's auto-CC has something to write.
		fmt.Fprintf(&b, "[[tree]]\nname = %q\npackages = [\"sys-kernel/%s\"]\nbugzilla = [%q]\nirc = [\"maint%da\", \"maint%db\"]\nmatrix = [\"@maint%d:localhost\"]\nauto_cc = true\n\n",
			name, name, treeLogin(i), i, i, i)
	}
	p := filepath.Join(dir, "ksecbot.toml")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		return "", fmt.Errorf("writing config: %w", err)
	}
	return p, nil
}

// webhookSecret is the shared secret of the benchmark's webhook.
const webhookSecret = "bench-webhook-secret"

// botProc is a running ksecbot binary.
type botProc struct {
	cmd      *exec.Cmd
	httpAddr string
	done     chan struct{}
	err      error

	mu     sync.Mutex
	lines  []string
	notify chan struct{}
}

// startBot writes a config into a fresh directory under work and runs the
// binary with it; its stderr (the log) is kept for waitLog and countLog.
func startBot(bin, work string, c botConf) (*botProc, error) {
	dir, err := os.MkdirTemp(work, "run-")
	if err != nil {
		return nil, fmt.Errorf("creating run dir: %w", err)
	}
	httpAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cfg, err := writeConfig(dir, httpAddr, c)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--config", cfg, "--log-level", "info")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("ksecbot stderr: %w", err)
	}
	cmd.Stdout = io.Discard
	p := &botProc{cmd: cmd, httpAddr: httpAddr, done: make(chan struct{}), notify: make(chan struct{}, 1)}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting ksecbot: %w", err)
	}
	read := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
			select {
			case p.notify <- struct{}{}:
			default:
			}
		}
		close(read)
	}()
	go func() { <-read; p.err = cmd.Wait(); close(p.done) }()
	return p, nil
}

// stop ends the bot with SIGTERM (SIGKILL after 15 s).
func (p *botProc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// countLog returns how many log lines contain s.
func (p *botProc) countLog(s string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, l := range p.lines {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// tail returns the last n log lines, for error messages.
func (p *botProc) tail(n int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	from := max(0, len(p.lines)-n)
	return strings.Join(p.lines[from:], "\n")
}

// waitLog waits until a log line contains s.
func (p *botProc) waitLog(ctx context.Context, s string) error {
	for {
		if p.countLog(s) > 0 {
			return nil
		}
		select {
		case <-p.notify:
		case <-p.done:
			return fmt.Errorf("ksecbot exited (%v) before logging %q:\n%s", p.err, s, p.tail(20))
		case <-ctx.Done():
			return fmt.Errorf("waiting for the log line %q: %w\n%s", s, ctx.Err(), p.tail(20))
		}
	}
}

// memory is ksecbot's resident set from /proc/<pid>/status.
type memory struct{ rss, hwm int64 } // bytes

// mem reads VmRSS and VmHWM of the process.
func (p *botProc) mem() (memory, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return memory{}, fmt.Errorf("reading ksecbot's status: %w", err)
	}
	return parseStatus(raw)
}

// parseStatus reads VmRSS and VmHWM (kB) from a /proc/<pid>/status text.
func parseStatus(raw []byte) (memory, error) {
	var m memory
	found := 0
	for line := range strings.SplitSeq(string(raw), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return memory{}, fmt.Errorf("unexpected %s line %q", name, line)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return memory{}, fmt.Errorf("parsing %s: %w", name, err)
		}
		if name == "VmRSS" {
			m.rss = kb << 10
		} else {
			m.hwm = kb << 10
		}
		found++
	}
	if found != 2 {
		return memory{}, errors.New("no VmRSS/VmHWM in the status file")
	}
	return m, nil
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

// maxPushIDs is ksecbot's limit of bug ids per push (bot.MaxPushIDs).
const maxPushIDs = 100

// push POSTs the webhook naming ids, at most maxPushIDs per push,
// and checks for 202.
func (p *botProc) push(ctx context.Context, ids ...int) error {
	for len(ids) > maxPushIDs {
		if err := p.push(ctx, ids[:maxPushIDs]...); err != nil {
			return err
		}
		ids = ids[maxPushIDs:]
	}
	var body []byte
	if len(ids) == 1 {
		body = fmt.Appendf(nil, `{"bug":{"id":%d}}`, ids[0])
	} else {
		body, _ = json.Marshal(map[string][]int{"bugs": ids})
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+p.httpAddr+"/webhook", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+webhookSecret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}

// metric returns the sum of the samples of a metric family on /metrics
// (all label sets together).
func (p *botProc) metric(ctx context.Context, name string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.httpAddr+"/metrics", nil)
	if err != nil {
		return 0, fmt.Errorf("metrics request: %w", err)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("metrics: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("reading metrics: %w", err)
	}
	return sumMetric(string(raw), name)
}

// sumMetric adds up every sample of the named family in a Prometheus text
// exposition.
func sumMetric(text, name string) (float64, error) {
	var sum float64
	found := false
	for line := range strings.SplitSeq(text, "\n") {
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		if rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue // a longer name with this prefix
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			return 0, fmt.Errorf("parsing %q: %w", line, err)
		}
		sum += v
		found = true
	}
	if !found {
		return 0, fmt.Errorf("metric %s not exported", name)
	}
	return sum, nil
}
