package objectstore

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Key layout, shared with Antenna and Socorro so their tools can read our
// buckets: the "v1/" prefix versions the layout, and the raw crash is keyed
// by date so that verify-processed and retention can list one day at a time.
const (
	prefixRawCrash       = "v1/raw_crash/"
	prefixDumpNames      = "v1/dump_names/"
	prefixProcessedCrash = "v1/processed_crash/"
	prefixTelemetry      = "v1/crash_report/"
	// MainDumpField is the multipart field of the crashing process's dump.
	MainDumpField = "upload_file_minidump"
	// MainDumpName is the name MainDumpField is stored under.
	MainDumpName = "dump"
)

// crashIDRE is Antenna's crash id: a uuid4 text whose last seven characters
// are the throttle digit and the UTC date yymmdd. This file's patterns are
// compiled on first use, so that a command which never builds a key (the
// tool commands of the crashstream binary) does not pay for them at start.
var crashIDRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{6}[0-9]{6}$`)
})

// dumpNameRE is a sanitized dump name (see the collector): word characters,
// at most 30 of them.
var dumpNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_]{1,30}$`) })

// CheckCrashID reports whether id is a well-formed crash id. Every key
// function calls it, so an id taken from a URL cannot escape its prefix.
// strict also requires the throttle digit to be 0 (accept) or 1 (defer),
// as it is for every id the collector stores.
func CheckCrashID(id string, strict bool) error {
	if !crashIDRE().MatchString(id) {
		return fmt.Errorf("objectstore: %q is not a crash id", id)
	}
	if _, err := time.Parse("060102", id[len(id)-6:]); err != nil {
		return fmt.Errorf("objectstore: crash id %q has no valid yymmdd date", id)
	}
	if strict && id[len(id)-7] != '0' && id[len(id)-7] != '1' {
		return fmt.Errorf("objectstore: crash id %q has throttle digit %c (want 0 or 1)", id, id[len(id)-7])
	}
	return nil
}

// CrashDate is the UTC day encoded in a crash id's tail.
func CrashDate(id string) (time.Time, error) {
	if err := CheckCrashID(id, false); err != nil {
		return time.Time{}, err
	}
	return time.Parse("060102", id[len(id)-6:])
}

// RawCrashKey is v1/raw_crash/<YYYYMMDD>/<id>: the raw crash JSON. It is
// written last, so its presence means the crash is complete.
func RawCrashKey(id string) (string, error) {
	d, err := CrashDate(id)
	if err != nil {
		return "", err
	}
	return prefixRawCrash + d.Format("20060102") + "/" + id, nil
}

// RawCrashPrefix is the listing prefix of one UTC day's raw crashes.
func RawCrashPrefix(day time.Time) string {
	return prefixRawCrash + day.UTC().Format("20060102") + "/"
}

// DumpNamesKey is v1/dump_names/<id>: the JSON list of the crash's dump
// names (as submitted, so upload_file_minidump, not dump).
func DumpNamesKey(id string) (string, error) {
	if err := CheckCrashID(id, false); err != nil {
		return "", err
	}
	return prefixDumpNames + id, nil
}

// DumpKey is v1/<name>/<id>; the main dump (upload_file_minidump, or its
// stored name dump) goes to v1/dump/<id>.
func DumpKey(name, id string) (string, error) {
	if err := CheckCrashID(id, false); err != nil {
		return "", err
	}
	if name == MainDumpField {
		name = MainDumpName
	}
	if !dumpNameRE().MatchString(name) {
		return "", fmt.Errorf("objectstore: %q is not a dump name", name)
	}
	switch name {
	case "raw_crash", "dump_names", "processed_crash", "crash_report":
		return "", fmt.Errorf("objectstore: %q is a reserved name, not a dump name", name)
	}
	return "v1/" + name + "/" + id, nil
}

// ProcessedCrashKey is v1/processed_crash/<id>.
func ProcessedCrashKey(id string) (string, error) {
	if err := CheckCrashID(id, false); err != nil {
		return "", err
	}
	return prefixProcessedCrash + id, nil
}

