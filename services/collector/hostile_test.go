package collector

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// trickle opens a submission on a real connection and sends its body one
// byte every gap until stop is closed; it returns the answer it got (or
// 0 when the server closed the connection without one).
func trickle(t *testing.T, addr string, gap time.Duration, stop <-chan struct{}) <-chan int {
	out := make(chan int, 1)
	body, ct := form(annotation("ProductName", "Slow"), dump("upload_file_minidump", minidump))
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	_, err = fmt.Fprintf(conn, "POST /submit HTTP/1.1\r\nHost: c\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", ct, len(body))
	require.NoError(t, err)
	go func() {
		defer conn.Close()
		got := make(chan int, 1)
		go func() {
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				got <- 0
				return
			}
			resp.Body.Close()
			got <- resp.StatusCode
		}()
		for i := 0; i < len(body); i++ {
			select {
			case code := <-got:
				out <- code
				return
			case <-stop:
				// an answer already on its way still counts
				select {
				case code := <-got:
					out <- code
				case <-time.After(time.Second):
					out <- -1
				}
				return
			case <-time.After(gap):
			}
			if _, err := conn.Write(body[i : i+1]); err != nil {
				out <- <-got
				return
			}
		}
		out <- <-got
	}()
	return out
}

// TestSlowBodyCutByMinimumRate: a body trickling far below -collector.min-rate
// is answered 408 once the rate grace is spent, though every byte arrives
// well within the idle timeout.
func TestSlowBodyCutByMinimumRate(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.ReadTimeout = time.Minute
		c.MinRate, c.RateGrace = 1000, 300*time.Millisecond
	})
	srv := httptest.NewServer(f.c.Handler())
	defer srv.Close()
	stop := make(chan struct{})
	defer close(stop)
	select {
	case code := <-trickle(t, srv.Listener.Addr().String(), 50*time.Millisecond, stop):
		assert.Equal(t, http.StatusRequestTimeout, code)
	case <-time.After(30 * time.Second): // a bound on the wait, far above the 0.3 s grace
		t.Fatal("the trickling body was never cut off")
	}
	f.requireNothingWritten(t)
}

// TestSlowBodyTimeout: a body that keeps the minimum rate still ends at
// -collector.body-timeout.
func TestSlowBodyTimeout(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.ReadTimeout = time.Minute
		c.MinRate, c.RateGrace = 1, time.Minute
		c.BodyTimeout = 300 * time.Millisecond
	})
	srv := httptest.NewServer(f.c.Handler())
	defer srv.Close()
	stop := make(chan struct{})
	defer close(stop)
	select {
	case code := <-trickle(t, srv.Listener.Addr().String(), 20*time.Millisecond, stop):
		assert.Equal(t, http.StatusRequestTimeout, code)
	case <-time.After(30 * time.Second):
		t.Fatal("the body timeout never fired")
	}
}

// TestSlowClientsAreShedFirst: with every slot held by trickling bodies, a
// well-behaved submission evicts the slowest of them and is accepted; the
// evicted one gets 408. A full house of requests past their bodies still
// answers 503 (TestOverloadAnswers503).
func TestSlowClientsAreShedFirst(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.MaxInFlight = 3
		c.ReadTimeout, c.BodyTimeout, c.RateGrace = time.Minute, time.Minute, time.Minute
		c.EvictMinAge = 50 * time.Millisecond
	})
	srv := httptest.NewServer(f.c.Handler())
	defer srv.Close()
	stop := make(chan struct{})
	var slow []<-chan int
	for range 3 {
		slow = append(slow, trickle(t, srv.Listener.Addr().String(), 200*time.Millisecond, stop))
	}
	// wait (bounded) until the three hold every slot
	for deadline := time.Now().Add(30 * time.Second); f.c.adm.inFlight() < 3; {
		require.True(t, time.Now().Before(deadline), "slow clients never got their slots")
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(2 * f.c.cfg.EvictMinAge) // past the age at which a reader's pace is judged
	for i := range 5 {
		code, text := f.submit(t, annotation("ProductName", "Good"), dump("upload_file_minidump", minidump))
		assert.Equal(t, http.StatusOK, code, "good submission %d: %s", i, text)
	}
	close(stop)
	evicted := 0
	for _, ch := range slow {
		code := <-ch
		if code == http.StatusRequestTimeout {
			evicted++
		}
		assert.NotEqual(t, http.StatusOK, code, "a slow client finished")
	}
	// each good submission needed one slot at a time: at least one slow
	// client was shed to make it, the rest were still trickling
	assert.GreaterOrEqual(t, evicted, 1, "slow clients were shed (408)")
}

// TestAnnotationMemoryBudget: when the process-wide annotation memory is
// spent, a report is refused with 503 overloaded (not parsed into more
// memory); once it is given back, the same report is accepted.
func TestAnnotationMemoryBudget(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxAnnotationsSize, c.AnnotationMemoryTotal = 1<<20, 1<<20 })
	require.True(t, f.c.annMem.take(1<<20))
	code, text := f.submit(t, annotation("ProductName", "Firefox"))
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, "Discarded=overloaded", text)
	f.c.annMem.give(1 << 20)
	code, _ = f.submit(t, annotation("ProductName", "Firefox"))
	assert.Equal(t, http.StatusOK, code)
	assert.Zero(t, f.c.annMem.used.Load(), "every request gave its annotation memory back")
}

// TestPartHeaderOverheadCapped: a part header of hundreds of KiB (the
// multipart reader would hold up to 10 MiB of it) is refused with 413.
func TestPartHeaderOverheadCapped(t *testing.T) {
	f := newFixture(t, nil)
	var b bytes.Buffer
	b.WriteString("--XyZ\r\nContent-Disposition: form-data; name=\"ProductName\"\r\nX-Pad: ")
	b.WriteString(strings.Repeat("a", 300<<10))
	b.WriteString("\r\n\r\nFirefox\r\n--XyZ--\r\n")
	code, text, _ := f.post(t, &b, int64(b.Len()), map[string]string{"Content-Type": "multipart/form-data; boundary=XyZ"})
	assert.Equal(t, http.StatusRequestEntityTooLarge, code, text)
	assert.Equal(t, "Discarded=too_large", text)
}

// TestShortContentLengthOversizeBody: Antenna's test_25mblimit case of a
// body over the size limit sent under a false, smaller Content-Length gets
// 413 Discarded=too_large (nginx counts the bytes); a short Content-Length
// on a body within the limit stays 400 (TestContentLengthRows).
func TestShortContentLengthOversizeBody(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxBodySize = 64 << 10; c.ReadTimeout = 2 * time.Second })
	srv := httptest.NewServer(f.c.Handler())
	defer srv.Close()
	big := make([]byte, 80<<10)
	for i := range big {
		big[i] = byte(i * 7)
	}
	body, ct := form(annotation("ProductName", "Firefox"), dump("upload_file_minidump", big))
	claimed := 60 << 10 // under the limit; the body is over it
	code, text := rawPost(t, srv.Listener.Addr().String(), "Content-Type: "+ct+"\r\nContent-Length: "+strconv.Itoa(claimed)+"\r\n", body, false)
	assert.Equal(t, http.StatusRequestEntityTooLarge, code, text)
	assert.Equal(t, "Discarded=too_large", text)
	f.requireNothingWritten(t)
}
