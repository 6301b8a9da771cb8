package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/services/lib/auth"
	"github.com/crashstream/crashstream/services/lib/repotest"
	"github.com/crashstream/crashstream/storage/clickhouse"
	"github.com/crashstream/crashstream/tests/internal/realworld"
	"github.com/crashstream/crashstream/tests/internal/stacktest"
)

// cst runs one of Mozilla's crashstats-tools commands (installed by
// tests/crashstatstools/install.sh, which `make oracles` runs) with token
// as CRASHSTATS_API_TOKEN ("" for none), and returns its stdout, stderr
// and whether it exited 0.
func cst(t *testing.T, dir, token, tool string, args ...string) (string, string, bool) {
	t.Helper()
	bin := filepath.Join(repotest.Root(t), ".stack", "venv-cst", "bin", tool)
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("crashstats-tools is not installed (%v): run make oracles", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir // no stray .env is read
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "COLUMNS=10000", "TERM=dumb", "CRASHSTATS_API_TOKEN="+token)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit, "%s: %s", tool, errb.String())
	}
	return out.String(), errb.String(), err == nil
}

// tabRows parses crashstats-tools' --format=tab --no-headers output.
func tabRows(out string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if line != "" {
			rows = append(rows, strings.Split(line, "\t"))
		}
	}
	return rows
}

// cstCrash is what the test submitted for one crash.
type cstCrash struct {
	id, version, channel, build string
	dump                        []byte
}

// bulkCrash is one of the crashes written straight into ClickHouse so
// that --num=all has to page (crashstats-tools asks 1000 per page).
type bulkCrash struct {
	id, version, channel string
	build                int64
	day                  string
}

