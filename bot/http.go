// SPDX-License-Identifier: GPL-3.0-or-later

package bot

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/ksecbot/ksecbot/store"
	"github.com/ksecbot/ksecbot/transport"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// maxWebhookBody bounds a push body; a push only names bugs.
const maxWebhookBody = 1 << 20

// HTTP serves [http] listen: the metrics, the health check and the push
// webhook.
type HTTP struct {
	current    func() pageConfig // the configuration in effect at each request
	store      *store.Store
	transports []transport.Transport
	intake     *Intake
	guard      *StoreGuard
	networks   *Networks
	metrics    *Metrics
	cve        *CVEStatus
	log        *slog.Logger
	now        func() time.Time
}

// NewHTTP returns the HTTP side of the core.
func NewHTTP(o Options, current func() pageConfig, intake *Intake, guard *StoreGuard, networks *Networks, metrics *Metrics, cve *CVEStatus) *HTTP {
	o = o.WithDefaults()
	return &HTTP{current: current, store: o.Store, transports: o.Transports, intake: intake, guard: guard, networks: networks, metrics: metrics, cve: cve, log: o.Logger, now: o.Now}
}

// Handler returns the HTTP handler for [http] listen: GET /metrics,
// GET /healthz, POST /webhook, and with [http] status_page the status
// page (GET / and GET /tree/{name}).
func (h *HTTP) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(h.metrics.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", h.serveHealth)
	mux.HandleFunc("POST /webhook", h.serveWebhook)
	page := http.NewServeMux()
	h.statusPage().Register(page)
	// The switch is read per request, so a reload turns the page on or
	// off without a restart.
	onOff := func(w http.ResponseWriter, r *http.Request) {
		if !h.current().Config().HTTP.StatusPage {
			http.Error(w, "the status page is off: set [http] status_page = true", http.StatusNotFound)
			return
		}
		page.ServeHTTP(w, r)
	}
	mux.HandleFunc("GET /{$}", onOff)
	mux.HandleFunc("GET /tree/{name}", onOff)
	return mux
}

// ServeHTTP runs the HTTP server on addr until ctx is done.
func (h *HTTP) ServeHTTP(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("failed to listen on %s (http.listen): %w", addr, err)
	}
	srv := &http.Server{Handler: h.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	h.log.Info("http listening", "addr", ln.Addr().String())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http server: %w", err)
	}
	return nil
}

// serveHealth answers 200 when the store and at least one transport are
// up, else 503 with the reason. A network stopped by a permanent error
// is named with its error and next try ("degraded: irc: down since ...")
// while another network works; so are the kernel CVE watch's failing
// scans and unreadable records ("degraded: kernel CVE data: ...").
func (h *HTTP) serveHealth(w http.ResponseWriter, r *http.Request) {
	var problems []string
	if err := h.store.Ping(r.Context()); err != nil {
		problems = append(problems, "store: "+err.Error())
	}
	problems = append(problems, h.guard.Problems()...) // each starts with "store"
	problems = append(problems, h.intake.Problems()...)
	up := 0
	for _, t := range h.transports {
		if t.Connected() {
			up++
		} else if down, _ := h.networks.Down(t.Network()); !down {
			problems = append(problems, t.Network()+": not connected")
		}
	}
	problems = append(problems, h.networks.Problems()...)
	for _, p := range h.networks.notices.ChannelProblems() {
		problems = append(problems, p.healthLine())
	}
	if k := h.current().Config().KernelCVE; k != nil && k.ScanInterval.Duration > 0 {
		problems = append(problems, h.cve.Problems()...) // each starts with "kernel CVE data"
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if len(h.transports) > 0 && up == 0 || (len(problems) > 0 && strings.HasPrefix(problems[0], "store")) {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, strings.Join(problems, "\n"))
		return
	}
	fmt.Fprintln(w, "ok")
	for _, p := range problems {
		fmt.Fprintln(w, "degraded: "+p)
	}
}

// WebhookPayload is what POST /webhook accepts: a BMO-style webhook
// payload or just {"bug":{"id":N}}. Only the bug id is used: ksecbot
// reads the bug itself through the API.
type WebhookPayload struct {
	Bug struct {
		ID int `json:"id"`
	} `json:"bug"`
	Bugs []int `json:"bugs,omitempty"`
}

// serveWebhook authenticates a push with the shared secret (constant-time)
// and makes the watcher read the named bug at once.
func (h *HTTP) serveWebhook(w http.ResponseWriter, r *http.Request) {
	secret := h.current().Config().HTTP.WebhookSecret.Reveal()
	if secret == "" {
		h.metrics.pushes.WithLabelValues("disabled").Inc()
		http.Error(w, "webhook disabled: set http.webhook_secret_file", http.StatusNotFound)
		return
	}
	got := r.Header.Get("X-Ksecbot-Secret")
	if auth := r.Header.Get("Authorization"); got == "" && strings.HasPrefix(auth, "Bearer ") {
		got = strings.TrimPrefix(auth, "Bearer ")
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(secret)) != 1 {
		h.metrics.pushes.WithLabelValues("unauthorized").Inc()
		http.Error(w, "wrong or missing secret", http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxWebhookBody+1))
	if err != nil || len(body) > maxWebhookBody {
		h.metrics.pushes.WithLabelValues("bad").Inc()
		http.Error(w, "body unreadable or too large", http.StatusBadRequest)
		return
	}
	var p WebhookPayload
	if err := json.Unmarshal(body, &p); err != nil {
		h.metrics.pushes.WithLabelValues("bad").Inc()
		http.Error(w, "body is not JSON: want {\"bug\":{\"id\":N}}", http.StatusBadRequest)
		return
	}
	ids := p.Bugs
	if p.Bug.ID > 0 {
		ids = append(ids, p.Bug.ID)
	}
	var valid []int
	seen := map[int]bool{}
	for _, id := range ids {
		if id > 0 && !seen[id] {
			seen[id] = true
			valid = append(valid, id)
		}
	}
	if len(valid) == 0 {
		h.metrics.pushes.WithLabelValues("bad").Inc()
		http.Error(w, "no bug id: want {\"bug\":{\"id\":N}}", http.StatusBadRequest)
		return
	}
	if len(valid) > MaxPushIDs {
		h.metrics.pushes.WithLabelValues("too_large").Inc()
		http.Error(w, fmt.Sprintf("%d bug ids in one push; at most %d: split the push (nothing was queued; polling catches up anyway)", len(valid), MaxPushIDs),
			http.StatusRequestEntityTooLarge)
		return
	}
	// One worker reads the queued bugs: the pusher need not wait for
	// Bugzilla, and a flood of pushes costs a few searches.
	if !h.intake.Push(valid) {
		h.metrics.pushes.WithLabelValues("busy").Inc()
		w.Header().Set("Retry-After", "60")
		http.Error(w, "busy: too many pushed bugs are waiting; try again in a minute (polling catches up anyway)", http.StatusServiceUnavailable)
		return
	}
	h.metrics.pushes.WithLabelValues("ok").Inc()
	w.WriteHeader(http.StatusAccepted)
	fmt.Fprintln(w, "accepted")
}
