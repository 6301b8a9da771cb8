package supersearch

// Support says how crashstream serves one of Socorro's Super Search
// parameters.
type Support struct {
	// Param is the parameter (or operator) as Socorro names it.
	Param string
	// Same is true when crashstream behaves as Socorro does.
	Same bool
	// Note says what crashstream does, and why where it differs.
	Note string
}

// Contract is Socorro's Super Search parameters and operators, each with
// crashstream's support. It is documentation the webapp renders (the API
// page); the tests of this package and of the webapp check the behaviour
// each entry states.
func Contract() []Support {
	return []Support{
		{"<field>=<value>", true, "Filter on any field of SuperSearchFields; repeated values of one field are ORed, ranges ANDed."},
		{"Socorro's field names", true, "date, build_id, platform, platform_version and platform_pretty_version are accepted and answered under the name asked (hits, facets, histogram_<name>, cardinality_<name>)."},
		{"date", false, "Socorro's date is date_processed; crashstream's is the submission time (submitted_timestamp): it never changes when a crash is reprocessed and it partitions the table, so a range prunes partitions. Default the last 7 days; crashstream caps a range at 365 days."},
		{"date forms", true, "YYYY-MM-DD, YYYY-MM-DD[T ]HH:MM[:SS[.frac]] with an optional Z or ±HH[:MM] zone (UTC when none), as Socorro's string_to_datetime."},
		{"~ ^ $ = @ > >= < <=", true, "Contains, starts with, ends with, exact, regex, comparisons. Regexes are RE2 (linear time), at most 256 bytes."},
		{"no operator", false, "Socorro runs an analyzed match query (case-insensitive words for some fields); crashstream matches the whole value exactly (ClickHouse has no analyzers); use ~ for a substring."},
		{"!", true, "Negates any operator; a crash without the field matches every negation, as with Elasticsearch's not-filter."},
		{"several ! values", false, "Socorro ORs them (!a or !b matches nearly everything); crashstream ANDs them (neither a nor b), which is what such a request means."},
		{"__null__, !__null__, __true__", true, "Missing (empty string or list, NULL number or bool), present, true."},
		{"_columns", true, "Hit columns, keyed by the name asked; default uuid, date, signature, product, version. Dates are RFC 3339 in UTC (2026-11-27T10:11:12Z; Socorro writes +00:00 and microseconds); a missing number or bool is null."},
		{"_sort", true, "Fields, - for descending; default -date. crash_id breaks ties so pages are stable."},
		{"_results_number, _results_offset", true, "0..1000 per page; offset + number at most 10000 (Elasticsearch's window)."},
		{"_facets", true, "Terms of each field (default signature); _cardinality.<f> and _histogram.<f> values as in Socorro. Terms are typed as Elasticsearch's: numbers for number fields, \"true\"/\"false\" for bools, ISO 8601 for dates; a crash without the field adds no term (total minus the terms' sum counts them)."},
		{"_facets_size", true, "0..10000, default 50; 0 computes no facet, aggregation, histogram or cardinality (crashstats-tools' supersearch sends 0)."},
		{"_aggs.<f1>[.<f2>[.<f3>]]", false, "Nested terms, _cardinality.<f> or _histogram.<f> (histogram_<f> per bucket, counts only) under facets.<f1>, level by level, as Socorro. crashstream allows at most three key fields (Socorro: any)."},
		{"_histogram.<f>, _histogram_interval.<f>", true, "histogram_<f> of a date or number field, split by term fields or _cardinality.<f>; date keys as Socorro's (2026-11-27T00:00:00+00:00). Date intervals 1h/hour, 1d/day, 1w/week, 1M/month (Socorro also accepts other Elasticsearch intervals); number intervals are positive integers."},
		{"_cardinality.<f> (parameter)", false, "crashstream's shorthand for _facets=_cardinality.<f>; Socorro has no such parameter."},
		{"protected fields", true, "On SuperSearch a protected field named anywhere is left out of the search, as Socorro does; crashstream also lists it in errors (type protected_field_dropped) where Socorro drops it silently. SuperSearchUnredacted needs view_pii and accepts them."},
		{"unknown fields", false, "400 naming the parameter and the field; Socorro ignores an unknown filter and some unknown facet values silently, which hides typos."},
		{"errors", true, "A list of objects with a type, as Socorro (which reports missing indices and failed shards; crashstream has neither, it reports dropped protected fields)."},
		{"_return_query", false, "400: crashstream has no Elasticsearch query to return."},
		{"SuperSearchFields", false, "Lists Socorro's field names (date, build_id, platform, ...) beside crashstream's, each alias saying what it stands for; protected fields are listed only to view_pii callers (Socorro lists every field with its permissions_needed)."},
	}
}
