package collector

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/textproto"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crashstream/crashstream/storage/objectstore"
	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode) // no route dump per collector built
	goleak.VerifyTestMain(m)
}

var crashIDAnswer = regexp.MustCompile(`^CrashID=bp-([a-f0-9]{8}-[a-f0-9]{4}-4[a-f0-9]{3}-[89ab][a-f0-9]{3}-[a-f0-9]{6}[0-9]{6})\n$`)

// TestBadInputCatalogue has one case per collector row of the bad-input
// catalogue (reference/reliability.md §2) that the handler answers on its
// own; the rows needing a live connection or a size are in the tests below.
func TestBadInputCatalogue(t *testing.T) {
	goodBody, goodCT := form(annotation("ProductName", "Firefox"), dump("upload_file_minidump", minidump))
	type req struct {
		body    []byte
		ct      string
		headers map[string]string
		cl      int64 // 0 = len(body); -1 = unknown (chunked)
	}
	tests := []struct {
		name   string
		req    req
		status int
		body   string
	}{
		{"no content type", req{body: goodBody}, 400, "Discarded=malformed_no_content_type"},
		{"not multipart", req{body: []byte(`{"ProductName":"Firefox"}`), ct: "application/json"}, 400, "Discarded=malformed_wrong_content_type"},
		{"form-urlencoded", req{body: []byte(`ProductName=Firefox`), ct: "application/x-www-form-urlencoded"}, 400, "Discarded=malformed_wrong_content_type"},
		{"no boundary", req{body: goodBody, ct: "multipart/form-data"}, 400, "Discarded=malformed_no_boundary"},
		{"empty boundary", req{body: goodBody, ct: "multipart/form-data; boundary="}, 400, "Discarded=malformed_no_boundary"},
		{"wrong boundary", req{body: goodBody, ct: "multipart/form-data; boundary=not-the-boundary"}, 400, "Discarded=malformed_invalid_payload_structure"},
		{"junk body", req{body: []byte("this is not a multipart body at all\r\n"), ct: goodCT}, 400, "Discarded=malformed_invalid_payload_structure"},
		{"truncated body", req{body: goodBody[:len(goodBody)-40], ct: goodCT}, 400, "Discarded=malformed_invalid_payload_structure"},
		{"content length 0", req{body: nil, ct: goodCT, cl: 0}, 400, "Discarded=malformed_no_content_length"},
		{"gzip header, plain body", req{body: goodBody, ct: goodCT, headers: map[string]string{"Content-Encoding": "gzip"}}, 400, "Discarded=malformed_bad_gzip"},
		{"gzip body, no header", req{body: gz(goodBody), ct: goodCT}, 400, "Discarded=malformed_invalid_payload_structure"},
		{"truncated gzip", req{body: gz(goodBody)[:200], ct: goodCT, headers: map[string]string{"Content-Encoding": "gzip"}}, 400, "Discarded=malformed_bad_gzip"},
		{"corrupt gzip checksum", req{body: corruptCRC(gz(goodBody)), ct: goodCT, headers: map[string]string{"Content-Encoding": "gzip"}}, 400, "Discarded=malformed_bad_gzip"},
		{"no annotations", req{body: must(form(dump("upload_file_minidump", minidump))), ct: goodCT}, 400, "Discarded=malformed_no_annotations"},
		{"no parts at all", req{body: []byte("--crashstream-test-boundary--\r\n"), ct: goodCT}, 400, "Discarded=malformed_no_annotations"},
		{"bad JSON extra", req{body: must(form(part{name: "extra", contentType: "application/json", data: []byte(`{"ProductName":`)})), ct: goodCT}, 400, "Discarded=malformed_invalid_json"},
		{"JSON extra not UTF-8", req{body: must(form(part{name: "extra", contentType: "application/json", data: []byte("{\"P\":\"\xff\"}")})), ct: goodCT}, 400, "Discarded=malformed_invalid_json"},
		{"JSON extra not an object", req{body: must(form(part{name: "extra", contentType: "application/json", data: []byte(`["ProductName"]`)})), ct: goodCT}, 400, "Discarded=malformed_invalid_json_value"},
		{"JSON extra a string", req{body: must(form(part{name: "extra", contentType: "application/json", data: []byte(`"Firefox"`)})), ct: goodCT}, 400, "Discarded=malformed_invalid_json_value"},
		{"dump named dump_names", req{body: must(form(annotation("ProductName", "Firefox"), dump("dump_names", minidump))), ct: goodCT}, 400, "Discarded=malformed_invalid_dump_name"},
		{"dump named raw_crash", req{body: must(form(annotation("ProductName", "Firefox"), dump("raw_crash", minidump))), ct: goodCT}, 400, "Discarded=malformed_invalid_dump_name"},
		{"dump named processed_crash", req{body: must(form(annotation("ProductName", "Firefox"), dump("processed_crash", minidump))), ct: goodCT}, 400, "Discarded=malformed_invalid_dump_name"},
		{"dump named only punctuation", req{body: must(form(annotation("ProductName", "Firefox"), dump("../..", minidump))), ct: goodCT}, 400, "Discarded=malformed_invalid_dump_name"},
		{"uuid without bearer token", req{body: must(form(annotation("ProductName", "Firefox"), annotation("uuid", "de1bb258-cbbf-4589-a673-34f800160918"))), ct: goodCT}, 401, "Discarded=unauthorized_uuid"},
		{"uuid with a wrong token", req{body: must(form(annotation("ProductName", "Firefox"), annotation("uuid", "de1bb258-cbbf-4589-a673-34f800160918"))), ct: goodCT, headers: map[string]string{"Authorization": "Bearer not-the-right-token-at-all"}}, 401, "Discarded=unauthorized_uuid"},
		{"invalid uuid with the token", req{body: must(form(annotation("ProductName", "Firefox"), annotation("uuid", "not-a-crash-id"))), ct: goodCT, headers: map[string]string{"Authorization": "Bearer " + testToken}}, 400, "Discarded=malformed_invalid_uuid"},
		{"uuid with throttle digit 3", req{body: must(form(annotation("ProductName", "Firefox"), annotation("uuid", "de1bb258-cbbf-4589-a673-34f803160918"))), ct: goodCT, headers: map[string]string{"Authorization": "Bearer " + testToken}}, 400, "Discarded=malformed_invalid_uuid"},
		{"body over the limit by header", req{body: goodBody, ct: goodCT, cl: 25<<20 + 1}, 413, "Discarded=too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.SubmitterToken = testToken })
			h := map[string]string{}
			if tt.req.ct != "" {
				h["Content-Type"] = tt.req.ct
			}
			for k, v := range tt.req.headers {
				h[k] = v
			}
			cl := tt.req.cl
			if cl == 0 {
				cl = int64(len(tt.req.body))
			}
			code, body, _ := f.post(t, bytes.NewReader(tt.req.body), cl, h)
			assert.Equal(t, tt.status, code)
			assert.Equal(t, tt.body, body)
			f.requireNothingWritten(t)
			outcome := strings.TrimPrefix(tt.body, "Discarded=")
			assert.Equal(t, 1.0, testutil.ToFloat64(f.c.m.requests.WithLabelValues(outcome)), "counted by reason")
		})
	}
}

