package collector

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/tests/internal/stacktest"
)

// hostileBody is the start of a gzip submission whose one annotation
// inflates to size bytes: the wire carries a few KiB, the parser sees MiBs.
// It is cut before the gzip stream ends, so the client can keep the
// connection open with the server waiting for the rest.
func hostileBody(size int) ([]byte, string) {
	var z bytes.Buffer
	w, _ := gzip.NewWriterLevel(&z, flate.BestCompression)
	fmt.Fprintf(w, "--XyZ\r\nContent-Disposition: form-data; name=\"ProductName\"\r\n\r\nFirefox\r\n--XyZ\r\nContent-Disposition: form-data; name=\"Notes\"\r\n\r\n")
	_, _ = w.Write(bytes.Repeat([]byte("a"), size))
	_ = w.Flush() // everything so far is decodable; no gzip trailer
	return z.Bytes(), "multipart/form-data; boundary=XyZ"
}

// TestHostileClients runs the real collector binary on loopback against
// 150 slow-body connections (one byte a second, reconnecting when cut) and
// 120 kept-open gzip submissions (a few KiB on the wire inflating to 4 MiB
// of annotation each, then silence, reconnecting when cut) while a
// well-behaved client submits at 5 per second. It checks the well-behaved
// submissions are acknowledged (>= 95%), the collector's RSS stays within
// 300 MiB, and RSS comes back near idle once the attackers leave.
// CRASHSTREAM_HOSTILE_SECONDS sets the attack length (default 30).
func TestHostileClients(t *testing.T) {
	needStack(t)
	seconds := envInt("CRASHSTREAM_HOSTILE_SECONDS", 30)
	const slowConns, gzipConns, goodRate = 150, 120, 5
	const rssBoundKB = 300 << 10

	bucket := freshBucket(t, s3Config(""))
	kcfg := kafka(t)
	addr := freePort(t)
	pid := stacktest.Start(t, os.Environ(), "collector", "-collector.addr", addr,
		"-s3.bucket", bucket.Name(), "-kafka.topic-prefix", kcfg.TopicPrefix, "-kafka.partitions", "1",
		"-log.level", "error", "-collector.spool-dir", t.TempDir()).Cmd.Process.Pid
	hc := &http.Client{Timeout: 15 * time.Second}
	defer hc.CloseIdleConnections()

	good := report{annotations: map[string]string{"ProductName": "Firefox", "Version": "147.0", "ReleaseChannel": "release"},
		dumps: map[string][]byte{"upload_file_minidump": randomBytes(64 << 10)}}
	submitGood := func() (int, string) {
		body, ct := good.encode()
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/submit", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		text, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(text)
	}
	// warm up, then the idle level
	for range 10 {
		code, text := submitGood()
		require.Equal(t, 200, code, text)
	}
	time.Sleep(2 * time.Second)
	idleKB := procKB(t, pid, "VmRSS")

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var slowCut, gzipCut, gzipAnswers atomic.Int64
	gzBody, gzCT := hostileBody(4 << 20)
	slowBody, slowCT := good.encode()
	// attacker opens a connection, writes the header and a first chunk,
	// then trickles (gap > 0) or goes silent, until the server answers or
	// closes; then it reconnects, until stop.
	attacker := func(header string, first []byte, trickle []byte, gap time.Duration, cut *atomic.Int64) {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			answered := make(chan int, 1)
			go func() {
				resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
				if err != nil {
					answered <- 0
					return
				}
				resp.Body.Close()
				answered <- resp.StatusCode
			}()
			_, _ = io.WriteString(conn, header)
			_, _ = conn.Write(first)
			i := 0
		loop:
			for {
				var tick <-chan time.Time
				if gap > 0 {
					tick = time.After(gap)
				}
				select {
				case <-stop:
					break loop
				case code := <-answered:
					cut.Add(1)
					if code != 0 && cut == &gzipCut {
						gzipAnswers.Add(1)
					}
					break loop
				case <-tick:
					if i < len(trickle) {
						_, _ = conn.Write(trickle[i : i+1])
						i++
					}
				}
			}
			conn.Close()
		}
	}
	for range slowConns {
		wg.Add(1)
		hdr := fmt.Sprintf("POST /submit HTTP/1.1\r\nHost: c\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", slowCT, len(slowBody))
		go attacker(hdr, nil, slowBody, time.Second, &slowCut)
	}
	for range gzipConns {
		wg.Add(1)
		hdr := fmt.Sprintf("POST /submit HTTP/1.1\r\nHost: c\r\nContent-Type: %s\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n", gzCT, len(gzBody)+1000)
		go attacker(hdr, gzBody, nil, 0, &gzipCut)
	}

	// the well-behaved client, and RSS sampled throughout
	var peakKB atomic.Int64
	sampling := make(chan struct{})
	go func() {
		defer close(sampling)
		for {
			if kb := int64(procKB(t, pid, "VmRSS")); kb > peakKB.Load() {
				peakKB.Store(kb)
			}
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	var sent, acked atomic.Int64
	statuses := map[string]int{}
	var mu sync.Mutex
	var goodWG sync.WaitGroup
	ticker := time.NewTicker(time.Second / goodRate)
	end := time.After(time.Duration(seconds) * time.Second)
run:
	for {
		select {
		case <-end:
			break run
		case <-ticker.C:
			goodWG.Add(1)
			sent.Add(1)
			go func() {
				defer goodWG.Done()
				code, text := submitGood()
				mu.Lock()
				defer mu.Unlock()
				if code == 200 && strings.HasPrefix(text, "CrashID=bp-") {
					acked.Add(1)
					statuses["200"]++
					return
				}
				statuses[fmt.Sprintf("%d %s", code, strings.TrimSpace(text))]++
			}()
		}
	}
	ticker.Stop()
	goodWG.Wait()
	close(stop)
	wg.Wait()
	<-sampling
	load, _ := os.ReadFile("/proc/loadavg")

	// after: RSS back near idle (bounded wait; the Go runtime returns freed
	// memory to the OS in the background)
	afterKB := int64(procKB(t, pid, "VmRSS"))
	waitStart := time.Now()
	for deadline := time.Now().Add(3 * time.Minute); afterKB > int64(idleKB)+64<<10 && time.Now().Before(deadline); {
		time.Sleep(2 * time.Second)
		afterKB = int64(procKB(t, pid, "VmRSS"))
	}
	t.Logf("RSS back within 64 MiB of idle %s after the attackers left", time.Since(waitStart).Round(time.Second))
	ratio := float64(acked.Load()) / float64(sent.Load())
	t.Logf("hostile clients for %d s: %d slow-body + %d kept-open gzip connections; well-behaved %d/%d acknowledged (%.1f%%), other answers %v",
		seconds, slowConns, gzipConns, acked.Load(), sent.Load(), 100*ratio, statuses)
	t.Logf("attackers cut: slow %d times, gzip %d times (%d with an answer); collector RSS idle %d MiB, peak %d MiB, after %d MiB; loadavg %s",
		slowCut.Load(), gzipCut.Load(), gzipAnswers.Load(), idleKB>>10, peakKB.Load()>>10, afterKB>>10, strings.TrimSpace(string(load)))
	assert.GreaterOrEqual(t, ratio, 0.95, "well-behaved submissions acknowledged")
	assert.LessOrEqual(t, peakKB.Load(), int64(rssBoundKB), "peak RSS within 300 MiB")
	assert.LessOrEqual(t, afterKB, int64(idleKB)+64<<10, "RSS back within 64 MiB of idle")
	assert.Positive(t, slowCut.Load(), "slow clients were cut off")
}
