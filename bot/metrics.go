// SPDX-License-Identifier: GPL-3.0-or-later

package bot

import (
	"context"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/stats"
	"github.com/ksecbot/ksecbot/store"
	"github.com/ksecbot/ksecbot/transport"
)

// Metrics are the bot's Prometheus metrics (/metrics): transport health,
// outbox depth, Bugzilla traffic and reaction times.
type Metrics struct {
	reg        *prometheus.Registry
	sent       *prometheus.CounterVec
	sendErrors *prometheus.CounterVec
	pushes     *prometheus.CounterVec
	commands   *prometheus.CounterVec
	// repliesExpired counts command replies dropped because they could
	// not go out within a minute of their command (dispatcher.go).
	repliesExpired *prometheus.CounterVec
}

// MetricsSources are the parts whose state the metrics read at scrape
// time.
type MetricsSources struct {
	Transports []transport.Transport
	Store      *store.Store
	Bugzilla   *bugzilla.Client
	Intake     *Intake
	Guard      *StoreGuard
	// Trees are the trees of the configuration in effect, for the
	// reaction times per tree.
	Trees    func() []config.Tree
	Now      func() time.Time
	Networks *Networks
	Notices  *Notices
	CVE      *CVEStatus // the kernel CVE watch's scans
}

// NewMetrics returns the metrics; the counters are counted by the parts
// that do the counted thing, the rest is read from src at scrape time.
func NewMetrics(src MetricsSources) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ksecbot_messages_sent_total", Help: "Messages accepted by a chat network.",
		}, []string{"network"}),
		sendErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ksecbot_send_errors_total", Help: "Failed attempts to send a message.",
		}, []string{"network"}),
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ksecbot_pushes_total", Help: "Push notifications received (webhook, ingest-mail), by result.",
		}, []string{"result"}),
	}
	m.commands = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ksecbot_commands_total",
		Help: "Commands received, by result when they arrive: accepted (queued for a worker), busy (queue full, told to try again), limited (over the per-user limit, covered by one slow-down reply per window), unanswered (a busy or slow-down reply could not be queued).",
	}, []string{"result"})
	m.repliesExpired = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ksecbot_command_replies_expired_total",
		Help: "Command replies dropped because they could not begin to go out within a minute of their command (a write's result: of the write), by network and reply: answer (a command's answer, or a read command not served at all) or notice (busy, slow down, Bugzilla is slow).",
	}, []string{"network", "reply"})
	unrecorded := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ksecbot_store_unrecorded_messages",
		Help: "Messages that went out but could not be recorded as sent (database not writable); their channels are paused.",
	}, func() float64 { return float64(src.Guard.Unrecorded()) })
	m.reg.MustRegister(m.sent, m.sendErrors, m.pushes, m.commands, m.repliesExpired, unrecorded, collector{src})
	return m
}

// Registry returns the registry served on /metrics.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// collector reads live values at scrape time.
type collector struct{ src MetricsSources }