const testToken = "a-submitter-token-of-some-length"

func must(b []byte, _ string) []byte { return b }

func corruptCRC(b []byte) []byte {
	c := append([]byte(nil), b...)
	c[len(c)-8] ^= 0xff
	return c
}

// TestAcceptedRows covers the catalogue rows that Antenna accepts: each
// gets a CrashID, with the documented notes.
func TestAcceptedRows(t *testing.T) {
	tests := []struct {
		name      string
		parts     []part
		wantAnn   map[string]string
		noAnn     []string
		wantNotes []string
		wantDumps []string
	}{
		{
			name:      "non-UTF-8 annotation dropped with a note",
			parts:     []part{annotation("ProductName", "Firefox"), annotation("Bad", "caf\xe9")},
			wantAnn:   map[string]string{"ProductName": "Firefox"},
			noAnn:     []string{"Bad"},
			wantNotes: []string{"Dropped annotation Bad: value is not UTF-8."},
			wantDumps: []string{},
		},
		{
			name: "JSON and form annotations merged with a note",
			parts: []part{annotation("Version", "120.0"),
				{name: "extra", contentType: "application/json", data: []byte(`{"ProductName":"Firefox","BuildID":20240101000000,"Nested":{"a":1},"Gone":null}`)}},
			wantAnn:   map[string]string{"ProductName": "Firefox", "Version": "120.0", "BuildID": "20240101000000", "Nested": `{"a":1}`},
			noAnn:     []string{"Gone"},
			wantNotes: []string{"Annotation BuildID was not a string; kept its JSON text.", "Dropped annotation Gone: null.", "Annotation Nested was not a string; kept its JSON text.", "Crash report has both a JSON part and key/value annotations; merged in part order."},
			wantDumps: []string{},
		},
		{
			name: "Email and telemetry ids stripped with notes",
			parts: []part{annotation("ProductName", "Firefox"), annotation("Email", "a@example.com"), annotation("TelemetryClientId", "x"),
				annotation("TelemetryServerURL", "https://t"), annotation("TelemetrySessionId", "s"), annotation("metadata", "spoof")},
			wantAnn: map[string]string{"ProductName": "Firefox"},
			noAnn:   []string{"Email", "TelemetryClientId", "TelemetryServerURL", "TelemetrySessionId"},
			wantNotes: []string{"Removed Email from raw crash.", "Removed TelemetryClientId from raw crash.", "Removed TelemetryServerURL from raw crash.",
				"Removed TelemetrySessionId from raw crash.", "Removed reserved field metadata sent by the client."},
			wantDumps: []string{},
		},
		{
			name:      "missing minidump accepted",
			parts:     []part{annotation("ProductName", "Firefox")},
			wantAnn:   map[string]string{"ProductName": "Firefox"},
			wantDumps: []string{},
		},
		{
			name:      "dump without MDMP magic accepted (the processor notes it)",
			parts:     []part{annotation("ProductName", "Unreal"), dump("upload_file_minidump", []byte{0xef, 0xbe, 0xad, 0xde})},
			wantAnn:   map[string]string{"ProductName": "Unreal"},
			wantDumps: []string{"upload_file_minidump"},
		},
		{
			name: "dump names sanitized and cut at 30, text dump noted, nameless part dropped",
			parts: []part{annotation("ProductName", "Firefox"),
				{name: "memory-report.json.gz!", filename: "m", contentType: "text/plain", data: []byte("x")},
				dump("upload_file_minidump_browser_with_a_very_long_name", minidump),
				{header: textproto.MIMEHeader{"Content-Disposition": {"form-data"}}, data: []byte("junk")}},
			wantAnn:   map[string]string{"ProductName": "Firefox"},
			wantNotes: []string{"Dropped a part without a name.", `Dump memoryreportjsongz has content type "text/plain".`},
			wantDumps: []string{"memoryreportjsongz", "upload_file_minidump_browser_w"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			code, body := f.submit(t, tt.parts...)
			require.Equal(t, 200, code, body)
			m := crashIDAnswer.FindStringSubmatch(body)
			require.NotNil(t, m, body)
			id := m[1]
			raw := f.rawCrash(t, id)
			for k, v := range tt.wantAnn {
				assert.Equal(t, v, raw[k], k)
			}
			for _, k := range tt.noAnn {
				assert.NotContains(t, raw, k)
			}
			meta := raw["metadata"].(map[string]any)
			notes := []string{}
			for _, n := range meta["collector_notes"].([]any) {
				notes = append(notes, n.(string))
			}
			if tt.wantNotes != nil {
				assert.ElementsMatch(t, tt.wantNotes, notes)
			}
			var names []string
			require.NoError(t, json.Unmarshal(f.store.get("v1/dump_names/"+id), &names))
			assert.ElementsMatch(t, tt.wantDumps, names)
			require.Len(t, f.pub.published(), 1)
		})
	}
}