// TestCrashstatsTools points Mozilla's crashstats-tools at crashstream, as a
// Crash Stats user would with --host: supersearch (filters, Socorro's field
// names as columns, every date form, --num=all over two pages),
// supersearchfacet (facets, a date histogram split by a field, cardinality,
// nested aggregations), fetch-data (raw, processed and dumps with a token
// that may, refused without) and reprocess (with a token, refused
// without). Crashes go through the real collector, processor and sinks; the
// paging set is written through the ClickHouse sink's writer. Every output
// is compared with what the test put in.
func TestCrashstatsTools(t *testing.T) {
	e := newEnv(t)
	td := sharedTestdata(t)
	dir := t.TempDir()
	collector, base := e.pipeline("CRASHSTREAM_WEBAPP_RATELIMIT_SEARCH_ANONYMOUS=100000", "CRASHSTREAM_WEBAPP_RATELIMIT_SEARCH_TOKEN=100000",
		"CRASHSTREAM_WEBAPP_RATELIMIT_API_ANONYMOUS=100000", "CRASHSTREAM_WEBAPP_RATELIMIT_API_TOKEN=100000")
	full := e.token("cst-full", time.Hour, auth.ViewPII, auth.ViewRawDump, auth.ReprocessCrashes)
	piiOnly := e.token("cst-pii", time.Hour, auth.ViewPII)
	plain := e.token("cst-plain", time.Hour)

	// --- crashes through the real pipeline
	start := time.Now().UTC().Add(-2 * time.Second).Truncate(time.Second)
	var crashes []cstCrash
	byID := map[string]cstCrash{}
	for i, name := range []string{"linux_null_read_av.dmp", "null_read_av.dmp", "linux_overflow.dmp", "write_av_non_null.dmp", "read_av_non_null.dmp", "linux_raise_sigabrt.dmp"} {
		dump, err := os.ReadFile(filepath.Join(td, "breakpad", name))
		require.NoError(t, err)
		c := cstCrash{version: fmt.Sprintf("%d.0", 1+i%2), channel: map[bool]string{true: "beta", false: "release"}[i < 2],
			build: fmt.Sprintf("2026110100000%d", i%3), dump: dump}
		c.id = stacktest.Submit(t, collector, map[string]string{"ProductName": "CstApp", "Version": c.version,
			"ReleaseChannel": c.channel, "BuildID": c.build, "URL": fmt.Sprintf("https://cst-secret.example/%d", i)}, dump)
		crashes = append(crashes, c)
		byID[c.id] = c
	}
	end := time.Now().UTC().Add(2 * time.Second).Truncate(time.Second)
	require.True(t, waitFor(180*time.Second, func() bool {
		r := call(t, "GET", base+"/api/SuperSearch/?product=CstApp&_results_number=0&_facets_size=0", plain, nil)
		var res struct{ Total int }
		r.json(t, &res)
		return res.Total == len(crashes)
	}), "the pipeline's crashes reach Super Search")
	for _, c := range crashes {
		require.True(t, waitFor(60*time.Second, func() bool { _, ok := processedCrash(t, base, "", c.id); return ok }), c.id)
	}

	// --- the paging set, through the ClickHouse sink's writer
	bulk := writeBulk(t, e, 1030)

	// --- the shared real-world data set: its reports through the pipeline,
	// its stored crashes as the sinks write them
	rw, rwIDs := loadRealWorld(t, e, collector, base)

	t.Run("supersearch columns and filters", func(t *testing.T) {
		out, stderr, ok := cst(t, dir, "", "supersearch", "--host="+base, "--product=CstApp", "--_columns=uuid", "--_columns=version",
			"--_columns=build_id", "--_columns=release_channel", "--_columns=platform", "--_columns=date", "--format=tab", "--no-headers")
		require.True(t, ok, stderr)
		rows := tabRows(out)
		require.Len(t, rows, len(crashes), out)
		for _, r := range rows {
			require.Len(t, r, 6, out)
			c, known := byID[r[0]]
			require.True(t, known, "unknown crash %s", r[0])
			assert.Equal(t, []string{c.version, c.build, c.channel}, r[1:4], r[0])
			assert.NotEmpty(t, r[4], "platform (os_name) from the dump")
			assert.True(t, strings.HasPrefix(r[5], start.Format("2006-01-02")) || strings.HasPrefix(r[5], end.Format("2006-01-02")), r[5])
		}
		want := func(pred func(cstCrash) bool) []string {
			var ids []string
			for _, c := range crashes {
				if pred(c) {
					ids = append(ids, c.id)
				}
			}
			sort.Strings(ids)
			return ids
		}
		for _, tc := range []struct {
			args []string
			want []string
		}{
			{[]string{"--release_channel=beta"}, want(func(c cstCrash) bool { return c.channel == "beta" })},
			{[]string{"--release_channel=!beta"}, want(func(c cstCrash) bool { return c.channel != "beta" })},
			{[]string{"--version=2.0", "--build_id=20261101000001"}, want(func(c cstCrash) bool { return c.version == "2.0" && c.build == "20261101000001" })},
			{[]string{"--build_id=>=20261101000001"}, want(func(c cstCrash) bool { return c.build >= "20261101000001" })},
			{[]string{"--platform=__null__"}, nil},
		} {
			ids := cstIDs(t, dir, "", append([]string{"--host=" + base, "--product=CstApp"}, tc.args...)...)
			assert.Equal(t, tc.want, ids, "%v", tc.args)
		}
	})

	t.Run("supersearch date forms", func(t *testing.T) {
		all := make([]string, 0, len(crashes))
		for _, c := range crashes {
			all = append(all, c.id)
		}
		sort.Strings(all)
		lo, hi := start.Add(-time.Minute), end.Add(time.Minute)
		for _, form := range []struct{ name, lo, hi string }{
			{"day", lo.Add(-24 * time.Hour).Format("2006-01-02"), hi.Add(24 * time.Hour).Format("2006-01-02")},
			{"space", lo.Format("2006-01-02 15:04:05"), hi.Format("2006-01-02 15:04:05")},
			{"T", lo.Format("2006-01-02T15:04:05"), hi.Format("2006-01-02T15:04:05")},
			{"Z", lo.Format("2006-01-02T15:04:05Z"), hi.Format("2006-01-02T15:04:05Z")},
			{"offset", lo.In(time.FixedZone("", 2*3600)).Format("2006-01-02T15:04:05-07:00"), hi.Format("2006-01-02T15:04:05+00:00")},
			{"fraction", lo.Format("2006-01-02 15:04:05.000000"), hi.Format("2006-01-02T15:04:05.000000Z")},
		} {
			ids := cstIDs(t, dir, "", "--host="+base, "--product=CstApp", "--date=>="+form.lo, "--date=<"+form.hi)
			assert.Equal(t, all, ids, form.name)
		}
		before := start.Add(-time.Hour)
		assert.Empty(t, cstIDs(t, dir, "", "--host="+base, "--product=CstApp", "--date=>="+before.Add(-time.Hour).Format("2006-01-02 15:04:05"),
			"--date=<"+before.Format("2006-01-02 15:04:05")), "a window before the crashes is empty")
	})

	t.Run("supersearch num=all pages", func(t *testing.T) {
		ids := cstIDs(t, dir, plain, "--host="+base, "--product=CstBulk", "--num=all")
		want := make([]string, 0, len(bulk))
		for _, b := range bulk {
			want = append(want, b.id)
		}
		sort.Strings(want)
		assert.Equal(t, want, ids, "every crash once, over two pages of 1000")
	})

	t.Run("supersearch protected column", func(t *testing.T) {
		for _, tok := range []string{"", piiOnly} {
			out, stderr, ok := cst(t, dir, tok, "supersearch", "--host="+base, "--product=CstApp", "--_columns=uuid", "--_columns=url", "--format=tab")
			assert.False(t, ok, "url is left out of SuperSearch's hits, so the tool says it has no data")
			assert.Contains(t, stderr, "url: no data")
			assert.NotContains(t, out+stderr, "cst-secret")
		}
	})

	t.Run("supersearchfacet", func(t *testing.T) {
		// crashstats-tools adds a "total" row to every terms table
		versions, days, pairs := map[string]float64{}, map[string]map[string]float64{}, map[string]float64{"total": float64(len(bulk))}
		builds := map[string]map[int64]bool{}
		for _, b := range bulk {
			versions[b.version]++
			if days[b.day] == nil {
				days[b.day] = map[string]float64{}
			}
			days[b.day][b.version]++
			days[b.day]["total"]++
			pairs["CstBulk / "+b.version+" / "+b.channel]++
			if builds[b.version] == nil {
				builds[b.version] = map[int64]bool{}
			}
			builds[b.version][b.build] = true
		}
		facet := func(args ...string) map[string]json.RawMessage {
			t.Helper()
			out, stderr, ok := cst(t, dir, "", "supersearchfacet", append([]string{"--host=" + base, "--product=CstBulk", "--format=json"}, args...)...)
			require.True(t, ok, stderr)
			var m map[string]json.RawMessage
			require.NoError(t, json.Unmarshal([]byte(out), &m), out)
			return m
		}
		type rec = map[string]any
		var recs []rec
		require.NoError(t, json.Unmarshal(facet("--_facets=version")["version"], &recs))
		got := map[string]float64{}
		for _, r := range recs {
			got[r["version"].(string)] = r["count"].(float64)
		}
		wantV := map[string]float64{"total": float64(len(bulk))}
		for k, v := range versions {
			wantV[k] = v
		}
		assert.Equal(t, wantV, got, "facet counts")

		require.NoError(t, json.Unmarshal(facet("--_facets=_cardinality.build_id")["cardinality_build_id"], &recs))
		require.Len(t, recs, 1)
		assert.Equal(t, float64(5), recs[0]["value"], "distinct build ids")

		var hist map[string][]rec
		require.NoError(t, json.Unmarshal(facet("--_histogram.date=version")["histogram_date"], &hist))
		gotDays := map[string]map[string]float64{}
		for _, r := range hist["version"] {
			day := r["histogram_date"].(string)
			gotDays[day] = map[string]float64{}
			for k, v := range r {
				if k != "histogram_date" && v.(float64) > 0 {
					gotDays[day][k] = v.(float64)
				}
			}
		}
		assert.Equal(t, days, gotDays, "per-day counts split by version, days as YYYY-MM-DD")

		m := facet("--_aggs.product.version=release_channel", "--_aggs.version=_cardinality.build_id")
		require.NoError(t, json.Unmarshal(m["product / version / release_channel"], &recs))
		gotPairs := map[string]float64{}
		for _, r := range recs {
			gotPairs[r["product / version / release_channel"].(string)] = r["count"].(float64)
		}
		assert.Equal(t, pairs, gotPairs, "three nested levels")
		require.NoError(t, json.Unmarshal(m["version / cardinality_build_id"], &recs))
		gotCard := map[string]float64{}
		for _, r := range recs {
			gotCard[r["version / cardinality_build_id"].(string)] = r["count"].(float64)
		}
		wantCard := map[string]float64{"total": float64(len(bulk))}
		for v, bs := range builds {
			wantCard[v+" / value"] = float64(len(bs))
		}
		assert.Equal(t, wantCard, gotCard, "cardinality per version")
	})

	t.Run("real-world data set", func(t *testing.T) {
		from := "--date=>=" + rw.Now.AddDate(0, 0, -10).Format("2006-01-02")
		// every Firefox crash of the last 10 days, with its signature: the
		// stored ones must come back byte for byte (255 multi-byte chars,
		// scripts, emoji, HTML and URL metacharacters)
		out, stderr, ok := cst(t, dir, "", "supersearch", "--host="+base, "--product="+realworld.Firefox, from, "--num=all",
			"--_columns=uuid", "--_columns=signature", "--format=tab", "--no-headers")
		require.True(t, ok, stderr)
		got := map[string]string{}
		for _, r := range tabRows(out) {
			require.Len(t, r, 2, out)
			got[r[0]] = r[1]
		}
		want := map[string]bool{}
		for id, sub := range rwIDs {
			if sub.Annotations["ProductName"] == realworld.Firefox {
				want[id] = true
			}
		}
		noInstall := []string{}
		for id, sub := range rwIDs {
			if _, has := sub.Annotations["InstallTime"]; !has && want[id] {
				noInstall = append(noInstall, id)
			}
		}
		for _, c := range rw.Stored {
			if c.Product != realworld.Firefox || c.SubmittedTimestamp.Before(rw.Now.AddDate(0, 0, -10)) {
				continue
			}
			want[c.CrashID] = true
			assert.Equal(t, c.Signature, got[c.CrashID], "stored signature of %s", c.CrashID)
			if c.InstallTime == nil {
				noInstall = append(noInstall, c.CrashID)
			}
		}
		gotIDs := map[string]bool{}
		for id := range got {
			gotIDs[id] = true
		}
		assert.Equal(t, want, gotIDs, "every Firefox crash once")
		// a crash without InstallTime is __null__, and matches a negation
		sort.Strings(noInstall)
		assert.Equal(t, noInstall, cstIDs(t, dir, "", "--host="+base, "--product="+realworld.Firefox, from, "--install_time=__null__"))
		assert.Len(t, cstIDs(t, dir, "", "--host="+base, "--product="+realworld.Firefox, from, "--install_time=!1"), len(want),
			"no crash has install_time 1, and those without one match the negation too")
		// facets over the set
		fout, stderr, ok := cst(t, dir, "", "supersearchfacet", "--host="+base, "--product="+realworld.Firefox, "--_facets=signature",
			"--relative-range=10d", "--format=json")
		require.True(t, ok, stderr)
		var facets map[string][]map[string]any
		require.NoError(t, json.Unmarshal([]byte(fout), &facets), fout)
		counts := map[string]float64{}
		for _, r := range facets["signature"] {
			counts[r["signature"].(string)] = r["count"].(float64)
		}
		assert.Equal(t, float64(2), counts[realworld.NonASCIISignature])
		assert.Equal(t, float64(1), counts[realworld.LongSignature])
		assert.Equal(t, float64(2), counts[realworld.PreviousOnlySignature])
		assert.Equal(t, float64(len(want)), counts["total"])
		for _, product := range []string{realworld.Solo, realworld.Fenix, realworld.Thunderbird} {
			assert.Len(t, cstIDs(t, dir, "", "--host="+base, "--product="+product), 1, product)
		}
	})

	t.Run("fetch-data", func(t *testing.T) {
		c := crashes[1]
		out := filepath.Join(dir, "full")
		_, stderr, ok := cst(t, dir, full, "fetch-data", "--host="+base, "--raw", "--processed", "--dumps", out, c.id)
		require.True(t, ok, stderr)
		raw := readJSON(t, filepath.Join(out, "raw_crash", "20"+c.id[len(c.id)-6:], c.id))
		assert.Equal(t, "CstApp", raw["ProductName"])
		assert.Equal(t, "https://cst-secret.example/1", raw["URL"], "view_pii sees the protected annotation")
		proc := readJSON(t, filepath.Join(out, "processed_crash", c.id))
		assert.Equal(t, c.id, proc["uuid"])
		assert.Equal(t, c.build, fmt.Sprint(proc["build"]))
		assert.Equal(t, searchSignature(t, base, "", c.id), proc["signature"])
		dump, err := os.ReadFile(filepath.Join(out, "upload_file_minidump", c.id))
		require.NoError(t, err)
		assert.Equal(t, c.dump, dump, "the dump as submitted")

		// anonymous: redacted, and the tool itself refuses --dumps
		anon := filepath.Join(dir, "anon")
		_, stderr, ok = cst(t, dir, "", "fetch-data", "--host="+base, "--raw", "--processed", anon, c.id)
		require.True(t, ok, stderr)
		raw = readJSON(t, filepath.Join(anon, "raw_crash", "20"+c.id[len(c.id)-6:], c.id))
		assert.Equal(t, "CstApp", raw["ProductName"])
		assert.NotContains(t, raw, "URL")
		proc = readJSON(t, filepath.Join(anon, "processed_crash", c.id))
		assert.NotContains(t, proc, "url")
		_, _, ok = cst(t, dir, "", "fetch-data", "--host="+base, "--dumps", filepath.Join(dir, "anon-dumps"), c.id)
		assert.False(t, ok)
		// a token without view_rawdump: the server refuses the dump (403)
		nodump := filepath.Join(dir, "nodump")
		_, stderr, ok = cst(t, dir, piiOnly, "fetch-data", "--host="+base, "--raw", "--dumps", nodump, c.id)
		assert.False(t, ok)
		assert.Contains(t, stderr, "403")
		assert.NoFileExists(t, filepath.Join(nodump, "upload_file_minidump", c.id))
	})

	t.Run("NoOp, VersionString, CrashSignature", func(t *testing.T) {
		r := call(t, "GET", base+"/api/NoOp/?product=CstApp", "", nil)
		assert.Equal(t, 200, r.code)
		assert.JSONEq(t, `{"hits": [], "total": 0}`, string(r.body))
		assert.Equal(t, 400, call(t, "GET", base+"/api/NoOp/?product=bad", "", nil).code)
		// crashes 2 and 5 are release builds ...2, versions 1.0 and 2.0
		r = call(t, "GET", base+"/api/VersionString/?product=CstApp&channel=Release&build_id="+crashes[2].build, "", nil)
		require.Equal(t, 200, r.code, string(r.body))
		assert.JSONEq(t, `{"hits": [{"version_string": "1.0"}, {"version_string": "2.0"}], "total": 2}`, string(r.body))
		// on beta, versions without a "b" leave only release candidates: none here (Socorro's rule)
		r = call(t, "GET", base+"/api/VersionString/?product=CstApp&channel=beta&build_id="+crashes[0].build, "", nil)
		require.Equal(t, 200, r.code, string(r.body))
		assert.JSONEq(t, `{"hits": [], "total": 0}`, string(r.body))
		r = call(t, "GET", base+"/api/VersionString/?product=CstApp&channel=beta", "", nil)
		assert.Equal(t, 400, r.code)
		assert.Contains(t, string(r.body), "build_id")
		// CrashSignature of a crash's own signature inputs gives its signature
		c := crashes[1]
		proc := readJSON(t, filepath.Join(dir, "full", "processed_crash", c.id))
		job, err := json.Marshal(proc)
		require.NoError(t, err)
		r = call(t, "POST", base+"/api/CrashSignature/", "", bytes.NewReader([]byte(`{"jobs": [`+string(job)+`]}`)), "Content-Type", "application/json")
		require.Equal(t, 200, r.code, string(r.body))
		var res struct {
			Results []struct{ Signature string }
		}
		r.json(t, &res)
		require.Len(t, res.Results, 1)
		assert.Equal(t, proc["signature"], res.Results[0].Signature, "the processor's signature for the same data")
	})

	t.Run("reprocess", func(t *testing.T) {
		_, _, ok := cst(t, dir, plain, "reprocess", "--host="+base, crashes[0].id)
		assert.False(t, ok, "a token without reprocess_crashes is refused")
		_, stderr, ok := cst(t, dir, full, "reprocess", "--host="+base, "--ruleset=regenerate_signature", crashes[2].id, "bp-"+crashes[3].id)
		require.True(t, ok, stderr)
		got := map[string]string{}
		for _, r := range e.reprocessRequests(2, 60*time.Second) {
			got[r.CrashID] = r.Ruleset
		}
		assert.Equal(t, map[string]string{crashes[2].id: "regenerate_signature", crashes[3].id: "regenerate_signature"}, got)
	})
}