var (
	descConnected  = prometheus.NewDesc("ksecbot_transport_connected", "1 when the transport is connected.", []string{"network"}, nil)
	descOutbox     = prometheus.NewDesc("ksecbot_outbox_depth", "Messages waiting in the outbox.", []string{"network"}, nil)
	descBZRequests = prometheus.NewDesc("ksecbot_bugzilla_requests_total", "HTTP requests sent to Bugzilla.", nil, nil)
	descBZErrors   = prometheus.NewDesc("ksecbot_bugzilla_errors_total", "Failed Bugzilla requests.", nil, nil)
	descPollSecs   = prometheus.NewDesc("ksecbot_poll_duration_seconds", "Duration of the last Bugzilla poll.", nil, nil)
	descPolls      = prometheus.NewDesc("ksecbot_polls_total", "Bugzilla polls made.", nil, nil)
	descKeyRefused = prometheus.NewDesc("ksecbot_bugzilla_key_refused", "1 while Bugzilla refuses the API key (anonymous read-only mode).", nil, nil)
	descBZUp       = prometheus.NewDesc("ksecbot_bugzilla_up", "1 when the last Bugzilla poll succeeded.", nil, nil)
	descPushQueue  = prometheus.NewDesc("ksecbot_push_queue", "Pushed bug ids waiting to be read.", nil, nil)
	descReconciles = prometheus.NewDesc("ksecbot_reconciles_total", "Reconciliations made (open mirrored bugs read again by id).", nil, nil)
	descReconSecs  = prometheus.NewDesc("ksecbot_reconcile_duration_seconds", "Duration of the last reconciliation.", nil, nil)
	descReconReqs  = prometheus.NewDesc("ksecbot_reconcile_requests", "Bugzilla requests made while the last reconciliation ran.", nil, nil)
	descReconBugs  = prometheus.NewDesc("ksecbot_reconcile_bugs", "Bugs the last reconciliation read again.", nil, nil)
	descReaction   = prometheus.NewDesc("ksecbot_reaction_seconds", "Time from bug creation to an action over the last 30 days.", []string{"action", "tree", "quantile"}, nil)
	descInFlight   = prometheus.NewDesc("ksecbot_transport_unconfirmed_lines", "Lines written to the network and not yet confirmed by the server (IRC).", []string{"network"}, nil)
	descRateLimit  = prometheus.NewDesc("ksecbot_transport_rate_limited_total", "Rate-limit answers from the network (Matrix: HTTP 429), each retried later.", []string{"network"}, nil)
	descSilent     = prometheus.NewDesc("ksecbot_transport_silent_drops_total", "Connections recycled because the link went silent with lines unconfirmed (IRC).", []string{"network"}, nil)
	descChanTrbl   = prometheus.NewDesc("ksecbot_channel_trouble", "1 while the bot cannot join a configured channel (what=cannot_join) or the channel refuses its lines (what=refuses_lines: IRC +m, a Matrix power level too low); /healthz says why.", []string{"network", "channel", "what"}, nil)
	descDown       = prometheus.NewDesc("ksecbot_transport_down", "1 while the network is stopped by a permanent error (refused password or token, untrusted certificate, ban); it is retried hourly and on SIGHUP, /healthz says why.", []string{"network"}, nil)
	descCVEErrors  = prometheus.NewDesc("ksecbot_cve_scan_errors_total", "Kernel CVE watch scans that failed (the clone unreadable, empty or half gone, git updating it for over 10 minutes, the database); /healthz says why.", nil, nil)
	descCVEFailing = prometheus.NewDesc("ksecbot_cve_scan_failing", "1 from a failed kernel CVE watch scan until the next successful one.", nil, nil)
	descCVESuccess = prometheus.NewDesc("ksecbot_cve_last_scan_success_timestamp_seconds", "When the last kernel CVE watch scan succeeded (Unix time; 0: none since start).", nil, nil)
	descCVESkipped = prometheus.NewDesc("ksecbot_cve_unreadable_records", "Kernel CVE records the last successful scan could not read (a dangling symlink, no regular file, bad JSON) and left out.", nil, nil)
)

// rateLimitStatser is implemented by transports that count the
// network's rate-limit answers (Matrix: 429 M_LIMIT_EXCEEDED).
type rateLimitStatser interface {
	RateLimited() int64
}

// deliveryStatser is implemented by transports that confirm each line
// (IRC): lines awaiting confirmation and silent-link reconnects.
type deliveryStatser interface {
	DeliveryStats() (unconfirmed, silentDrops int64)
}

