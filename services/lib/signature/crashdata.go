package signature

import (
	"encoding/json"
	"fmt"
)

// ParseCrashData decodes what siggen's signify reads: a crash_data object,
// or a processed crash (recognized by its json_dump), which is converted.
func ParseCrashData(b []byte) (CrashData, error) {
	v, err := parseJSON(b)
	if err != nil {
		return nil, fmt.Errorf("crash data: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("crash data: want a JSON object, got %s", pyType(v))
	}
	if _, ok := m["json_dump"]; ok {
		return FromProcessedCrash(m), nil
	}
	return m, nil
}

// FromProcessedCrash picks a processed crash's signature inputs, as
// Socorro's processor does before it generates a signature: the crashing
// thread, reason, threads and OS come from the stackwalker output
// (json_dump), the rest from annotation fields of the same names.
func FromProcessedCrash(p map[string]any) CrashData {
	lookup := func(path ...string) any {
		v, _ := glomPath(p, path...)
		return v
	}
	d := CrashData{
		"hang":                        lookup("hang"),
		"oom_allocation_size":         intOrNone(lookup("oom_allocation_size")),
		"js_large_allocation_failure": lookup("js_large_allocation_failure"),
		"abort_message":               lookup("abort_message"),
		"mdsw_status_string":          lookup("mdsw_status_string"),
		"async_shutdown_timeout":      lookup("async_shutdown_timeout"),
		"ipc_channel_error":           lookup("ipc_channel_error"),
		"ipc_message_name":            lookup("ipc_message_name"),
		"additional_minidumps":        []any{},
		"original_signature":          "",
	}
	if v, ok := glomPath(p, "additional_minidumps"); ok {
		d["additional_minidumps"] = v
	}
	if v, ok := glomPath(p, "signature"); ok {
		d["original_signature"] = v
	}
	if _, ok := p["json_dump"]; ok {
		d["crashing_thread"] = lookup("json_dump", "crash_info", "crashing_thread")
		d["reason"] = lookup("json_dump", "crash_info", "type")
		d["threads"] = lookup("json_dump", "threads")
		d["os"] = lookup("json_dump", "system_info", "os")
	}
	if v, ok := p["java_exception"]; ok {
		d["java_exception"] = v
	}
	if v, ok := p["java_stack_trace"]; ok {
		d["java_stack_trace"] = v
	}
	return d
}

// intOrNone is int(v), or nil where that fails.
func intOrNone(v any) any {
	n, ok, err := pyInt(v)
	if !ok || err != nil {
		return nil
	}
	return json.Number(n.String())
}
