package webapp

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/crashstream/crashstream/schemas/protocol"
	"github.com/crashstream/crashstream/services/lib/auth"
)

// openAPI serves an OpenAPI 3 description of the API, built from the same
// names the routes use.
func (s *Server) openAPI(c *gin.Context) {
	c.JSON(http.StatusOK, s.OpenAPI())
}

type obj = map[string]any

func qp(name, desc string, required bool, schema obj) obj {
	return obj{"name": name, "in": "query", "description": desc, "required": required, "schema": schema}
}

func str() obj  { return obj{"type": "string"} }
func strs() obj { return obj{"type": "array", "items": obj{"type": "string"}} }
func intS() obj { return obj{"type": "integer"} }

func errResp(desc string) obj {
	return obj{"description": desc, "content": obj{"application/json": obj{"schema": obj{"$ref": "#/components/schemas/Error"}}}}
}

func jsonResp(desc string) obj {
	return obj{"description": desc, "content": obj{"application/json": obj{"schema": obj{"type": "object"}}}}
}

func std(ok obj, extra obj) obj {
	r := obj{"200": ok, "400": errResp("bad parameters: the message names the parameter"),
		"403": errResp("bad, expired or revoked token, or missing permission"),
		"429": obj{"description": "rate limited; see Retry-After", "headers": obj{"Retry-After": obj{"schema": intS()}}},
		"503": errResp("a backend is unavailable")}
	for k, v := range extra {
		r[k] = v
	}
	return r
}