// Describe implements prometheus.Collector.
func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descConnected, descOutbox, descBZRequests, descBZErrors, descPollSecs, descPolls, descKeyRefused, descBZUp, descPushQueue, descReconciles, descReconSecs, descReconReqs, descReconBugs, descReaction, descInFlight, descSilent, descDown, descRateLimit, descChanTrbl, descCVEErrors, descCVEFailing, descCVESuccess, descCVESkipped} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c collector) Collect(ch chan<- prometheus.Metric) {
	src := c.src
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, t := range src.Transports {
		v := 0.0
		if t.Connected() {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(descConnected, prometheus.GaugeValue, v, t.Network())
		if src.Networks != nil {
			down, _ := src.Networks.Down(t.Network())
			ch <- prometheus.MustNewConstMetric(descDown, prometheus.GaugeValue, boolGauge(down), t.Network())
		}
		if rl, ok := t.(rateLimitStatser); ok {
			ch <- prometheus.MustNewConstMetric(descRateLimit, prometheus.CounterValue, float64(rl.RateLimited()), t.Network())
		}
		if ds, ok := t.(deliveryStatser); ok {
			unconfirmed, silent := ds.DeliveryStats()
			ch <- prometheus.MustNewConstMetric(descInFlight, prometheus.GaugeValue, float64(unconfirmed), t.Network())
			ch <- prometheus.MustNewConstMetric(descSilent, prometheus.CounterValue, float64(silent), t.Network())
		}
		var keys []string
		for _, chn := range t.Channels() {
			keys = append(keys, chn.Key)
		}
		if len(keys) == 0 {
			continue // no channels; an empty list would mean all of them
		}
		if n, err := src.Store.OutboxDepth(ctx, keys); err == nil {
			ch <- prometheus.MustNewConstMetric(descOutbox, prometheus.GaugeValue, float64(n), t.Network())
		}
	}
	if src.Notices != nil {
		for _, p := range src.Notices.ChannelProblems() {
			ch <- prometheus.MustNewConstMetric(descChanTrbl, prometheus.GaugeValue, 1, p.ch.Network, p.ch.Name, strings.ReplaceAll(p.what, " ", "_"))
		}
	}
	if src.CVE != nil {
		if h := src.CVE.health(); h.on {
			success := 0.0
			if !h.lastSuccess.IsZero() {
				success = float64(h.lastSuccess.UnixNano()) / 1e9
			}
			ch <- prometheus.MustNewConstMetric(descCVEErrors, prometheus.CounterValue, float64(h.errors))
			ch <- prometheus.MustNewConstMetric(descCVEFailing, prometheus.GaugeValue, boolGauge(!h.failSince.IsZero()))
			ch <- prometheus.MustNewConstMetric(descCVESuccess, prometheus.GaugeValue, success)
			ch <- prometheus.MustNewConstMetric(descCVESkipped, prometheus.GaugeValue, float64(len(h.skipped)))
		}
	}
	st := src.Bugzilla.Stats()
	ch <- prometheus.MustNewConstMetric(descBZRequests, prometheus.CounterValue, float64(st.Requests))
	ch <- prometheus.MustNewConstMetric(descBZErrors, prometheus.CounterValue, float64(st.Errors))
	ws := src.Intake.watcher.Stats()
	ch <- prometheus.MustNewConstMetric(descPollSecs, prometheus.GaugeValue, ws.LastPollDuration.Seconds())
	ch <- prometheus.MustNewConstMetric(descPolls, prometheus.CounterValue, float64(ws.Polls))
	ch <- prometheus.MustNewConstMetric(descKeyRefused, prometheus.GaugeValue, boolGauge(src.Bugzilla.KeyRefused()))
	ch <- prometheus.MustNewConstMetric(descBZUp, prometheus.GaugeValue, boolGauge(ws.Polls > 0 && ws.ConsecutiveFailures == 0))
	ch <- prometheus.MustNewConstMetric(descPushQueue, prometheus.GaugeValue, float64(src.Intake.pushes.len()))
	rs := src.Intake.watcher.ReconcileStats()
	ch <- prometheus.MustNewConstMetric(descReconciles, prometheus.CounterValue, float64(rs.Runs))
	ch <- prometheus.MustNewConstMetric(descReconSecs, prometheus.GaugeValue, rs.LastDuration.Seconds())
	ch <- prometheus.MustNewConstMetric(descReconReqs, prometheus.GaugeValue, float64(rs.LastRequests))
	ch <- prometheus.MustNewConstMetric(descReconBugs, prometheus.GaugeValue, float64(rs.LastBugs))
	rt, err := stats.ReactionTimes(ctx, src.Store, src.Trees(), src.Now().Add(-30*24*time.Hour))
	if err != nil {
		return
	}
	for _, r := range rt {
		if r.N == 0 {
			continue
		}
		ch <- prometheus.MustNewConstMetric(descReaction, prometheus.GaugeValue, r.Median.Seconds(), r.Action, r.Tree, "0.5")
		ch <- prometheus.MustNewConstMetric(descReaction, prometheus.GaugeValue, r.P90.Seconds(), r.Action, r.Tree, "0.9")
	}
}

func boolGauge(v bool) float64 {
	if v {
		return 1
	}
	return 0
}
