// Package supersearch parses Socorro's Super Search parameters into a typed,
// validated Query. It knows nothing of SQL: the clickhouse package turns a
// Query into bound-parameter SQL. The field set is injected (Fields), built
// from the field registry, so a field added there is searchable here.
//
// The contract is Socorro's, so its clients (crashstats-tools' supersearch
// and supersearchfacet, scripts written against crash-stats) work unchanged:
// Socorro's field names (Aliases: date, build_id, platform, ...) answered
// under the name asked, its date forms, _facets_size=0 (no aggregation),
// _cardinality.<f> and _histogram.<f> inside _facets, _aggs (up to three
// key fields) and _histogram values, and a protected field the caller may
// not use left out of the search (Query.Dropped) rather than refused.
// Contract lists each parameter with crashstream's support, and why where
// it differs; the webapp's API documentation page renders it.
//
// Operators are value prefixes, as in Socorro:
//
//	(none) match: exact for strings and lists, equality for numbers and bools
//	~ contains   = exact   ^ starts with   $ ends with   @ regex (RE2)
//	> >= < <=    comparisons on numbers and dates
//	__null__     missing (empty string, empty list, NULL number or bool)
//	__true__     true (bools)
//	!            prefix negating any of the above; a crash without the
//	             field matches every negation (Elasticsearch's not-filter)
//
// Repeated values of one field: comparisons are ANDed (a range); the other
// positive values are ORed; negated values are ANDed (none of them matches).
//
// The date range is on DateField: default the last 7 days, at most 365 days.
// Pagination: _results_number ≤ 1000, _results_offset + _results_number ≤
// 10000. Every count, name and value is bounded so a request cannot make the
// query unbounded.
package supersearch
