// Package signature generates crash signatures the way Socorro does.
//
// A signature groups crashes: bug reports link to it and top-crasher
// history is kept per signature, so it must come out byte for byte as
// Socorro's (and siggen's, its extraction) for the same crash data, or those
// links and histories break. The pipeline is Socorro's ordered rule list;
// each rule may rewrite the signature and add notes, and a rule that fails
// on malformed data adds a note while the others still run.
//
// Crash data is the loosely typed JSON Socorro's signature code reads (see
// CrashData); the rules give its values Python's meanings so that odd input
// yields Socorro's answer too.
//
// Entry points: Config.Load (or DefaultLists) gives the signature lists;
// New(lists, RulesetSocorro) a *Generator; Generator.Generate turns
// CrashData (ParseCrashData for JSON, FromProcessedCrash for a processed
// crash) into a Result with the signature and notes. Users: the
// processor's rules, the webapp (its signature-generation API), the
// `signature` command and the sigcompat suite. It imports nothing of
// crashstream.
package signature

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// MaxLength is the longest signature; longer ones are cut to
// MaxLength-3 characters plus "...".
const MaxLength = 255

// Ruleset selects the rule list.
type Ruleset int

const (
	// RulesetSocorro is Socorro's processor ruleset. It adds
	// SigPrintableCharsOnly, which siggen 2.2.20241029 does not have.
	RulesetSocorro Ruleset = iota
	// RulesetSiggen is siggen 2.2.20241029's ruleset, for a drop-in
	// replacement of its `signify` command.
	RulesetSiggen
)

// CrashData is a crash_data object as decoded from JSON: values are nil,
// bool, string, json.Number (or float64/int when built in Go), []any and
// map[string]any. Decode with UseNumber (as ParseCrashData does): Python
// prints 7 and 7.0 differently, and a float64 cannot tell them apart (an
// integral float64 is taken for an int). Fields read: crashing_thread, threads, os, reason,
// java_stack_trace, java_exception, oom_allocation_size,
// js_large_allocation_failure, abort_message, mdsw_status_string,
// async_shutdown_timeout, ipc_channel_error, ipc_message_name,
// additional_minidumps and hang.
type CrashData = map[string]any

// Result is the outcome of signature generation.
type Result struct {
	// Signature is the crash signature.
	Signature string `json:"signature"`
	// ProtoSignature is every normalized frame of the crashing thread
	// joined with " | " (empty for Java crashes); it is searchable and
	// shows what the lists dropped.
	ProtoSignature string `json:"proto_signature"`
	// Notes explain unusual outcomes and rule failures, "<Rule>: <text>".
	Notes []string `json:"notes"`
	// NormalizedFrames are the frames ProtoSignature was built from.
	NormalizedFrames []string `json:"-"`
}

// Generator generates signatures. It is immutable after New and safe for
// concurrent use.
type Generator struct {
	lists *Lists
	norm  normalizer
	rules []rule
}

// New returns a generator using the given lists and ruleset.
func New(lists *Lists, ruleset Ruleset) *Generator {
	g := &Generator{lists: lists, norm: normalizer{lineNumbers: lists.LineNumbers}}
	g.rules = []rule{
		{"SignatureGenerationRule", nil, g.generateFromStack},
		{"StackwalkerErrorSignatureRule", stackwalkerErrorApplies, stackwalkerError},
		{"BadHardware", badHardwareApplies, badHardware},
		{"OOMSignature", oomApplies, oom},
		{"AbortSignature", abortApplies, abort},
		{"SignatureShutdownTimeout", shutdownTimeoutApplies, shutdownTimeout},
		{"SignatureRunWatchDog", runWatchdogApplies, g.runWatchdog},
		{"SignatureIPCChannelError", ipcChannelErrorApplies, ipcChannelError},
		{"SignatureIPCMessageName", ipcMessageNameApplies, ipcMessageName},
		{"StackOverflowSignature", stackOverflowApplies, stackOverflow},
		{"HungProcess", hangApplies, hang},
	}
	if ruleset == RulesetSocorro {
		g.rules = append(g.rules, rule{"SigPrintableCharsOnly", nil, printableCharsOnly})
	}
	g.rules = append(g.rules,
		rule{"SigFixWhitespace", nil, fixWhitespace},
		rule{"SigTruncate", truncateApplies, truncate},
	)
	return g
}

// rule is one step of the pipeline: applies (nil means always) decides
// whether action runs. Either may fail; the failure becomes a note.
type rule struct {
	name    string
	applies func(d CrashData, r *state) (bool, error)
	action  func(d CrashData, r *state) error
}

// state is the result being built, passed from rule to rule.
type state struct {
	Result
	rule string // the running rule, for notes
}

func (s *state) note(format string, args ...any) {
	s.Notes = append(s.Notes, s.rule+": "+fmt.Sprintf(format, args...))
}

// Generate runs the pipeline over one crash.
func (g *Generator) Generate(d CrashData) Result {
	s := &state{Result: Result{Notes: []string{}}}
	for _, r := range g.rules {
		s.rule = r.name
		if err := g.runRule(r, d, s); err != nil {
			s.note("Rule failed: %s", err)
		}
	}
	return s.Result
}

// runRule runs one rule. A panic (a bug: the rules are fuzzed not to) is
// turned into the rule's failure like any other error, so that one odd
// crash cannot stop a processor.
func (g *Generator) runRule(r rule, d CrashData, s *state) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal error: %v", p)
		}
	}()
	if r.applies != nil {
		ok, err := r.applies(d, s)
		if err != nil || !ok {
			return err
		}
	}
	return r.action(d, s)
}

// crashingThread is the crashing thread index as Socorro reads it: a
// missing or unreadable value means thread 0.
func crashingThread(d CrashData) (*big.Int, error) {
	v, ok := d["crashing_thread"]
	if !ok {
		return big.NewInt(0), nil
	}
	n, ok, err := pyInt(v)
	var re *ruleError
	if errors.As(err, &re) && strings.HasPrefix(re.msg, "cannot convert") {
		return nil, err // Python's OverflowError is not caught there
	}
	if !ok || err != nil {
		return big.NewInt(0), nil
	}
	return n, nil
}

// thread returns threads[i], or an empty object where Socorro's lookup
// falls back to its default.
func thread(d CrashData, i *big.Int) any {
	t, ok := glomPath(d, "threads", i.String())
	if !ok {
		return map[string]any{}
	}
	return t
}