func (f *fixture) rawCrash(t *testing.T, id string) map[string]any {
	t.Helper()
	key, err := objectstore.RawCrashKey(id)
	require.NoError(t, err)
	data := f.store.get(key)
	require.NotNil(t, data, "raw crash %s", key)
	var raw map[string]any
	require.NoError(t, json.Unmarshal(data, &raw))
	return raw
}

// TestAcceptedCrash checks every object and the event of a two-dump crash,
// plain and gzipped.
func TestAcceptedCrash(t *testing.T) {
	browser := bytes.Repeat([]byte("browser dump "), 1000)
	for _, gzipped := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "gzip"}[gzipped], func(t *testing.T) {
			f := newFixture(t, nil)
			fixed := time.Date(2026, 11, 22, 23, 59, 58, 123456000, time.UTC)
			f.c.now = func() time.Time { return fixed }
			body, ct := form(annotation("ProductName", "Firefox"), annotation("Version", "147.0"),
				annotation("ReleaseChannel", "nightly"), annotation("ProcessType", "content"),
				dump("upload_file_minidump", minidump), dump("upload_file_minidump_browser", browser))
			h := map[string]string{"Content-Type": ct, "User-Agent": "Breakpad/1.0 (Linux)"}
			sent := body
			if gzipped {
				sent = gz(body)
				h["Content-Encoding"] = "gzip"
			}
			code, text, _ := f.post(t, bytes.NewReader(sent), int64(len(sent)), h)
			require.Equal(t, 200, code, text)
			m := crashIDAnswer.FindStringSubmatch(text)
			require.NotNil(t, m, text)
			id := m[1]
			assert.Equal(t, "0261122", id[len(id)-7:], "throttle digit 0 then yymmdd")

			assert.Equal(t, []string{
				"v1/dump/" + id,
				"v1/dump_names/" + id,
				"v1/raw_crash/20261122/" + id,
				"v1/upload_file_minidump_browser/" + id,
			}, f.store.keys())
			assert.Equal(t, minidump, f.store.get("v1/dump/"+id))
			assert.Equal(t, browser, f.store.get("v1/upload_file_minidump_browser/"+id))
			assert.JSONEq(t, `["upload_file_minidump","upload_file_minidump_browser"]`, string(f.store.get("v1/dump_names/"+id)))

			sum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
			compressed := map[bool]string{false: "0", true: "1"}[gzipped]
			want := `{
				"ProductName": "Firefox", "Version": "147.0", "ReleaseChannel": "nightly", "ProcessType": "content",
				"metadata": {
					"collector_notes": [],
					"dump_checksums": {"upload_file_minidump": "` + sum(minidump) + `", "upload_file_minidump_browser": "` + sum(browser) + `"},
					"payload": "multipart",
					"payload_compressed": "` + compressed + `",
					"payload_size": ` + jsonInt(len(body)) + `,
					"throttle_rule": "accept_everything",
					"user_agent": "Breakpad/1.0 (Linux)"
				},
				"submitted_timestamp": "2026-11-22T23:59:58.123456+00:00",
				"uuid": "` + id + `",
				"version": 2
			}`
			raw := f.store.get("v1/raw_crash/20261122/" + id)
			assert.JSONEq(t, want, string(raw))
			assert.True(t, bytes.HasPrefix(raw, []byte(`{"ProcessType":`)), "keys sorted")

			evs := f.pub.published()
			require.Len(t, evs, 1)
			ev := evs[0]
			assert.Equal(t, id, ev.CrashID)
			assert.Equal(t, fixed, ev.SubmittedTimestamp)
			assert.Equal(t, "Firefox", ev.Product)
			assert.Equal(t, "147.0", ev.Version)
			assert.Equal(t, "nightly", ev.ReleaseChannel)
			assert.Equal(t, "content", ev.ProcessType)
			assert.Equal(t, "accept_everything", ev.ThrottleRule)
			assert.Equal(t, "v1/raw_crash/20261122/"+id, ev.RawCrashKey)
			require.Len(t, ev.Dumps, 2)
			assert.Equal(t, "upload_file_minidump", ev.Dumps[0].Name)
			assert.Equal(t, int64(len(minidump)), ev.Dumps[0].Size)
			assert.Equal(t, sum(minidump), ev.Dumps[0].SHA256)
			assert.Equal(t, 1.0, testutil.ToFloat64(f.c.m.requests.WithLabelValues("accepted")))
		})
	}
}

