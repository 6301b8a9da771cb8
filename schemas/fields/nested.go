package fields

// The structured fields' keys. Permissions follow the json_dump, frame and
// module definitions of Socorro's processed_crash.schema.yaml: registers
// are protected ("can contain sensitive data"); keys Socorro does not list
// (mac_boot_args, handles, proc_limits, soft_errors, process_uptime,
// linux_memory_map_count, thread ids) are listed here as protected so that
// the leak test plants a marker in each; any key not listed at all is
// protected too. Deliberate difference: crash_info's adjusted_address,
// instruction_pointer_update and the memory accesses' kinds (which Socorro
// does not list) are public, as derived from the public crash address.

func pub(name string, t Type, kids ...Field) Field {
	return Field{Name: name, Type: t, Permission: Public, Fields: kids}
}

func prot(name string, t Type) Field { return Field{Name: name, Type: t, Permission: Protected} }

func repeated(f Field) Field { f.Repeated = true; return f }

// jsonDumpFrame is one frame of minidump-stackwalk's output.
func jsonDumpFrame() []Field {
	return []Field{
		pub("file", String), pub("frame", Int), pub("function", String), pub("function_offset", String),
		repeated(pub("inlines", Object, pub("function", String), pub("file", String), pub("line", Int))),
		pub("line", Int), pub("missing_symbols", Bool), pub("module", String), pub("module_offset", String),
		pub("offset", String),
		prot("registers", Object),
		pub("truncated", Object, pub("msg", String)),
		pub("trust", String),
		repeated(pub("unloaded_modules", Object, pub("module", String), pub("offsets", List))),
	}
}

func jsonDumpThread(crashing bool) []Field {
	f := []Field{
		pub("frame_count", Int), repeated(pub("frames", Object, jsonDumpFrame()...)), pub("last_error_value", String),
		prot("thread_id", Int), pub("thread_name", String), pub("truncated", Bool),
	}
	if crashing {
		f = append(f, pub("threads_index", Int))
	}
	return f
}

// jsonDumpFields are the keys of json_dump (minidump-stackwalk --json).
func jsonDumpFields() []Field {
	return []Field{
		pub("crash_info", Object,
			pub("address", String),
			// derived from the crash address and the instruction (the
			// report page shows them), like address itself
			pub("adjusted_address", Object, pub("kind", String), pub("address", String), pub("offset", String)),
			pub("assertion", String),
			pub("crash_inconsistencies", List), pub("crashing_thread", Int), pub("instruction", String),
			pub("instruction_pointer_update", Object, pub("kind", String), pub("address", String)),
			repeated(pub("memory_accesses", Object, pub("address", String), pub("size", Int), pub("access_type", String),
				pub("is_likely_guard_page", Bool), pub("is_likely_null_deref", Bool))),
			repeated(pub("possible_bit_flips", Object, pub("address", String), pub("confidence", Float),
				pub("details", Object, pub("was_non_canonical", Bool), pub("is_null", Bool), pub("was_low", Bool),
					pub("poison_registers", Bool), pub("nearby_registers", Int)),
				pub("source_register", String))),
			pub("type", String)),
		pub("crashing_thread", Object, jsonDumpThread(true)...),
		prot("handles", Object),
		prot("linux_memory_map_count", Int),
		pub("lsb_release", Object, pub("codename", String), pub("description", String), pub("id", String), pub("release", String)),
		prot("mac_boot_args", String),
		pub("mac_crash_info", Object, pub("num_records", Int),
			repeated(pub("records", Object, pub("abort_cause", String), pub("backtrace", String), pub("dialog_mode", String),
				pub("message", String), pub("message2", String), pub("module", String), pub("signature_string", String),
				pub("thread", String)))),
		pub("main_module", Int),
		repeated(pub("modules", Object, pub("base_addr", String), pub("cert_subject", String), pub("code_id", String),
			pub("corrupt_symbols", Bool), pub("debug_file", String), pub("debug_id", String), pub("end_addr", String),
			pub("filename", String), pub("loaded_symbols", Bool), pub("missing_symbols", Bool), pub("symbol_url", String),
			pub("version", String))),
		pub("modules_contains_cert_info", Bool),
		pub("pid", Int),
		prot("proc_limits", Object),
		prot("process_uptime", Int),
		prot("soft_errors", Object),
		pub("status", String),
		pub("system_info", Object, pub("cpu_arch", String), pub("cpu_count", Int), pub("cpu_info", String),
			pub("cpu_microcode_version", String), pub("os", String), pub("os_ver", String)),
		pub("thread_count", Int),
		repeated(pub("threads", Object, jsonDumpThread(false)...)),
		repeated(pub("unloaded_modules", Object, pub("base_addr", String), pub("end_addr", String), pub("code_id", String),
			pub("filename", String), pub("cert_subject", String))),
	}
}
