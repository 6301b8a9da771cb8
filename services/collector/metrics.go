package collector

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// metrics are the collector's Prometheus series, registered on the
// registerer the process injects (never the global one).
type metrics struct {
	requests         *prometheus.CounterVec
	throttled        *prometheus.CounterVec
	bytes            *prometheus.CounterVec
	duration         *prometheus.HistogramVec
	stage            *prometheus.HistogramVec
	inFlight         prometheus.Gauge
	storeRetries     prometheus.Counter
	publishFailures  prometheus.Counter
	republished      prometheus.Counter
	republishDropped prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, queueLen, storeLimit func() float64) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "crashstream_collector_requests_total",
			Help: "Submissions by outcome: accepted, fakeaccepted, rejected (throttled), or the discard reason (malformed_*, unauthorized_uuid, too_large, overloaded, storage_unavailable, timeout).",
		}, []string{"outcome"}),
		throttled: f.NewCounterVec(prometheus.CounterOpts{
			Name: "crashstream_collector_throttle_total",
			Help: "Throttle decisions by rule and result.",
		}, []string{"rule", "result"}),
		bytes: f.NewCounterVec(prometheus.CounterOpts{
			Name: "crashstream_collector_bytes_total",
			Help: "Bytes of accepted reports: payload (after decompression) and dumps stored.",
		}, []string{"kind"}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "crashstream_collector_request_duration_seconds",
			Help:    "Time from request start to answer, by outcome class.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"outcome"}),
		stage: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "crashstream_collector_stage_duration_seconds",
			Help:    "Time of each stage of an accepted report: read (receive and parse the body), store (all objects), publish (crash.received in the request).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"stage"}),
		inFlight: f.NewGauge(prometheus.GaugeOpts{
			Name: "crashstream_collector_in_flight",
			Help: "Submissions being handled now.",
		}),
		storeRetries: f.NewCounter(prometheus.CounterOpts{
			Name: "crashstream_collector_store_retries_total",
			Help: "Object store writes retried.",
		}),
		publishFailures: f.NewCounter(prometheus.CounterOpts{
			Name: "crashstream_collector_publish_failures_total",
			Help: "crash.received publishes that failed in the request and were queued for retry.",
		}),
		republished: f.NewCounter(prometheus.CounterOpts{
			Name: "crashstream_collector_republished_total",
			Help: "Queued crash.received publishes that later succeeded.",
		}),
		republishDropped: f.NewCounter(prometheus.CounterOpts{
			Name: "crashstream_collector_republish_dropped_total",
			Help: "Stored crashes never announced (queue full or shutdown); verify-processed re-queues them.",
		}),
	}
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "crashstream_collector_republish_queue",
		Help: "crash.received publishes waiting for a background retry.",
	}, queueLen)
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "crashstream_collector_store_limit",
		Help: "Reports that may be stored and announced at once now (adapted to the measured store latency; 503 overloaded past it).",
	}, storeLimit)
	return m
}
