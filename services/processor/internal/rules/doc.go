// Package rules is the processor's pipeline: an ordered, named list of
// rules that turns a raw crash and its dumps into a processed crash, the way
// Socorro's processor does.
//
// Contract of a rule (Socorro's, kept on purpose): a rule reads the raw
// crash, the dumps and what earlier rules wrote, and writes fields of the
// processed crash. A rule that fails — returns an error or panics — adds a
// processor note naming itself and the error, and the rest of the rules
// still run, so one broken annotation or dump never loses a crash. The
// signature rule runs last but one (after everything it reads), followed by
// the shutdown-hang fix-up.
//
// Rulesets are named so that reprocessing can ask for less than the full
// pipeline: "default" runs everything; "regenerate_signature" starts from
// the stored processed crash and only regenerates its signature.
package rules
