package sinks

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// sinkMetrics are one sink's counters, registered on the injected registry.
type sinkMetrics struct {
	written  prometheus.Counter
	flushes  *prometheus.CounterVec
	seconds  prometheus.Histogram
	rejected prometheus.Counter
}

func newSinkMetrics(reg prometheus.Registerer, sink string) (*sinkMetrics, error) {
	l := prometheus.Labels{"sink": sink}
	m := &sinkMetrics{
		written: prometheus.NewCounter(prometheus.CounterOpts{Name: "crashstream_sink_records_written_total",
			Help: "Processed crashes written by the sink.", ConstLabels: l}),
		flushes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crashstream_sink_writes_total",
			Help: "Writes (inserts, puts, produces) by result.", ConstLabels: l}, []string{"result"}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "crashstream_sink_write_seconds",
			Help: "Duration of one write.", ConstLabels: l, Buckets: prometheus.ExponentialBuckets(0.001, 2, 15)}),
		rejected: prometheus.NewCounter(prometheus.CounterOpts{Name: "crashstream_sink_records_rejected_total",
			Help: "Records dead-lettered because they cannot be decoded or mapped.", ConstLabels: l}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.written, m.flushes, m.seconds, m.rejected} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

func (m *sinkMetrics) flush(n int, d time.Duration, err error) {
	m.seconds.Observe(d.Seconds())
	if err != nil {
		m.flushes.WithLabelValues("error").Inc()
		return
	}
	m.flushes.WithLabelValues("ok").Inc()
	m.written.Add(float64(n))
}

// timer starts timing one write; call the result with its size and error.
func (m *sinkMetrics) timer() func(n int, err error) {
	start := time.Now()
	return func(n int, err error) { m.flush(n, time.Since(start), err) }
}