// cstIDs runs supersearch with the given arguments and returns the sorted
// crash ids it prints.
func cstIDs(t *testing.T, dir, token string, args ...string) []string {
	t.Helper()
	out, stderr, ok := cst(t, dir, token, "supersearch", append(args, "--format=tab", "--no-headers")...)
	require.True(t, ok, "%v: %s", args, stderr)
	var ids []string
	for _, r := range tabRows(out) {
		ids = append(ids, r[0])
	}
	sort.Strings(ids)
	return ids
}

func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&m), string(b))
	return m
}

// writeBulk writes n crashes of product CstBulk straight into ClickHouse
// with the sink's writer, spread over the last three days.
func writeBulk(t *testing.T, e *env, n int) []bulkCrash {
	t.Helper()
	ctx := context.Background()
	table, w := e.Writer(t, nil)
	now := time.Now().UTC().Truncate(time.Second)
	var out []bulkCrash
	var rows []clickhouse.Row
	for i := 0; i < n; i++ {
		sub := now.Add(-time.Duration(i*4) * time.Minute).Add(-time.Hour)
		b := bulkCrash{id: stacktest.CrashID(sub), version: fmt.Sprintf("v%d", i%4), channel: []string{"beta", "release", "nightly"}[i%3],
			build: 20261101000000 + int64(i%5), day: sub.Format("2006-01-02")}
		build := b.build
		pc := &schemas.ProcessedCrash{CrashID: b.id, UUID: b.id, SubmittedTimestamp: sub, DateProcessed: sub.Add(time.Minute),
			Product: "CstBulk", Version: b.version, ReleaseChannel: b.channel, Build: &build, Signature: "cst_bulk", ProcessType: "parent", OSName: "Linux"}
		row, err := table.Row(pc)
		require.NoError(t, err)
		rows = append(rows, row)
		out = append(out, b)
	}
	require.NoError(t, w.Write(ctx, rows))
	return out
}

