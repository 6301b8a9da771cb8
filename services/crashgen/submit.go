package crashgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/crashstream/crashstream/streams/backoff"
)

// RunConfig is one submission run.
type RunConfig struct {
	// URL is the collector base URL (POST URL/submit).
	URL string
	// Rate is reports per second, open loop; 0 sends as fast as the
	// workers can (closed loop).
	Rate float64
	// Count stops after this many reports; 0 means no limit.
	Count int
	// Duration stops after this long; 0 means no limit.
	Duration time.Duration
	// Concurrency is the number of requests in flight at most.
	Concurrency int
	// Progress receives a status line every ProgressEvery (nil: silent).
	Progress      io.Writer
	ProgressEvery time.Duration
	// OnAccepted, when set, is called with each crash id the collector
	// accepted (for tests that track what was acknowledged).
	OnAccepted func(crashID string)
}

// Result summarizes a run. Latency is measured from each report's intended
// send time (open loop), so queueing in the client or server is counted.
type Result struct {
	Sent, Accepted, Rejected, Failed int
	Bytes                            int64
	Elapsed                          time.Duration
	Latencies                        []time.Duration
	Statuses                         map[int]int
}

// Summary is a one-paragraph human summary with the latency histogram.
func (r *Result) Summary() string {
	var b strings.Builder
	rate := float64(r.Accepted) / r.Elapsed.Seconds()
	fmt.Fprintf(&b, "sent %d, accepted %d, rejected %d, failed %d in %s (%.1f accepted/s, %.1f MB/s)\n",
		r.Sent, r.Accepted, r.Rejected, r.Failed, r.Elapsed.Round(time.Millisecond), rate, float64(r.Bytes)/1e6/r.Elapsed.Seconds())
	if len(r.Latencies) > 0 {
		fmt.Fprintf(&b, "ack latency: p50 %s  p90 %s  p99 %s  max %s\n",
			quantile(r.Latencies, 0.5).Round(time.Millisecond), quantile(r.Latencies, 0.9).Round(time.Millisecond),
			quantile(r.Latencies, 0.99).Round(time.Millisecond), quantile(r.Latencies, 1).Round(time.Millisecond))
		bounds := []time.Duration{10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond,
			250 * time.Millisecond, 500 * time.Millisecond, time.Second, 5 * time.Second}
		counts := make([]int, len(bounds)+1)
		for _, l := range r.Latencies {
			i := 0
			for i < len(bounds) && l > bounds[i] {
				i++
			}
			counts[i]++
		}
		for i, c := range counts {
			label := "> 5s"
			if i < len(bounds) {
				label = "<= " + bounds[i].String()
			}
			fmt.Fprintf(&b, "  %-9s %6d %s\n", label, c, strings.Repeat("#", c*50/len(r.Latencies)))
		}
	}
	if len(r.Statuses) > 0 {
		fmt.Fprintf(&b, "statuses: %v\n", r.Statuses)
	}
	return b.String()
}

// job is one report to send at an intended time.
type job struct {
	at     time.Time
	body   []byte
	ctype  string
	report Report
}

// Run submits reports from next until the count, duration or ctx ends.
// next is called from one goroutine only.
func Run(ctx context.Context, cfg RunConfig, next func() Report, client *http.Client) (*Result, error) {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 16
	}
	if cfg.URL == "" {
		return nil, errors.New("crashgen: no collector URL")
	}
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	res := &Result{Statuses: map[int]int{}}
	var mu sync.Mutex
	jobs := make(chan job, cfg.Concurrency)
	var wg sync.WaitGroup
	for w := 0; w < cfg.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				status, id, err := post(ctx, client, cfg.URL, j)
				lat := time.Since(j.at)
				mu.Lock()
				res.Sent++
				res.Bytes += int64(len(j.body))
				switch {
				case err != nil:
					res.Failed++
				case status == http.StatusOK && id != "":
					res.Accepted++
					res.Latencies = append(res.Latencies, lat)
				default:
					res.Rejected++
				}
				if err == nil {
					res.Statuses[status]++
				}
				mu.Unlock()
				if id != "" && cfg.OnAccepted != nil {
					cfg.OnAccepted(id)
				}
			}
		}()
	}

	start := time.Now()
	stopProgress := make(chan struct{})
	var progressWG sync.WaitGroup
	if cfg.Progress != nil && cfg.ProgressEvery > 0 {
		progressWG.Add(1)
		go func() {
			defer progressWG.Done()
			t := time.NewTicker(cfg.ProgressEvery)
			defer t.Stop()
			for {
				select {
				case <-stopProgress:
					return
				case <-t.C:
					mu.Lock()
					el := time.Since(start)
					fmt.Fprintf(cfg.Progress, "crashgen: %s sent %d accepted %d rejected %d failed %d (%.1f/s) p50 %s p99 %s\n",
						el.Round(time.Second), res.Sent, res.Accepted, res.Rejected, res.Failed, float64(res.Accepted)/el.Seconds(),
						quantile(res.Latencies, 0.5).Round(time.Millisecond), quantile(res.Latencies, 0.99).Round(time.Millisecond))
					mu.Unlock()
				}
			}
		}()
	}

	var interval time.Duration
	if cfg.Rate > 0 {
		interval = time.Duration(float64(time.Second) / cfg.Rate)
	}
loop:
	for i := 0; cfg.Count == 0 || i < cfg.Count; i++ {
		at := time.Now()
		if interval > 0 {
			at = start.Add(time.Duration(i) * interval)
			if d := time.Until(at); d > 0 {
				if backoff.Sleep(ctx, d) != nil {
					break loop
				}
			}
		}
		r := next()
		body, ctype, err := r.Multipart()
		if err != nil {
			close(jobs)
			wg.Wait()
			return nil, err
		}
		select {
		case jobs <- job{at: at, body: body, ctype: ctype, report: r}:
		case <-ctx.Done():
			break loop
		}
	}
	close(jobs)
	wg.Wait()
	close(stopProgress)
	progressWG.Wait()
	res.Elapsed = time.Since(start)
	return res, nil
}

// post sends one report; it returns the status and, when accepted, the id.
func post(ctx context.Context, client *http.Client, url string, j job) (int, string, error) {
	req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodPost, strings.TrimSuffix(url, "/")+"/submit", bytes.NewReader(j.body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", j.ctype)
	req.Header.Set("User-Agent", "crashstream-crashgen/1")
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	text := strings.TrimSpace(string(b))
	if resp.StatusCode == http.StatusOK && strings.HasPrefix(text, "CrashID=bp-") {
		return resp.StatusCode, strings.TrimPrefix(text, "CrashID=bp-"), nil
	}
	return resp.StatusCode, "", nil
}
