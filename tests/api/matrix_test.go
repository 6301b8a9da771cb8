package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/fields"
	"github.com/crashstream/crashstream/services/lib/auth"
	"github.com/crashstream/crashstream/storage/clickhouse"
	"github.com/crashstream/crashstream/storage/objectstore"
	"github.com/crashstream/crashstream/tests/internal/stacktest"
)

// secret is the value a crash holds in protected field f: unique, so that
// finding it anywhere in a response is a leak.
func secret(i int, f fields.Field) (string, any) {
	switch f.Type {
	case fields.Int:
		n := int64(731900000 + i)
		return fmt.Sprint(n), &n
	case fields.Float:
		n := float64(731900000 + i)
		return fmt.Sprint(int64(n)), &n
	default:
		s := "SECRET-" + f.Name + "-x9q"
		return s, s
	}
}

// setField sets the ProcessedCrash field whose Avro name is name.
func setField(t *testing.T, pc *schemas.ProcessedCrash, name string, v any) {
	rv := reflect.ValueOf(pc).Elem()
	for i := 0; i < rv.NumField(); i++ {
		if rv.Type().Field(i).Tag.Get("avro") != name {
			continue
		}
		fv := rv.Field(i)
		val := reflect.ValueOf(v)
		require.True(t, val.Type().AssignableTo(fv.Type()), "field %s: %s into %s", name, val.Type(), fv.Type())
		fv.Set(val)
		return
	}
	t.Fatalf("no ProcessedCrash field %s", name)
}

type protectedField struct {
	f      fields.Field
	secret string
}

// seedCrashes writes n crashes with every protected field set to its secret
// into ClickHouse (through the sink's writer), and their processed and raw
// crashes and dumps into the object store.
func (e *env) seedCrashes(n int) ([]string, []protectedField) {
	t := e.t
	ctx := context.Background()
	reg := fields.New()
	var prot []protectedField
	for i, f := range reg.All() {
		if f.IsPublic() {
			continue
		}
		s, _ := secret(i, f)
		prot = append(prot, protectedField{f: f, secret: s})
	}
	require.NotEmpty(t, prot)
	table, w := e.Writer(t, reg)
	now := time.Now().UTC().Truncate(time.Second)
	var ids []string
	var rows []clickhouse.Row
	for k := 0; k < n; k++ {
		id := stacktest.CrashID(now)
		ids = append(ids, id)
		pc := &schemas.ProcessedCrash{CrashID: id, UUID: id, DateProcessed: now, SubmittedTimestamp: now.Add(-time.Minute),
			Product: "MatrixApp", Version: "1.0", Signature: "matrix_signature", ProcessType: "parent", OSName: "Linux"}
		raw := map[string]any{"ProductName": "MatrixApp", "Version": "1.0", "uuid": id, "metadata": map[string]any{"user_agent": "SECRET-metadata-x9q"}}
		for i, f := range reg.All() {
			if f.IsPublic() {
				continue
			}
			s, v := secret(i, f)
			setField(t, pc, f.Name, v)
			if f.Annotation != "" {
				raw[f.Annotation] = s
			}
		}
		row, err := table.Row(pc)
		require.NoError(t, err)
		rows = append(rows, row)
		b, err := json.Marshal(pc)
		require.NoError(t, err)
		key, _ := objectstore.ProcessedCrashKey(id)
		require.NoError(t, e.Crashes.PutBytes(ctx, key, b, "application/json"))
		b, err = json.Marshal(raw)
		require.NoError(t, err)
		key, _ = objectstore.RawCrashKey(id)
		require.NoError(t, e.Crashes.PutBytes(ctx, key, b, "application/json"))
		key, _ = objectstore.DumpKey("upload_file_minidump", id)
		require.NoError(t, e.Crashes.PutBytes(ctx, key, []byte("MDMP-SECRET-dump-x9q"), "application/octet-stream"))
	}
	require.NoError(t, w.Write(ctx, rows))
	return ids, prot
}