// loadRealWorld sends the shared real-world data set's reports to the
// collector and stores its stored crashes as the sinks do, then waits
// until Super Search has every report that processing can handle (the
// Broken product's are meant to fail). It returns the set and the
// submitted reports by crash id.
func loadRealWorld(t *testing.T, e *env, collector, base string) (*realworld.Set, map[string]realworld.Submission) {
	t.Helper()
	ctx := context.Background()
	set, err := realworld.New(time.Now(), sharedTestdata(t))
	require.NoError(t, err)
	ids := map[string]realworld.Submission{}
	for _, sub := range set.Submissions {
		id, err := realworld.Submit(ctx, http.DefaultClient, collector, sub)
		require.NoError(t, err, sub.Name)
		ids[id] = sub
	}
	table, w := e.Writer(t, nil)
	require.NoError(t, set.Store(ctx, w, table, e.Crashes))
	require.True(t, waitFor(180*time.Second, func() bool {
		for id, sub := range ids {
			if sub.Annotations["ProductName"] == realworld.Broken {
				continue
			}
			r := call(t, "GET", base+"/api/SuperSearch/?uuid="+id+"&_results_number=0&_facets_size=0", "", nil)
			var res struct{ Total int }
			r.json(t, &res)
			if res.Total != 1 {
				return false
			}
		}
		return true
	}), "the real-world reports reach Super Search")
	return set, ids
}