func jsonInt(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestJSONOnlyPayload(t *testing.T) {
	f := newFixture(t, nil)
	code, body := f.submit(t, part{name: "extra", contentType: "application/json", data: []byte(`{"ProductName":"Fenix","Version":"1"}`)},
		dump("upload_file_minidump", minidump))
	require.Equal(t, 200, code, body)
	raw := f.rawCrash(t, crashIDAnswer.FindStringSubmatch(body)[1])
	assert.Equal(t, "json", raw["metadata"].(map[string]any)["payload"])
	assert.Equal(t, "Fenix", raw["ProductName"])
}

func TestMultipartMixed(t *testing.T) {
	f := newFixture(t, nil)
	body, ct := form(annotation("ProductName", "Electron"), dump("upload_file_minidump", minidump))
	ct = strings.Replace(ct, "multipart/form-data", "multipart/mixed", 1)
	code, text, _ := f.post(t, bytes.NewReader(body), int64(len(body)), map[string]string{"Content-Type": ct})
	require.Equal(t, 200, code, text)
}

func TestDuplicateSubmissionGetsNewID(t *testing.T) {
	f := newFixture(t, nil)
	parts := []part{annotation("ProductName", "Firefox"), dump("upload_file_minidump", minidump)}
	_, a := f.submit(t, parts...)
	_, b := f.submit(t, parts...)
	require.Regexp(t, crashIDAnswer, a)
	require.Regexp(t, crashIDAnswer, b)
	assert.NotEqual(t, a, b, "no deduplication: a retry is a new crash")
	assert.Len(t, f.pub.published(), 2)
}

func TestClientChosenCrashID(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.SubmitterToken = testToken })
	const id = "de1bb258-cbbf-4589-a673-34f800160918"
	body, ct := form(annotation("ProductName", "Firefox"), annotation("uuid", id))
	code, text, _ := f.post(t, bytes.NewReader(body), int64(len(body)), map[string]string{"Content-Type": ct, "Authorization": "Bearer " + testToken})
	require.Equal(t, 200, code, text)
	assert.Equal(t, "CrashID=bp-"+id+"\n", text)
	assert.NotNil(t, f.store.get("v1/raw_crash/20160918/"+id))
}

