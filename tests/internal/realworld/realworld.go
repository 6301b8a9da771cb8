// Package realworld is a test data set of crashes that look like the world
// rather than like crashgen: reports with each optional annotation missing
// in turn, products with a single crash, a product whose every crash failed
// processing (no minidump, an unreadable one), Java and Rust crashes, very
// long and non-ASCII signatures, a signature seen only in the previous
// top-crashers window, and crashes at the past edge of retention. The suite
// that found the InstallTime 500 passed because every crash it knew came
// from our own generator; suites that use this set see what Crash Stats
// meets in production.
//
// The set has two halves, because the collector stamps every report with
// the time it arrives:
//
//   - Submissions are reports as a client sends them (annotations and
//     minidumps, or none). Send them with Submit to a running collector, so
//     the processor and the sinks handle them as they would any report.
//   - Stored are processed crashes submitted days ago (previous window,
//     retention edge) and those whose signature no minidump of the shared
//     test data produces (very long, non-ASCII). Write them as the sinks do
//     (ClickHouse rows and the processed JSON; see Store).
//
// Usage:
//
//	set, err := realworld.New(time.Now(), repotest.SharedTestdata(t))
//	for _, s := range set.Submissions { id, err := realworld.Submit(ctx, http.DefaultClient, collectorURL, s) }
//	err = set.Store(ctx, writer, table, bucket)
//	for _, p := range set.Products() { ... }
package realworld

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/storage/clickhouse"
	"github.com/crashstream/crashstream/storage/objectstore"
	"github.com/crashstream/crashstream/tests/internal/stacktest"
)

// Products of the set, one per situation.
const (
	// Firefox has full reports and reports with each optional annotation
	// missing in turn, plus the stored long and non-ASCII signatures, the
	// previous-window signature and the retention-edge crash.
	Firefox = "Firefox"
	// Solo has a single crash.
	Solo = "Solo"
	// Broken has only reports that fail processing: no minidump, an
	// unreadable minidump.
	Broken = "Broken"
	// Fenix has a Java crash (JavaStackTrace, no minidump).
	Fenix = "Fenix"
	// Thunderbird has a Rust panic (MozCrashReason) with a minidump.
	Thunderbird = "Thunderbird"
)

// Submission is one report as a client sends it.
type Submission struct {
	// Name says what the report exercises ("no InstallTime").
	Name        string
	Annotations map[string]string
	// Dump is the upload_file_minidump part; nil sends none.
	Dump []byte
}

// Set is the data set, built for a day.
type Set struct {
	Now         time.Time
	Submissions []Submission
	// Stored are processed crashes to write as the sinks do.
	Stored []*schemas.ProcessedCrash
}

// Optional are the annotations a real client may leave out, each removed in
// turn from one Firefox report.
var Optional = []string{"InstallTime", "StartupTime", "CrashTime", "Version", "ReleaseChannel", "BuildID", "ProcessType",
	"AdapterVendorID", "TotalPhysicalMemory", "UptimeTS", "useragent_locale"}

// LongSignature is as long as the processor makes a signature: cut to 255
// characters, the last three "..." (lib/signature.MaxLength); this
// one is multi-byte, 255 characters in about 600 bytes. NonASCIISignature
// mixes scripts, an emoji and characters HTML and URLs must escape.
var (
	LongSignature     = longSignature()
	NonASCIISignature = "日本語::関数 | Ünïcödé<T> & \"quoted\" | 🦊 | a/b?c=d#e"
	// PreviousOnlySignature has crashes only in the previous 7-day window
	// of top crashers (8 days ago).
	PreviousOnlySignature = "OnlyLastWeek::Crash"
	// RetentionSignature is a crash at the past edge of the 180-day
	// retention (179 days ago).
	RetentionSignature = "OldButKept::Crash"
)

func longSignature() string {
	r := []rune("mozilla::detail::" + strings.Repeat("Größe<std::vector<日本>>::", 20))
	return string(r[:252]) + "..."
}

// dumps are the shared test data minidumps the submissions use.
var dumps = []string{"linux_null_read_av.dmp", "linux_overflow.dmp", "linux_raise_sigabrt.dmp", "null_read_av.dmp", "minidump2.dmp"}