// OpenAPI returns the document.
func (s *Server) OpenAPI() obj {
	crashQ := qp("crash_id", "crash report id (a bp- prefix is accepted)", true, str())
	searchParams := []obj{
		qp("<field>", "filter on any field of SuperSearchFields, or Socorro's names build_id, platform, platform_version, platform_pretty_version, date; operators are value prefixes: ~ = ^ $ @ > >= < <= __null__ __true__ and ! to negate (a crash without the field matches every negation); repeated values: ranges ANDed, negations ANDed, others ORed", false, str()),
		qp("date", "date range on the submission time (default the last 7 days, at most 365): YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS[.frac]] or ISO 8601 with an optional zone (UTC when none), with a > >= < <= prefix", false, strs()),
		qp("_columns", "columns of hits, keyed by the name asked (default uuid, date, signature, product, version)", false, strs()),
		qp("_results_number", "hits per page, 0..1000 (default 100)", false, intS()),
		qp("_results_offset", "offset; offset + number <= 10000", false, intS()),
		qp("_sort", "sort fields, - prefix for descending (default -date)", false, strs()),
		qp("_facets", "fields to facet on (default signature); also _cardinality.<field> and _histogram.<field>", false, strs()),
		qp("_facets_size", "terms per facet, 0..10000 (default 50); 0 computes no facet, aggregation, histogram or cardinality", false, intS()),
		qp("_aggs.<field>[.<field2>[.<field3>]]", "nested facets: for each term of the key fields, the top terms of each value, or _cardinality.<field>, or _histogram.<field> (histogram_<field> per bucket)", false, strs()),
		qp("_histogram.<field>", "histogram_<field> of a date or number field; values are term fields or _cardinality.<field> per bucket", false, strs()),
		qp("_histogram_interval.<field>", "interval: 1h, 1d, 1w, 1M (or hour, day, week, month) for dates, a width for numbers", false, str()),
		qp("_cardinality.<field>", "distinct count of a field (cardinality_<field>); crashstream's shorthand for _facets=_cardinality.<field>", false, str()),
	}
	sec := []obj{{"AuthToken": []string{}}, {}}
	paths := obj{
		"/api/SuperSearch/": obj{"get": obj{"summary": "Search crashes; a protected field named anywhere is left out of the search and listed in errors (type protected_field_dropped)", "parameters": searchParams, "security": sec,
			"responses": std(jsonResp("hits, total, facets, errors"), nil)}},
		"/api/SuperSearchUnredacted/": obj{"get": obj{"summary": "Search crashes including protected fields (needs " + auth.ViewPII + ")", "parameters": searchParams,
			"security": []obj{{"AuthToken": []string{}}}, "responses": std(jsonResp("hits, total, facets, errors"), nil)}},
		"/api/SuperSearchFields/": obj{"get": obj{"summary": "The searchable fields; protected ones only with " + auth.ViewPII, "security": sec,
			"responses": std(jsonResp("field name -> description"), nil)}},
		"/api/ProcessedCrash/": obj{"get": obj{"summary": "A processed crash; protected fields only with " + auth.ViewPII, "parameters": []obj{crashQ}, "security": sec,
			"responses": std(jsonResp("the processed crash"), obj{"404": errResp("not processed or unknown")})}},
		"/api/RawCrash/": obj{"get": obj{"summary": "A raw crash (format=meta; protected annotations only with " + auth.ViewPII + ") or a dump (format=raw, needs " + auth.ViewRawDump + ")",
			"parameters": []obj{crashQ, qp("format", "meta (default) or raw", false, obj{"type": "string", "enum": []string{"meta", "raw"}}),
				qp("name", "dump name for format=raw (default upload_file_minidump)", false, str())}, "security": sec,
			"responses": std(obj{"description": "annotations (JSON) or dump bytes", "content": obj{"application/json": obj{}, "application/octet-stream": obj{}}}, obj{"404": errResp("unknown crash or dump")})}},
		"/api/SignatureFirstDate/": obj{"get": obj{"summary": "First date and build of signatures", "parameters": []obj{qp("signatures", "signatures (repeat)", true, strs())}, "security": sec,
			"responses": std(jsonResp("hits: signature, first_date, first_build"), nil)}},
		"/api/TopCrashers/": obj{"get": obj{"summary": "Top crashing signatures with rank change against the previous period", "security": sec, "parameters": []obj{
			qp("product", "product name", true, str()), qp("version", "versions (repeat or comma-separated)", false, strs()),
			qp("days", "1, 3, 7, 14 or 28 (default 7)", false, intS()), qp("process_type", "any (default) or a process type", false, str()),
			qp("platform", "an os_name", false, str()), qp("limit", "50, 100, 200 or 300", false, intS()),
			qp("end_date", "last day, YYYY-MM-DD (default today)", false, str()), qp("installs", "1 to count distinct installs", false, str())},
			"responses": std(jsonResp("crashes ranked"), nil)}},
		"/api/Reprocessing/": obj{"post": obj{"summary": "Reprocess crashes (needs " + auth.ReprocessCrashes + "); publishes to crash.reprocess.v1",
			"security": []obj{{"AuthToken": []string{}}},
			"requestBody": obj{"content": obj{"application/x-www-form-urlencoded": obj{"schema": obj{"type": "object", "properties": obj{
				"crash_ids": obj{"type": "array", "items": str(), "description": "crash ids, each optionally suffixed :<ruleset>; at most 1000"},
				"ruleset":   obj{"type": "string", "enum": protocol.Rulesets()}}, "required": []string{"crash_ids"}}}}},
			"responses": std(jsonResp("reprocessed: crash_id, ruleset"), nil)}},
		"/api/NoOp/": obj{"get": obj{"summary": "Does nothing: checks the API answers (Socorro's test hook; product=bad is refused)", "security": sec,
			"parameters": []obj{qp("product", "any product name; bad gives 400", true, str())},
			"responses":  std(jsonResp("hits: [], total: 0"), nil)}},
		"/api/VersionString/": obj{"get": obj{"summary": "Version strings of a product's build on a channel, from the crash reports of that build (Socorro's come from the product archive); on beta and aurora, beta versions hide release candidates, else only release candidates are answered", "security": sec,
			"parameters": []obj{qp("product", "product name", true, str()), qp("channel", "release channel (case-insensitive)", true, str()), qp("build_id", "build id, digits", true, str())},
			"responses":  std(jsonResp("hits: version_string; total"), nil)}},
		"/api/CrashSignature/": obj{"post": obj{"summary": "Signatures of posted crash data (siggen's crash data schema), from the processor's signature generator", "security": sec,
			"requestBody": obj{"content": obj{"application/json": obj{"schema": obj{"type": "object", "properties": obj{
				"jobs": obj{"type": "array", "items": obj{"type": "object"}, "description": "crash data objects, 1..100; body at most 4 MiB"}}, "required": []string{"jobs"}}}}},
			"responses": std(jsonResp("results: signature, notes, extra {proto_signature, normalized_frames}"), obj{"413": errResp("body over 4 MiB")})}},
		"/api/MissingProcessedCrash/": obj{"get": obj{"summary": "Crashes cron's verify-processed found without a processed crash (re-queued then), 1000 a page ordered by crash id, each saying whether it is processed now", "security": sec,
			"parameters": []obj{qp("page", "1-based page (default 1)", false, intS())},
			"responses":  std(jsonResp("results: crash_id, is_processed, created; count; next, previous (page links or null)"), nil)}},
		"/api/Alerts/": obj{"get": obj{"summary": "The alert rules the alerts cron job evaluates (webhooks by name and format only) and the firings of the last days, newest first (at most 1000), each with its deliveries", "security": sec,
			"parameters": []obj{qp("days", "days of firings, 1..28 (default 7)", false, intS())},
			"responses":  std(jsonResp("rules: {updated, webhooks, rules} or null; firings: id, rule, kind, product, version, signature, window, current, previous, fired_at, deliveries; days"), nil)}},
		"/api/upload-symbols": obj{"post": obj{"summary": "Upload Breakpad symbols (needs " + auth.UploadSymbols + "): a zip of debug_file/debug_id/file.sym or one .sym; each stored file starts a reprocess job (not again for the same file) for the recent crashes that missed its module",
			"security":    []obj{{"AuthToken": []string{}}},
			"requestBody": obj{"content": obj{"application/zip": obj{}, "text/plain": obj{}, "multipart/form-data": obj{}}},
			"responses":   std(obj{"description": "stored, skipped, reprocess_jobs", "content": obj{"application/json": obj{}}}, obj{"201": jsonResp("stored (key, size, unchanged: the bucket already held these bytes, nothing written), skipped, reprocess_jobs (id, module, new, state, url)"), "413": errResp("over a size cap; nothing stored")})}},
		"/api/ReprocessJobs/": obj{"get": obj{"summary": "Reprocess jobs of symbol arrivals, newest first (200), or one with id= (needs " + auth.UploadSymbols + ")",
			"security":   []obj{{"AuthToken": []string{}}},
			"parameters": []obj{qp("id", "one job", false, str())},
			"responses":  std(jsonResp("total, hits: id, module, symbols_key, source, state, created, updated, finished, found, truncated, sent, done, error"), obj{"404": errResp("no such job"), "503": errResp("jobs are off")})}},
		"/api/tokens": obj{
			"get": obj{"summary": "List tokens (needs " + auth.ManageTokens + ")", "security": []obj{{"AuthToken": []string{}}}, "responses": std(jsonResp("tokens: id, name, permissions, created, expires, state"), nil)},
			"post": obj{"summary": "Create a token with a subset of the caller's permissions (needs " + auth.ManageTokens + "); the key is returned once",
				"security": []obj{{"AuthToken": []string{}}},
				"requestBody": obj{"content": obj{"application/x-www-form-urlencoded": obj{"schema": obj{"type": "object", "properties": obj{
					"name": str(), "permissions": strs(), "expires_days": intS()}, "required": []string{"name"}}}}},
				"responses": std(jsonResp("key and token"), obj{"201": jsonResp("key and token")})}},
		"/api/tokens/revoke": obj{"post": obj{"summary": "Revoke a token by id prefix or name (needs " + auth.ManageTokens + ")", "security": []obj{{"AuthToken": []string{}}},
			"requestBody": obj{"content": obj{"application/x-www-form-urlencoded": obj{"schema": obj{"type": "object", "properties": obj{"id": str()}, "required": []string{"id"}}}}},
			"responses":   std(jsonResp("revoked token"), obj{"404": errResp("no such token")})}},
		"/schemas/ids/{id}":                      obj{"get": obj{"summary": "Confluent schema registry: a schema by id (read-only)", "parameters": []obj{{"name": "id", "in": "path", "required": true, "schema": intS()}}, "responses": obj{"200": jsonResp("schema")}}},
		"/subjects":                              obj{"get": obj{"summary": "Confluent schema registry: subjects", "responses": obj{"200": jsonResp("subject names")}}},
		"/subjects/{subject}/versions/{version}": obj{"get": obj{"summary": "Confluent schema registry: one version", "parameters": []obj{{"name": "subject", "in": "path", "required": true, "schema": str()}, {"name": "version", "in": "path", "required": true, "schema": str()}}, "responses": obj{"200": jsonResp("version")}}},
	}
	addReportPaths(paths, sec)
	// x-permission says who may call each operation (the API page shows it).
	perms := map[string]string{
		"/api/SuperSearch/":           "none; protected fields are left out (see errors)",
		"/api/SuperSearchUnredacted/": auth.ViewPII,
		"/api/SuperSearchFields/":     "none; protected fields listed only with " + auth.ViewPII,
		"/api/ProcessedCrash/":        "none; protected fields only with " + auth.ViewPII,
		"/api/RawCrash/":              "none for format=meta (protected annotations only with " + auth.ViewPII + "); " + auth.ViewRawDump + " for format=raw",
		"/api/Reprocessing/":          auth.ReprocessCrashes,
		"/api/upload-symbols":         auth.UploadSymbols,
		"/api/ReprocessJobs/":         auth.UploadSymbols,
		"/api/tokens":                 auth.ManageTokens,
		"/api/tokens/revoke":          auth.ManageTokens,
	}
	for p, perm := range perms {
		if ops, ok := paths[p].(obj); ok {
			for _, op := range ops {
				op.(obj)["x-permission"] = perm
			}
		}
	}
	doc := obj{
		"openapi": "3.0.3",
		"info": obj{"title": "crashstream Crash Stats API", "version": "1",
			"description": "Socorro-compatible crash data API. Authenticate with an Auth-Token header (crashstream token create). Errors are {\"error\": \"...\"}. Rate limits: Super Search 10/min anonymous, 100/min per token; other calls 100/1000 (configurable)."},
		"paths": paths,
		"components": obj{
			"securitySchemes": obj{"AuthToken": obj{"type": "apiKey", "in": "header", "name": "Auth-Token"}},
			"schemas":         obj{"Error": obj{"type": "object", "properties": obj{"error": str()}, "required": []string{"error"}}},
		},
	}
	if s.cfg.PublicURL != "" {
		doc["servers"] = []obj{{"url": s.cfg.PublicURL}}
	}
	return doc
}