// TestAccessControlMatrix: every protected field of the registry × every
// way a Super Search request can use a field (filter, facet, sort,
// aggregation by and of, histogram, cardinality, column) and the results
// (hits, ProcessedCrash, RawCrash) × {anonymous, token without view_pii,
// expired token, revoked token, token with view_pii}. Bad tokens get 403;
// SuperSearch leaves a searchable protected field out of the search and
// says so in errors ("protected_field_dropped"), for every caller, as
// Socorro's SuperSearch does, and never returns a protected value; a field
// that is not searchable is 400 "unknown field"; SuperSearchUnredacted
// needs view_pii and returns them — the positive control that the secrets
// are really there to leak.
func TestAccessControlMatrix(t *testing.T) {
	e := newEnv(t)
	base := e.webapp("CRASHSTREAM_WEBAPP_RATELIMIT_SEARCH_ANONYMOUS=1000000", "CRASHSTREAM_WEBAPP_RATELIMIT_SEARCH_TOKEN=1000000",
		"CRASHSTREAM_WEBAPP_RATELIMIT_API_ANONYMOUS=1000000", "CRASHSTREAM_WEBAPP_RATELIMIT_API_TOKEN=1000000",
		"CRASHSTREAM_WEBAPP_RATELIMIT_AUTH_FAILURES=1000000") // bad tokens are tried hundreds of times
	ids, prot := e.seedCrashes(3)
	callers := []struct {
		name  string
		token string
		pii   bool
		bad   bool
	}{
		{name: "anonymous"},
		{name: "token without view_pii", token: e.token("plain", time.Hour, auth.ReprocessCrashes, auth.ViewRawDump)},
		{name: "expired token", token: e.token("expired", time.Millisecond, auth.AllPermissions()...), bad: true},
		{name: "revoked token", token: e.token("revoked", time.Hour, auth.AllPermissions()...), bad: true},
		{name: "token with view_pii", token: e.token("pii", time.Hour, auth.ViewPII), pii: true},
	}
	hash := auth.HashKey(callers[3].token)
	require.NoError(t, e.tokens.Revoke(context.Background(), hash))
	time.Sleep(5 * time.Millisecond) // past the expired token's lifetime (not a timed assertion)

	kinds := func(f fields.Field, s string) map[string]url.Values {
		k := map[string]url.Values{
			"filter":             {f.Name: {s}},
			"negated filter":     {f.Name: {"!" + s}},
			"null filter":        {f.Name: {"__null__"}},
			"facet":              {"_facets": {f.Name}},
			"sort":               {"_sort": {"-" + f.Name}},
			"aggregation of":     {"_aggs.signature": {f.Name}},
			"aggregation by":     {"_aggs." + f.Name: {"signature"}},
			"nested aggregation": {"_aggs.signature." + f.Name: {"product"}},
			"histogram term":     {"_histogram.date": {f.Name}},
			"cardinality":        {"_cardinality." + f.Name: {""}},
			"column":             {"_columns": {f.Name}},
		}
		if f.Type == fields.Int || f.Type == fields.Float {
			k["histogram field"] = url.Values{"_histogram." + f.Name: {"signature"}, "_histogram_interval." + f.Name: {"1"}}
			k["range filter"] = url.Values{f.Name: {">=0"}}
		}
		return k
	}
	checked := 0
	noLeak := func(label string, body []byte) {
		for _, p := range prot {
			if bytes.Contains(body, []byte(p.secret)) {
				t.Errorf("%s: protected %s leaked: %s", label, p.f.Name, truncate(body))
			}
		}
		assert.NotContains(t, string(body), "x9q", label)
	}
	for _, c := range callers {
		for _, p := range prot {
			for kind, params := range kinds(p.f, p.secret) {
				label := fmt.Sprintf("%s × %s × %s", c.name, p.f.Name, kind)
				for _, ep := range []string{"SuperSearch", "SuperSearchUnredacted"} {
					r := call(t, "GET", base+"/api/"+ep+"/?"+params.Encode(), c.token, nil)
					checked++
					switch {
					case c.bad:
						assert.Equal(t, 403, r.code, "%s %s", ep, label)
						noLeak(ep+" "+label, r.body)
					case !c.pii && ep == "SuperSearchUnredacted":
						assert.Equal(t, 403, r.code, "%s %s", ep, label)
						noLeak(ep+" "+label, r.body)
					case !p.f.Searchable || p.f.ClickHouseColumn == "":
						assert.Equal(t, 400, r.code, "%s %s: %s", ep, label, truncate(r.body))
						assert.Contains(t, string(r.body), "unknown field", "%s %s", ep, label)
						noLeak(ep+" "+label, r.body)
					case ep == "SuperSearch":
						// left out of the search and reported, as Socorro's
						// SuperSearch leaves it out
						assert.Equal(t, 200, r.code, "%s %s: %s", ep, label, truncate(r.body))
						assert.Contains(t, string(r.body), `"protected_field_dropped"`, "%s %s", ep, label)
						noLeak(ep+" "+label, r.body)
					default: // view_pii on the unredacted endpoint: allowed
						assert.Equal(t, 200, r.code, "%s %s: %s", ep, label, truncate(r.body))
						if kind == "filter" || kind == "column" || kind == "facet" {
							var res struct{ Total int }
							r.json(t, &res)
							assert.Equal(t, 3, res.Total, "%s %s matches the seeded crashes", ep, label)
							if kind != "filter" {
								assert.Contains(t, string(r.body), p.secret, "%s %s returns the value (positive control)", ep, label)
							}
						}
					}
				}
			}
		}
		// results: default hits, every column of the public set, the
		// processed crash and the raw crash
		for _, path := range []string{
			"/api/SuperSearch/?product=MatrixApp&_facets=signature&_facets=product",
			"/api/SuperSearch/?product=MatrixApp&" + publicColumns(),
			"/api/ProcessedCrash/?crash_id=" + ids[0],
			"/api/RawCrash/?crash_id=" + ids[0],
			"/api/RawCrash/?format=meta&crash_id=" + ids[1],
			"/api/SuperSearchFields/",
		} {
			label := c.name + " × result " + path
			r := call(t, "GET", base+path, c.token, nil)
			checked++
			if c.bad {
				assert.Equal(t, 403, r.code, label)
				noLeak(label, r.body)
				continue
			}
			require.Equal(t, 200, r.code, "%s: %s", label, truncate(r.body))
			if c.pii && strings.HasPrefix(path, "/api/ProcessedCrash/") {
				for _, p := range prot {
					assert.Contains(t, string(r.body), p.secret, "%s: view_pii sees %s", label, p.f.Name)
				}
				continue
			}
			if c.pii && strings.HasPrefix(path, "/api/RawCrash/") {
				assert.Contains(t, string(r.body), "SECRET-url-x9q", label)
				continue
			}
			if c.pii && strings.HasPrefix(path, "/api/SuperSearchFields/") {
				assert.Contains(t, string(r.body), `"url"`, label)
				continue
			}
			noLeak(label, r.body)
			var m map[string]json.RawMessage
			r.json(t, &m)
			for _, p := range prot {
				assert.NotContains(t, m, p.f.Name, "%s: key %s present", label, p.f.Name)
			}
		}
		// raw dumps need view_rawdump
		r := call(t, "GET", base+"/api/RawCrash/?format=raw&name=upload_file_minidump&crash_id="+ids[0], c.token, nil)
		checked++
		want := 403
		if c.name == "token without view_pii" { // it holds view_rawdump
			want = 200
		}
		assert.Equal(t, want, r.code, "%s × raw dump", c.name)
		if want == 403 {
			noLeak(c.name+" × raw dump", r.body)
		}
	}
	t.Logf("access matrix: %d protected fields, %d requests checked", len(prot), checked)
}

// publicColumns asks for every public searchable field as a column (the
// most a caller without view_pii may see), in groups within the
// per-value bound.
func publicColumns() string {
	v := url.Values{}
	var group []string
	flush := func() {
		if len(group) > 0 {
			v.Add("_columns", strings.Join(group, ","))
			group = nil
		}
	}
	for _, f := range fields.New().Searchable() {
		if f.IsPublic() && f.ClickHouseColumn != "" {
			group = append(group, f.Name)
			if len(group) == 20 {
				flush()
			}
		}
	}
	flush()
	return v.Encode()
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}
