package rules

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/crashstream/crashstream/services/lib/signature"
)

// Signature generates the crash signature from the stackwalk output and the
// annotations, with Socorro's signature pipeline. Its notes join the
// processor notes.
func Signature(gen *signature.Generator) Rule {
	return Func("SignatureGenerator", func(_ context.Context, c *Crash) error {
		res := gen.Generate(c.signatureInput())
		c.Processed.Signature = res.Signature
		c.Processed.ProtoSignature = res.ProtoSignature
		for _, n := range res.Notes {
			c.Note(n)
		}
		return nil
	})
}

// signatureInput is siggen's crash_data, built the way Socorro converts a
// processed crash: stack facts from json_dump, the rest from fields.
func (c *Crash) signatureInput() signature.CrashData {
	pc := c.Processed
	d := signature.CrashData{
		"os":                          c.dumpString("system_info", "os"),
		"reason":                      c.dumpString("crash_info", "type"),
		"threads":                     c.dumpPath("threads"),
		"java_stack_trace":            nonEmpty(pc.JavaStackTrace),
		"abort_message":               nonEmpty(pc.AbortMessage),
		"mdsw_status_string":          nonEmpty(pc.MDSWStatusString),
		"async_shutdown_timeout":      nonEmpty(pc.AsyncShutdownTimeout),
		"ipc_channel_error":           nonEmpty(pc.IPCChannelError),
		"ipc_message_name":            nonEmpty(pc.IPCMessageName),
		"js_large_allocation_failure": nonEmpty(pc.JSLargeAllocationFailure),
		"additional_minidumps":        strings.Join(pc.AdditionalMinidumps, ","),
	}
	if ct := c.dumpPath("crash_info", "crashing_thread"); ct != nil {
		d["crashing_thread"] = ct
	}
	if pc.OOMAllocationSize != nil {
		d["oom_allocation_size"] = json.Number(strconv.FormatInt(*pc.OOMAllocationSize, 10))
	}
	if h, ok := c.Annotation("Hang"); ok {
		d["hang"] = h
	}
	if je, ok := c.Annotation("JavaException"); ok && je != "" {
		var v any
		if json.Unmarshal([]byte(je), &v) == nil {
			d["java_exception"] = v
		}
	}
	for k, v := range d {
		if v == nil {
			delete(d, k)
		}
	}
	return d
}

func nonEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// ShutdownHangCrashingThread: shutdown hangs are about the main thread, so
// Socorro points crashing_thread at thread 0 for them.
func ShutdownHangCrashingThread() Rule {
	return Func("ShutDownHangCrashingThread", func(_ context.Context, c *Crash) error {
		if strings.HasPrefix(c.Processed.Signature, "shutdownhang") {
			c.Processed.CrashingThread = ptr(int64(0))
		}
		return nil
	})
}
