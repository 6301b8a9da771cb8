// Package supersearch parses Socorro's Super Search parameters into a typed,
// validated Query. It knows nothing of SQL: the clickhouse package turns a
// Query into bound-parameter SQL. The field set is injected (Fields), built
// from the field registry, so a field added there is searchable here, and the
// caller's permission decides whether protected fields may be used at all.
//
// Operators are value prefixes, as in Socorro:
//
//	(none) match: exact for strings and lists, equality for numbers and bools
//	~ contains   = exact   ^ starts with   $ ends with   @ regex (RE2)
//	> >= < <=    comparisons on numbers and dates
//	__null__     missing (empty string, empty list, NULL number or bool)
//	__true__     true (bools)
//	!            prefix negating any of the above
//
// Repeated values of one field: comparisons are ANDed (a range); the other
// positive values are ORed; negated values are ANDed (none of them matches).
//
// The date range is on DateField: default the last 7 days, at most 365 days.
// Pagination: _results_number ≤ 1000, _results_offset + _results_number ≤
// 10000. Every count, name and value is bounded so a request cannot make the
// query unbounded.
package supersearch