func TestThrottledAnswers(t *testing.T) {
	rules := writeRules(t, "rules.yaml", `
rules:
  - {name: b2g, key: ProductName, when: {equals: B2G}, result: fakeaccept}
  - {name: only_firefox, key: ProductName, when: {equals: Firefox}, result: accept}
  - {name: deferred, key: ProductName, when: {equals: Later}, result: defer}
`)
	f := newFixture(t, func(c *Config) { c.RulesFile = rules })

	code, body := f.submit(t, annotation("ProductName", "Thunderbird"))
	assert.Equal(t, 200, code)
	assert.Equal(t, "Discarded=rule_NO_MATCH", body)
	code, body = f.submit(t, annotation("ProductName", "B2G"))
	assert.Equal(t, 200, code)
	m := crashIDAnswer.FindStringSubmatch(body)
	require.NotNil(t, m, body)
	assert.Equal(t, byte('3'), m[1][len(m[1])-7], "FAKEACCEPT digit")
	f.requireNothingWritten(t)

	code, body = f.submit(t, annotation("ProductName", "Later"))
	assert.Equal(t, 200, code)
	m = crashIDAnswer.FindStringSubmatch(body)
	require.NotNil(t, m, body)
	assert.Equal(t, byte('1'), m[1][len(m[1])-7], "DEFER digit")
	assert.Len(t, f.pub.published(), 1, "deferred crashes are stored and announced too")
	assert.Equal(t, 1.0, testutil.ToFloat64(f.c.m.throttled.WithLabelValues("NO_MATCH", "reject")))
}

func TestOverloadAnswers503(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxInFlight = 2 })
	// two requests past their bodies (storing): never evicted
	a, b := f.c.adm.admit(0), f.c.adm.admit(0)
	a.reading.Store(false)
	b.reading.Store(false)
	body, ct := form(annotation("ProductName", "Firefox"))
	code, text, h := f.post(t, bytes.NewReader(body), int64(len(body)), map[string]string{"Content-Type": ct})
	assert.Equal(t, 503, code)
	assert.Equal(t, "Discarded=overloaded", text)
	assert.Equal(t, "30", h.Get("Retry-After"))
	f.requireNothingWritten(t)
	f.c.adm.release(a)
	code, _ = f.submit(t, annotation("ProductName", "Firefox"))
	assert.Equal(t, 200, code, "a slot freed: accepted again")
}

func TestStorageDownAnswers503AndLeavesNoRawCrash(t *testing.T) {
	f := newFixture(t, nil)
	// Dumps and dump names get through; the raw crash never does.
	f.store.setFail(func(key string) error {
		if strings.HasPrefix(key, "v1/raw_crash/") {
			return errDown
		}
		return nil
	})
	code, text := f.submit(t, annotation("ProductName", "Firefox"), dump("upload_file_minidump", minidump))
	assert.Equal(t, 503, code)
	assert.Equal(t, "Discarded=storage_unavailable", text)
	assert.Empty(t, f.store.keys(), "the dumps written before the failure are removed")
	assert.Empty(t, f.pub.published())
	assert.Equal(t, 2.0, testutil.ToFloat64(f.c.m.storeRetries), "3 attempts at the raw crash")

	// The store recovers: the client's retry succeeds.
	f.store.setFail(nil)
	code, text = f.submit(t, annotation("ProductName", "Firefox"), dump("upload_file_minidump", minidump))
	require.Equal(t, 200, code, text)
	assert.Len(t, f.store.keys(), 3)
}