// New builds the set for the day of now; testdata is the shared test data
// directory (../shared/testdata), whose breakpad minidumps the reports carry.
func New(now time.Time, testdata string) (*Set, error) {
	now = now.UTC()
	s := &Set{Now: now}
	dump := map[string][]byte{}
	for _, n := range dumps {
		b, err := os.ReadFile(filepath.Join(testdata, "breakpad", n))
		if err != nil {
			return nil, fmt.Errorf("realworld: %w", err)
		}
		dump[n] = b
	}
	full := func(product string) map[string]string {
		start := now.Add(-time.Hour)
		return map[string]string{
			"ProductName": product, "Version": "130.0", "ReleaseChannel": "release", "BuildID": now.AddDate(0, 0, -3).Format("20060102") + "101010",
			"ProcessType": "parent", "InstallTime": strconv.FormatInt(now.AddDate(0, -2, 0).Unix(), 10),
			"StartupTime": strconv.FormatInt(start.Unix(), 10), "CrashTime": strconv.FormatInt(now.Add(-time.Minute).Unix(), 10),
			"AdapterVendorID": "0x10de", "TotalPhysicalMemory": "17179869184", "UptimeTS": "3540.5", "useragent_locale": "de",
		}
	}
	s.Submissions = append(s.Submissions, Submission{Name: "full report", Annotations: full(Firefox), Dump: dump["linux_null_read_av.dmp"]})
	for i, k := range Optional {
		a := full(Firefox)
		delete(a, k)
		s.Submissions = append(s.Submissions, Submission{Name: "no " + k, Annotations: a, Dump: dump[dumps[i%len(dumps)]]})
	}
	bare := map[string]string{"ProductName": Firefox}
	s.Submissions = append(s.Submissions,
		Submission{Name: "only ProductName", Annotations: bare, Dump: dump["linux_overflow.dmp"]},
		Submission{Name: "content process", Annotations: with(full(Firefox), "ProcessType", "content"), Dump: dump["null_read_av.dmp"]},
		Submission{Name: "startup crash", Annotations: with(full(Firefox), "StartupCrash", "1"), Dump: dump["linux_raise_sigabrt.dmp"]},
		Submission{Name: "garbage collecting", Annotations: with(full(Firefox), "IsGarbageCollecting", "1"), Dump: dump["linux_null_read_av.dmp"]},
		Submission{Name: "single crash product", Annotations: full(Solo), Dump: dump["linux_overflow.dmp"]},
		Submission{Name: "no minidump", Annotations: full(Broken)},
		Submission{Name: "unreadable minidump", Annotations: full(Broken), Dump: []byte("MDMP this is not a minidump\x00\x01\x02")},
		Submission{Name: "java crash", Annotations: with(full(Fenix), "JavaStackTrace",
			"java.lang.IllegalStateException: Not attached\n\tat org.mozilla.fenix.Home.onStart(Home.kt:42)\n\tat android.app.Activity.performStart(Activity.java:8000)")},
		Submission{Name: "rust panic", Annotations: with(full(Thunderbird), "MozCrashReason",
			"called `Option::unwrap()` on a `None` value"), Dump: dump["linux_raise_sigabrt.dmp"]},
	)

	stored := func(n int, day time.Time, sig string, mod func(*schemas.ProcessedCrash)) {
		id := crashID(n, day)
		sub := day.Add(time.Duration(n) * time.Minute)
		c := &schemas.ProcessedCrash{CrashID: id, UUID: id, SubmittedTimestamp: sub, DateProcessed: sub.Add(time.Minute),
			Product: Firefox, Version: "130.0", ReleaseChannel: "release", ProcessType: "parent", OSName: "Linux", Signature: sig}
		if mod != nil {
			mod(c)
		}
		s.Stored = append(s.Stored, c)
	}
	today := now.Truncate(24 * time.Hour)
	stored(1, today, LongSignature, nil)
	stored(2, today, NonASCIISignature, func(c *schemas.ProcessedCrash) {
		c.OSName = "Windows NT"
		c.InstallTime = ptr(now.AddDate(0, -1, 0).Unix())
	})
	stored(3, today, NonASCIISignature, nil)
	stored(4, today.AddDate(0, 0, -8), PreviousOnlySignature, nil)
	stored(5, today.AddDate(0, 0, -9), PreviousOnlySignature, func(c *schemas.ProcessedCrash) { c.OSName = "" })
	stored(6, today.AddDate(0, 0, -179), RetentionSignature, func(c *schemas.ProcessedCrash) { c.Version = "" })
	return s, nil
}

func with(m map[string]string, k, v string) map[string]string { m[k] = v; return m }

func ptr[T any](v T) *T { return &v }

// crashID is a valid crash id of day, distinct per n, recognisable by its
// "feed" prefix.
func crashID(n int, day time.Time) string {
	return fmt.Sprintf("feed%04x-0000-4000-8000-%05x0%s", n, n, day.UTC().Format("060102"))
}

// Products are the products of the set, sorted.
func (s *Set) Products() []string {
	seen := map[string]bool{}
	for _, x := range s.Submissions {
		if p := x.Annotations["ProductName"]; p != "" {
			seen[p] = true
		}
	}
	for _, c := range s.Stored {
		seen[c.Product] = true
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Submit posts one report to the collector at base (http://host:port) as
// a client does (see stacktest.PostReport) and returns the crash id it was
// given.
func Submit(ctx context.Context, client *http.Client, base string, s Submission) (string, error) {
	id, err := stacktest.PostReport(ctx, client, base, s.Annotations, s.Dump)
	if err != nil {
		return "", fmt.Errorf("realworld: submit %q: %w", s.Name, err)
	}
	return id, nil
}

// Store writes the stored crashes as the sinks do: their ClickHouse rows
// (the materialized views fill the aggregates) and their processed JSON in
// the crash bucket, so that the report pages find them.
func (s *Set) Store(ctx context.Context, w *clickhouse.Writer, table *clickhouse.Table, bucket *objectstore.Bucket) error {
	rows := make([]clickhouse.Row, 0, len(s.Stored))
	for _, c := range s.Stored {
		r, err := table.Row(c)
		if err != nil {
			return fmt.Errorf("realworld: %s: %w", c.CrashID, err)
		}
		rows = append(rows, r)
		b, err := json.Marshal(c)
		if err != nil {
			return err
		}
		key, err := objectstore.ProcessedCrashKey(c.CrashID)
		if err != nil {
			return err
		}
		if err := bucket.PutBytes(ctx, key, b, "application/json"); err != nil {
			return fmt.Errorf("realworld: store %s: %w", c.CrashID, err)
		}
	}
	return w.Write(ctx, rows)
}
