package collector

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/storage/objectstore"
	"github.com/crashstream/crashstream/tests/internal/stacktest"
)

// The benchmark harness: the real `crashstream collector` binary against
// the real MinIO and Kafka, driven by N concurrent clients with a
// realistic size mix, beside a raw MinIO PUT run of the same bytes in the
// same test. Run it with
//
//	CRASHSTREAM_STACK=1 CRASHSTREAM_BENCH=1 go test -run TestBenchCollector -v -timeout 30m ./collector/
//
// Knobs: CRASHSTREAM_BENCH_REPORTS (default 2000), CRASHSTREAM_BENCH_CLIENTS (64).

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// sizeMix draws dump sizes from a log-normal with median 400 KB and 95th
// percentile 1.5 MB (σ = ln(1.5M/400K)/1.645), capped at 20 MB: the shape
// of Firefox minidumps.
func sizeMix(rng *mrand.Rand, n int) []int {
	mu := math.Log(400_000)
	sigma := math.Log(1_500_000.0/400_000.0) / 1.645
	out := make([]int, n)
	for i := range out {
		out[i] = min(int(math.Exp(mu+sigma*rng.NormFloat64())), 20_000_000)
	}
	return out
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

func freePort(t testing.TB) string { return stacktest.FreePort(t) }

// procCPU returns user+system CPU time of pid.
func procCPU(t testing.TB, pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	require.NoError(t, err)
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}

func procKB(t testing.TB, pid int, field string) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	m := regexp.MustCompile(field + `:\s+(\d+) kB`).FindSubmatch(data)
	require.NotNil(t, m)
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

type runResult struct {
	n        int
	errors   int
	statuses map[int]int
	elapsed  time.Duration
	lat      []time.Duration
	bytes    int64
}

// drive runs do(i) for i in [0,n) from clients goroutines (closed loop:
// each client sends its next request when the last is answered).
func drive(n, clients int, do func(i int) (int, int64, error)) runResult {
	var next atomic.Int64
	return serve(n, clients, func() (int, time.Time, bool) {
		i := int(next.Add(1)) - 1
		return i, time.Now(), i < n
	}, do)
}

// drivePaced offers n requests at a fixed rate from clients goroutines
// (open loop) and measures each latency from its scheduled start, so a
// slow answer also counts the requests queued behind it.
func drivePaced(n, clients int, rate float64, do func(i int) (int, int64, error)) runResult {
	type token struct {
		i     int
		sched time.Time
	}
	tokens := make(chan token, n)
	go func() {
		defer close(tokens)
		start := time.Now()
		for i := range n {
			at := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
			time.Sleep(time.Until(at))
			tokens <- token{i, at}
		}
	}()
	return serve(n, clients, func() (int, time.Time, bool) {
		tk, ok := <-tokens
		return tk.i, tk.sched, ok
	}, do)
}

// serve calls do from clients goroutines for each request next hands out
// (its index and the time its latency counts from) until next has none
// left, and gathers the statuses, bytes and sorted latencies of n requests.
func serve(n, clients int, next func() (int, time.Time, bool), do func(i int) (int, int64, error)) runResult {
	var mu sync.Mutex
	res := runResult{statuses: map[int]int{}, n: n}
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i, from, ok := next()
				if !ok {
					return
				}
				status, nb, err := do(i)
				d := time.Since(from)
				mu.Lock()
				if err != nil {
					res.errors++
				} else {
					res.statuses[status]++
					res.lat = append(res.lat, d)
					res.bytes += nb
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	slices.Sort(res.lat)
	return res
}

// merge adds b's counts and latencies to a.
func merge(a, b runResult) runResult {
	if a.statuses == nil {
		a.statuses = map[int]int{}
	}
	a.n += b.n
	a.errors += b.errors
	for k, v := range b.statuses {
		a.statuses[k] += v
	}
	a.elapsed += b.elapsed
	a.lat = append(a.lat, b.lat...)
	sort.Slice(a.lat, func(i, j int) bool { return a.lat[i] < a.lat[j] })
	a.bytes += b.bytes
	return a
}

// stageMeans reads the collector's per-stage histograms from /metrics and
// returns the mean seconds of each stage.
func stageMeans(t testing.TB, hc *http.Client, admin string) map[string]float64 {
	resp, err := hc.Get("http://" + admin + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	sums, counts := map[string]float64{}, map[string]float64{}
	re := regexp.MustCompile(`crashstream_collector_stage_duration_seconds_(sum|count)\{stage="(\w+)"\} (\S+)`)
	for _, m := range re.FindAllStringSubmatch(string(text), -1) {
		v, _ := strconv.ParseFloat(m[3], 64)
		if m[1] == "sum" {
			sums[m[2]] = v
		} else {
			counts[m[2]] = v
		}
	}
	out := map[string]float64{}
	for k, c := range counts {
		if c > 0 {
			out[k] = sums[k] / c
		}
	}
	return out
}

func buildBinary(t testing.TB) string { return stacktest.Binary(t) }

func TestBenchCollector(t *testing.T) {
	needStack(t)
	if os.Getenv("CRASHSTREAM_BENCH") != "1" {
		t.Skip("benchmark: set CRASHSTREAM_BENCH=1")
	}
	reports := envInt("CRASHSTREAM_BENCH_REPORTS", 2000)
	clients := envInt("CRASHSTREAM_BENCH_CLIENTS", 64)
	rounds := envInt("CRASHSTREAM_BENCH_ROUNDS", 4)

	bucketName := unique("bench-collector-")
	addr := freePort(t)
	p := stacktest.Start(t, os.Environ(), "collector", "-collector.addr", addr,
		"-s3.bucket", bucketName, "-kafka.topic-prefix", unique("benchcollector")+".",
		"-kafka.partitions", "3", "-log.level", "warn", "-collector.spool-dir", t.TempDir())
	pid, admin := p.Cmd.Process.Pid, p.Admin
	hc := &http.Client{Timeout: 10 * time.Second}
	defer hc.CloseIdleConnections()
	c, err := objectstore.New(s3Config(""))
	require.NoError(t, err)
	t.Cleanup(c.Close) // after the bucket clean-up below (cleanups run last-in first-out)
	bucket := c.Bucket(bucketName)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		for o, err := range bucket.List(ctx, "") {
			if err != nil {
				break
			}
			_ = bucket.Delete(ctx, o.Key)
		}
		_ = bucket.Remove(ctx)
	})

	// Pre-built bodies, reused round-robin: each POST still gets a new
	// crash id, and the generator spends its CPU on sending, not encoding.
	rng := mrand.New(mrand.NewPCG(1, 2))
	sizes := sizeMix(rng, 128)
	noise := randomBytes(21_000_000)
	type body struct {
		data []byte
		ct   string
		dump int
	}
	bodies := make([]body, len(sizes))
	for i, s := range sizes {
		off := rng.IntN(len(noise) - s)
		data, ct := report{
			annotations: map[string]string{"ProductName": "Firefox", "Version": "147.0", "ReleaseChannel": "release",
				"BuildID": "20261101000000", "ProcessType": "content", "URL": "https://example.com/" + strconv.Itoa(i)},
			dumps: map[string][]byte{"upload_file_minidump": noise[off : off+s]},
		}.encode()
		bodies[i] = body{data, ct, s}
	}
	sorted := append([]int(nil), sizes...)
	sort.Ints(sorted)
	var total int64
	for _, s := range sizes {
		total += int64(s)
	}

	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	client := &http.Client{Transport: tr, Timeout: 2 * time.Minute}
	defer tr.CloseIdleConnections()
	post := func(i int) (int, int64, error) {
		b := bodies[i%len(bodies)]
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/submit", bytes.NewReader(b.data))
		req.Header.Set("Content-Type", b.ct)
		resp, err := client.Do(req)
		if err != nil {
			return 0, 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, int64(len(b.data)), nil
	}

	drive(clients, clients, post) // warm-up: connections, Kafka metadata

	// Raw MinIO PUTs of the same bodies, same concurrency, same run.
	ctx := context.Background()
	var base int
	put := func(i int) (int, int64, error) {
		i += base
		b := bodies[i%len(bodies)]
		err := bucket.Put(ctx, fmt.Sprintf("raw/%d", i), bytes.NewReader(b.data), int64(len(b.data)), "application/octet-stream")
		if err != nil {
			return 0, 0, err
		}
		return 200, int64(len(b.data)), nil
	}

	// The same bytes in the collector's layout, without the collector:
	// the dump and a small dump-names object concurrently, then a small
	// raw crash. This is the floor the storage contract sets.
	small := bytes.Repeat([]byte("x"), 1200)
	layout := func(i int) (int, int64, error) {
		i += base
		b := bodies[i%len(bodies)]
		errs := make(chan error, 2)
		go func() {
			errs <- bucket.Put(ctx, fmt.Sprintf("layout/dump/%d", i), bytes.NewReader(b.data), int64(len(b.data)), "application/octet-stream")
		}()
		go func() {
			errs <- bucket.Put(ctx, fmt.Sprintf("layout/dump_names/%d", i), bytes.NewReader(small[:30]), 30, "application/json")
		}()
		if err := errors.Join(<-errs, <-errs); err != nil {
			return 0, 0, err
		}
		if err := bucket.Put(ctx, fmt.Sprintf("layout/raw_crash/%d", i), bytes.NewReader(small), int64(len(small)), "application/json"); err != nil {
			return 0, 0, err
		}
		return 200, int64(len(b.data)), nil
	}

	// Interleaved rounds, so the three runs see the same (shared, noisy)
	// machine rather than whatever load each happened to meet.
	var col, raw, lay runResult
	var cpu time.Duration
	per := reports / rounds
	for r := range rounds {
		base = r * per
		c0 := procCPU(t, pid)
		col = merge(col, drive(per, clients, post))
		cpu += procCPU(t, pid) - c0
		raw = merge(raw, drive(per, clients, put))
		lay = merge(lay, drive(per, clients, layout))
	}
	reports = per * rounds
	peak := procKB(t, pid, "VmHWM")
	stages := stageMeans(t, hc, admin)

	// Ack latency below saturation: the same clients, paced.
	offered := float64(envInt("CRASHSTREAM_BENCH_RATE", 30))
	paced := drivePaced(int(offered*30), clients, offered, post)

	rate := func(r runResult) float64 { return float64(r.statuses[200]) / r.elapsed.Seconds() }
	mbs := func(r runResult) float64 { return float64(r.bytes) / r.elapsed.Seconds() / 1e6 }
	loadavg, _ := os.ReadFile("/proc/loadavg")
	lines := []string{
		fmt.Sprintf("machine: %d cores (%s), load average at end: %s", runtime.NumCPU(), cpuModel(), strings.Join(strings.Fields(string(loadavg))[:3], " ")),
		fmt.Sprintf("reports: %d per run in %d interleaved rounds, clients: %d, dump sizes: median %d KB, p95 %d KB, mean %d KB (log-normal, 128 distinct bodies)",
			reports, rounds, clients, sorted[len(sorted)/2]/1000, sorted[len(sorted)*95/100]/1000, int(total)/len(sizes)/1000),
		"",
		"| run | ok | errors / non-200 | reports/s | MB/s | p50 ms | p99 ms | max ms |",
		"|---|---|---|---|---|---|---|---|",
		fmt.Sprintf("| collector POST /submit | %d | %d / %v | %.1f | %.1f | %.0f | %.0f | %.0f |", col.statuses[200], col.errors, nonOK(col.statuses),
			rate(col), mbs(col), ms(percentile(col.lat, 50)), ms(percentile(col.lat, 99)), ms(percentile(col.lat, 100))),
		fmt.Sprintf("| collector, paced at %.0f reports/s (open loop, latency from scheduled start) | %d | %d / %v | %.1f | %.1f | %.0f | %.0f | %.0f |", offered,
			paced.statuses[200], paced.errors, nonOK(paced.statuses), rate(paced), mbs(paced),
			ms(percentile(paced.lat, 50)), ms(percentile(paced.lat, 99)), ms(percentile(paced.lat, 100))),
		fmt.Sprintf("| raw MinIO PUT (same bodies) | %d | %d | %.1f | %.1f | %.0f | %.0f | %.0f |", raw.statuses[200], raw.errors,
			rate(raw), mbs(raw), ms(percentile(raw.lat, 50)), ms(percentile(raw.lat, 99)), ms(percentile(raw.lat, 100))),
		fmt.Sprintf("| raw MinIO, collector layout (dump ∥ dump_names, then raw crash) | %d | %d | %.1f | %.1f | %.0f | %.0f | %.0f |", lay.statuses[200], lay.errors,
			rate(lay), mbs(lay), ms(percentile(lay.lat, 50)), ms(percentile(lay.lat, 99)), ms(percentile(lay.lat, 100))),
		"",
		fmt.Sprintf("collector / raw PUT: %.2f; collector / raw layout: %.2f; collector CPU: %.1f ms per report; collector peak RSS: %d MiB",
			rate(col)/rate(raw), rate(col)/rate(lay), float64(cpu.Microseconds())/1000/float64(max(col.statuses[200], 1)), peak/1024),
		fmt.Sprintf("collector stage means (server side): read+parse %.0f ms, store %.0f ms, publish %.0f ms",
			stages["read"]*1000, stages["store"]*1000, stages["publish"]*1000),
	}
	fmt.Println("BENCH-BEGIN\n" + strings.Join(lines, "\n") + "\nBENCH-END")
	if p := os.Getenv("CRASHSTREAM_BENCH_OUT"); p != "" {
		require.NoError(t, os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	}
	require.Zero(t, col.errors, "transport errors")
	require.Equal(t, reports, col.statuses[200], "every report accepted: %v", col.statuses)
}

func nonOK(st map[int]int) map[int]int {
	out := map[int]int{}
	for k, v := range st {
		if k != 200 {
			out[k] = v
		}
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func cpuModel() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	m := regexp.MustCompile(`model name\s*:\s*(.+)`).FindSubmatch(data)
	if m == nil {
		return "unknown CPU"
	}
	return strings.TrimSpace(string(m[1]))
}