func TestStorageTransientFailureRetried(t *testing.T) {
	f := newFixture(t, nil)
	fails := 2
	f.store.setFail(func(key string) error {
		if strings.HasPrefix(key, "v1/dump/") && fails > 0 {
			fails--
			return errDown
		}
		return nil
	})
	code, text := f.submit(t, annotation("ProductName", "Firefox"), dump("upload_file_minidump", minidump))
	require.Equal(t, 200, code, text)
	id := crashIDAnswer.FindStringSubmatch(text)[1]
	assert.Equal(t, minidump, f.store.get("v1/dump/"+id), "the retried PUT re-read the dump from the start")
}

func TestPublishFailureStillAnswersCrashIDAndRetries(t *testing.T) {
	f := newFixture(t, nil)
	f.pub.setErr(errDown)
	code, text := f.submit(t, annotation("ProductName", "Firefox"), dump("upload_file_minidump", minidump))
	require.Equal(t, 200, code, text)
	id := crashIDAnswer.FindStringSubmatch(text)[1]
	raw, err := objectstore.RawCrashKey(id)
	require.NoError(t, err)
	assert.NotNil(t, f.store.get(raw), "stored: verify-processed can find it")
	assert.Equal(t, 1, len(f.c.mover.retry))

	// While the queue is non-empty, later crashes queue without waiting.
	code, _ = f.submit(t, annotation("ProductName", "Firefox"))
	require.Equal(t, 200, code)
	assert.Equal(t, 2, len(f.c.mover.retry))
	assert.Equal(t, 2.0, testutil.ToFloat64(f.c.m.publishFailures))

	// The broker comes back: the republisher announces both.
	f.pub.setErr(nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- f.c.Run(ctx) }()
	<-f.pub.notify
	<-f.pub.notify
	cancel()
	require.NoError(t, <-done)
	evs := f.pub.published()
	require.Len(t, evs, 2)
	assert.Equal(t, id, evs[0].CrashID)
	assert.Equal(t, 2.0, testutil.ToFloat64(f.c.m.republished))
}

func TestRepublishQueueFullCounts(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.RepublishQueue = 1 })
	f.pub.setErr(errDown)
	for range 3 {
		code, _ := f.submit(t, annotation("ProductName", "Firefox"))
		require.Equal(t, 200, code)
	}
	assert.Equal(t, 2.0, testutil.ToFloat64(f.c.m.republishDropped))
}

func TestMetricsRegistered(t *testing.T) {
	f := newFixture(t, nil)
	f.submit(t, annotation("ProductName", "Firefox"))
	n, err := testutil.GatherAndCount(f.reg)
	require.NoError(t, err)
	assert.Greater(t, n, 5)
	assert.Equal(t, 1, testutil.CollectAndCount(f.c.m.duration))
}

func TestConfigValidate(t *testing.T) {
	require.NoError(t, DefaultConfig().Validate())
	tests := []struct {
		flag string
		mut  func(*Config)
	}{
		{"-collector.addr", func(c *Config) { c.Addr = "8000" }},
		{"-collector.max-body-size", func(c *Config) { c.MaxBodySize = 0 }},
		{"-collector.max-in-flight", func(c *Config) { c.MaxInFlight = -1 }},
		{"-collector.max-annotations-size", func(c *Config) { c.MaxAnnotationsSize = c.MaxPayloadSize + 1 }},
		{"-collector.spool-dir", func(c *Config) { c.SpoolDir = "/does/not/exist" }},
		{"-collector.throttle-rules", func(c *Config) { c.RulesFile = "/does/not/exist.yaml" }},
		{"-collector.submitter-token", func(c *Config) { c.SubmitterToken = "short" }},
		{"-collector.store-backoff", func(c *Config) { c.StoreBackoff = -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.flag, func(t *testing.T) {
			c := DefaultConfig()
			tt.mut(&c)
			assert.ErrorContains(t, c.Validate(), tt.flag)
		})
	}
}
