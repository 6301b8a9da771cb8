// Package protocol holds the string values that one service writes into a
// message and another reads back: the processor's ruleset names and the
// reasons of a ProcessRequest (crash.priority.v1, crash.reprocess.v1).
//
// The Avro schemas fix the shape of a message; these constants fix the
// meaning of its free-text fields. They live here, beside the schemas and
// not in a service, so that every producer (webapp, cron, the CLI) and the
// consumer (processor) name one definition and none imports another
// service. The package has no dependencies.
package protocol

import (
	"slices"
	"strings"
)

// Ruleset names, the ProcessRequest.Ruleset values the processor runs.
const (
	// RulesetDefault processes a crash from its raw crash and dumps. An
	// empty Ruleset means this one.
	RulesetDefault = "default"
	// RulesetRegenerateSignature only regenerates the signature of an
	// already processed crash (after a signature list change).
	RulesetRegenerateSignature = "regenerate_signature"
)

// Rulesets returns every ruleset name, in the order the API documents them.
func Rulesets() []string { return []string{RulesetDefault, RulesetRegenerateSignature} }

// IsRuleset reports whether name is a ruleset the processor runs.
func IsRuleset(name string) bool { return slices.Contains(Rulesets(), name) }

// ProcessRequest reasons: why a crash is asked to be processed (again).
// The processor acts on ReasonSymbols (it forgets remembered symbol misses
// first); the others are recorded for operators.
const (
	// ReasonPriority: a user opened the report of a crash not processed yet.
	ReasonPriority = "priority"
	// ReasonReprocess: the Reprocessing API or the report page's button.
	ReasonReprocess = "reprocess"
	// ReasonSymbols: symbols were uploaded that the crash was missing.
	ReasonSymbols = "symbols"
	// ReasonVerifyProcessed: cron's verify-processed job found a raw crash
	// without a processed crash.
	ReasonVerifyProcessed = "verify-processed: raw crash without processed crash"
)

// ModuleKey names a module the way the processor records a missing-symbols
// module (processed crash field missing_symbols_modules) and a symbol
// upload's reprocess job looks it up: "debug_file/DEBUG_ID", the debug id
// upper case (Breakpad's symbol layout has it so; clients differ).
func ModuleKey(debugFile, debugID string) string {
	return debugFile + "/" + strings.ToUpper(debugID)
}

// SplitModuleKey is ModuleKey's inverse: the debug file (itself possibly
// a path) and the debug id, split at the last slash; false when either
// part is empty.
func SplitModuleKey(key string) (debugFile, debugID string, ok bool) {
	i := strings.LastIndexByte(key, '/')
	if i <= 0 || i == len(key)-1 {
		return "", "", false
	}
	return key[:i], key[i+1:], true
}