// TelemetryKey is v1/crash_report/<YYYYMMDD>/<id> in the telemetry bucket.
func TelemetryKey(id string) (string, error) {
	d, err := CrashDate(id)
	if err != nil {
		return "", err
	}
	return prefixTelemetry + d.Format("20060102") + "/" + id, nil
}

// CrashIDFromKey returns the crash id at the end of any crash key.
func CrashIDFromKey(key string) (string, error) {
	id := key[strings.LastIndexByte(key, '/')+1:]
	return id, CheckCrashID(id, false)
}

// SymbolKey is the Breakpad symbol-server layout used in the symbols
// bucket: <debug_file>/<debug_id>/<debug_file with .pdb replaced by .sym,
// else with .sym appended>. Names that could escape the layout (path
// separators, dot names, control characters) are refused.
func SymbolKey(debugFile, debugID string) (string, error) {
	if debugFile == "" || debugFile == "." || debugFile == ".." || len(debugFile) > 256 ||
		strings.ContainsAny(debugFile, "/\\") || strings.IndexFunc(debugFile, isControl) >= 0 {
		return "", fmt.Errorf("objectstore: %q is not a debug file name", debugFile)
	}
	if !debugIDRE().MatchString(debugID) {
		return "", fmt.Errorf("objectstore: %q is not a debug id", debugID)
	}
	sym := debugFile + ".sym"
	if strings.HasSuffix(strings.ToLower(debugFile), ".pdb") {
		sym = debugFile[:len(debugFile)-4] + ".sym"
	}
	return debugFile + "/" + debugID + "/" + sym, nil
}

// debugIDRE: Breakpad debug ids are hex (33 chars for PDB/ELF ids with the
// age, 32 for some), upper case by convention; accept either case.
var debugIDRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9A-Fa-f]{1,64}$`) })

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// VersionsKey is where cron's versions job publishes the product/version
// catalogue (JSON) that the webapp's menus read.
const VersionsKey = "cron/versions.json"

// MissingSymbolsKey is where cron's missing-symbols job publishes its latest
// report (JSON) for the webapp's Missing Symbols page; MissingSymbolsDayKey
// keeps each day's report beside it.
const MissingSymbolsKey = "cron/missing-symbols/latest.json"

// MissingSymbolsDayKey is the missing-symbols report of one day (the job's
// day, which is UTC).
func MissingSymbolsDayKey(day time.Time) string {
	return "cron/missing-symbols/" + day.Format("20060102") + ".json"
}

// MissingProcessedPrefix is where cron's verify-processed records each raw
// crash it found without a processed crash (Socorro's MissingProcessedCrash
// table): one object per crash, its LastModified the time it was found. It
// is outside v1/ so no dump name can collide with it.
const MissingProcessedPrefix = "cron/missing-processed/"

// MissingProcessedKey is the record of one missing processed crash.
func MissingProcessedKey(id string) (string, error) {
	if err := CheckCrashID(id, false); err != nil {
		return "", err
	}
	return MissingProcessedPrefix + id, nil
}

// Reprocess jobs (the webapp's, after symbols arrive): one record per job
// under ReprocessJobsPrefix, a marker per unfinished job under
// ReprocessJobsActivePrefix (what the job drivers list), and the symbols
// bucket scan's watermark at ReprocessScanKey. Outside v1/ so no dump name
// can collide with them.
const (
	ReprocessJobsPrefix       = "reprocess-jobs/jobs/"
	ReprocessJobsActivePrefix = "reprocess-jobs/active/"
	ReprocessScanKey          = "reprocess-jobs/scan.json"
)

// reprocessJobIDRE is a job id: lower-case hex (a hash of what started it).
var reprocessJobIDRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{8,64}$`) })

// ReprocessJobKey is the record of one reprocess job.
func ReprocessJobKey(id string) (string, error) {
	if !reprocessJobIDRE().MatchString(id) {
		return "", fmt.Errorf("objectstore: %q is not a reprocess job id", id)
	}
	return ReprocessJobsPrefix + id + ".json", nil
}

// ReprocessJobActiveKey marks an unfinished job.
func ReprocessJobActiveKey(id string) (string, error) {
	if !reprocessJobIDRE().MatchString(id) {
		return "", fmt.Errorf("objectstore: %q is not a reprocess job id", id)
	}
	return ReprocessJobsActivePrefix + id, nil
}
