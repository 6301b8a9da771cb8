package rules

import (
	"github.com/crashstream/crashstream/schemas/fields"
	"github.com/crashstream/crashstream/schemas/protocol"
	"github.com/crashstream/crashstream/services/lib/signature"
)

// Default is Socorro's default ruleset, in its order, for what crashstream
// stores. Rules needing services crashstream does not have (Socorro's
// BetaVersion API lookup, Mozilla's theme and addon catalogues) are left out.
func Default(reg *fields.Registry, w Walker, gen *signature.Generator) Ruleset {
	return Ruleset{Name: protocol.RulesetDefault, Rules: []Rule{
		DeNull(),
		CrashReportKeys(),
		CollectorMetadata(),
		CopyFromRawCrash(reg),
		Identifier(),
		MinidumpSHA256(),
		Stackwalk(w),
		CrashingThreadInfo(),
		TruncateStacks(),
		PossibleBitFlips(),
		HasGuardPageAccess(),
		MajorVersion(),
		ProcessType(),
		DatesAndTimes(),
		JavaStackTrace(),
		MozCrashReason(),
		CPUInfo(),
		OSInfo(),
		OSPrettyVersion(),
		TopMostFiles(),
		ModulesInStack(),
		LoadedModules(),
		MissingSymbols(),
		SoftErrors(),
		ThreadCount(),
		TypedStack(),
		Signature(gen),
		ShutdownHangCrashingThread(),
	}}
}

// RegenerateSignature only runs the signature generator; the crash's
// JSONDump must be loaded from its stored processed crash.
func RegenerateSignature(gen *signature.Generator) Ruleset {
	return Ruleset{Name: protocol.RulesetRegenerateSignature, Rules: []Rule{
		Signature(gen),
		ShutdownHangCrashingThread(),
	}}
}
