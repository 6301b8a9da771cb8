package streams

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// register registers c, or returns the collector already registered under
// the same description, so that several consumers or producers of one
// process ("crashstream all") share metric families instead of failing.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}

// ConsumerMetrics are the consumers' metric families, shared by every
// consumer of a process (registered once, found again by the others).
type ConsumerMetrics struct {
	records  *prometheus.CounterVec   // group, topic, outcome
	bytes    *prometheus.CounterVec   // group, topic
	retries  *prometheus.CounterVec   // group, topic
	lag      *prometheus.GaugeVec     // group, topic, partition
	duration *prometheus.HistogramVec // group, topic
	errors   *prometheus.CounterVec   // group, kind
}

// NewConsumerMetrics registers the families on reg (nil: unregistered).
func NewConsumerMetrics(reg prometheus.Registerer) *ConsumerMetrics {
	return &ConsumerMetrics{
		records: counterVec(reg, "crashstream_kafka_consumer_records_total",
			"Records finished by consumers, by outcome (ok, dead_letter).", "group", "topic", "outcome"),
		bytes: counterVec(reg, "crashstream_kafka_consumer_bytes_total",
			"Record value bytes finished by consumers.", "group", "topic"),
		retries: counterVec(reg, "crashstream_kafka_consumer_retries_total",
			"Handler attempts that failed transiently and were retried.", "group", "topic"),
		lag: register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "crashstream_kafka_consumer_lag",
			Help: "Records between the last one handled and the partition's high watermark.",
		}, []string{"group", "topic", "partition"})),
		duration: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "crashstream_kafka_consumer_handle_seconds",
			Help:    "Time per handler call (one record, or one partition batch for batch stages), retries included.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}, []string{"group", "topic"})),
		errors: counterVec(reg, "crashstream_kafka_consumer_errors_total",
			"Consumer errors by kind (fetch, commit, dead_letter_produce).", "group", "kind"),
	}
}

// counterVec registers (or finds) a counter family.
func counterVec(reg prometheus.Registerer, name, help string, labels ...string) *prometheus.CounterVec {
	return register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels))
}

type producerMetrics struct {
	records *prometheus.CounterVec // topic, outcome
	bytes   *prometheus.CounterVec // topic
}

func newProducerMetrics(reg prometheus.Registerer) *producerMetrics {
	return &producerMetrics{
		records: counterVec(reg, "crashstream_kafka_producer_records_total",
			"Records produced, by outcome (ok, error).", "topic", "outcome"),
		bytes: counterVec(reg, "crashstream_kafka_producer_bytes_total",
			"Record value bytes acknowledged by the brokers.", "topic"),
	}
}
