package schemas

import "time"

// CrashReceived is the value of crash.received.v1: the collector stored a
// crash report (dumps first, then the raw crash) and hands it to the
// processor. It carries what routing and dashboards need without a read of
// the object store; the processor still reads the raw crash for the rest.
type CrashReceived struct {
	// CrashID is the crash report id (also the record key).
	CrashID string `avro:"crash_id"`
	// SubmittedTimestamp is when the collector accepted the report, UTC.
	SubmittedTimestamp time.Time `avro:"submitted_timestamp"`
	// Product is the ProductName annotation.
	Product string `avro:"product"`
	// Version is the Version annotation.
	Version string `avro:"version"`
	// ReleaseChannel is the ReleaseChannel annotation.
	ReleaseChannel string `avro:"release_channel"`
	// ProcessType is the ProcessType annotation; empty for the parent process.
	ProcessType string `avro:"process_type"`
	// ThrottleRule names the throttle rule that accepted the report.
	ThrottleRule string `avro:"throttle_rule"`
	// Dumps lists the dumps stored with the crash.
	Dumps []Dump `avro:"dumps"`
	// RawCrashKey is the object key of the raw crash JSON.
	RawCrashKey string `avro:"raw_crash_key"`
}

// Dump describes one dump stored with a crash.
type Dump struct {
	// Name is the stored dump name (upload_file_minidump is stored as dump).
	Name string `avro:"name"`
	// Size is the dump size in bytes.
	Size int64 `avro:"size"`
	// SHA256 is the hex SHA-256 of the dump bytes.
	SHA256 string `avro:"sha256"`
}

// ProcessRequest is the value of crash.priority.v1 and crash.reprocess.v1:
// a request to run the processor on a stored crash, with a ruleset.
type ProcessRequest struct {
	// CrashID is the crash report id (also the record key).
	CrashID string `avro:"crash_id"`
	// Reason says why: priority, reprocess, verifyprocessed, ...
	Reason string `avro:"reason"`
	// Ruleset names the processor ruleset: default or regenerate_signature.
	Ruleset string `avro:"ruleset"`
	// RequestedAt is when the request was made, UTC.
	RequestedAt time.Time `avro:"requested_at"`
	// RequestedBy is a service name or API user; never a secret.
	RequestedBy string `avro:"requested_by"`
}

// Frame is one frame of a crashing thread, as the stackwalker reports it.
type Frame struct {
	// Frame is the frame index, 0 = top of the stack.
	Frame int64 `avro:"frame"`
	// Module is the basename of the module holding the instruction.
	Module string `avro:"module"`
	// Function is the function name; empty without symbols.
	Function string `avro:"function"`
	// File is the source file of the function.
	File string `avro:"file"`
	// Line is the source line, when known.
	Line *int64 `avro:"line"`
	// Offset is the instruction address, hex.
	Offset string `avro:"offset"`
	// ModuleOffset is the offset from the module base, hex.
	ModuleOffset string `avro:"module_offset"`
	// FunctionOffset is the offset from the function start, hex.
	FunctionOffset string `avro:"function_offset"`
	// Trust says how the frame was found: context, cfi, frame_pointer, scan, ...
	Trust string `avro:"trust"`
	// MissingSymbols is true when the module had no symbols.
	MissingSymbols bool `avro:"missing_symbols"`
}

// Module is one module loaded in the crashed process.
type Module struct {
	// Filename is the basename of the module file.
	Filename string `avro:"filename"`
	// DebugFile is the debug file name (PDB or ELF name).
	DebugFile string `avro:"debug_file"`
	// DebugID is the Breakpad debug id.
	DebugID string `avro:"debug_id"`
	// CodeID is the code id (PE timestamp+size, ELF build id).
	CodeID string `avro:"code_id"`
	// Version is the module version.
	Version string `avro:"version"`
	// BaseAddr is the load address, hex.
	BaseAddr string `avro:"base_addr"`
	// EndAddr is the end address, hex.
	EndAddr string `avro:"end_addr"`
	// SymbolURL says where the symbols came from.
	SymbolURL string `avro:"symbol_url"`
	// LoadedSymbols is true when symbols were loaded.
	LoadedSymbols bool `avro:"loaded_symbols"`
	// MissingSymbols is true when symbols were looked for and not found.
	MissingSymbols bool `avro:"missing_symbols"`
	// CorruptSymbols is true when the symbol file did not parse.
	CorruptSymbols bool `avro:"corrupt_symbols"`
}

// ProcessedCrash is the value of crash.processed.v1: the processor's output
// for one crash, in Socorro's processed-crash shape. Scalar fields mirror
// the field registry (schemas/fields), which says for each one whether it
// is public, searchable, exported to telemetry and which annotation it is
// copied from. Optional numbers and booleans are pointers (nil = absent);
// absent strings are empty.
//
// It holds protected fields (user comments, URL, ...): redaction is the
// reader's job, driven by the field registry.
type ProcessedCrash struct {
	// CrashID crash report id: a uuid4 whose 7th-from-last char is the throttle result and whose last six chars are the UTC submission date yymmdd.
	CrashID string `avro:"crash_id"`
	// UUID same value as crash_id; kept because Socorro's API and clients use both names.
	UUID string `avro:"uuid"`
	// DateProcessed when the processor finished this processing of the crash (UTC). Renamed date in telemetry.
	DateProcessed time.Time `avro:"date_processed"`
	// SubmittedTimestamp when the collector accepted the crash report (UTC).
	SubmittedTimestamp time.Time `avro:"submitted_timestamp"`
	// CrashTime client clock at the crash, seconds since the Unix epoch, as the client reported it.
	CrashTime *int64 `avro:"crash_time"`
	// Product product name, e.g. Firefox.
	Product string `avro:"product"`
	// ProductID product identifier (an application GUID for Mozilla products).
	ProductID string `avro:"productid"`
	// Version product version, e.g. 130.0b3.
	Version string `avro:"version"`
	// MajorVersion major part of version, derived by the processor.
	MajorVersion *int64 `avro:"major_version"`
	// ReleaseChannel update channel: nightly, aurora, beta, release, esr or another value.
	ReleaseChannel string `avro:"release_channel"`
	// Build build id, a YYYYMMDDHHMMSS timestamp. Renamed build_id in telemetry.
	Build *int64 `avro:"build"`
	// ProcessType process that crashed: parent (browser), content, gpu, rdd, socket, utility, gmplugin, ...
	ProcessType string `avro:"process_type"`
	// RemoteType kind of content process (web, file, extension, ...).
	RemoteType string `avro:"remote_type"`
	// ReportType crash or hang.
	ReportType string `avro:"report_type"`
	// OSName operating system family from the minidump: Windows NT, Mac OS X, Linux, Android, iOS. Renamed platform in telemetry.
	OSName string `avro:"os_name"`
	// OSVersion operating system version from the minidump. Renamed platform_version in telemetry.
	OSVersion string `avro:"os_version"`
	// OSPrettyVersion readable OS name and version, e.g. Windows 10. Renamed platform_pretty_version in telemetry.
	OSPrettyVersion string `avro:"os_pretty_version"`
	// CPUArch cPU architecture: x86, amd64, arm, arm64.
	CPUArch string `avro:"cpu_arch"`
	// CPUInfo cPU vendor, family, model and stepping.
	CPUInfo string `avro:"cpu_info"`
	// CPUCount number of CPUs.
	CPUCount *int64 `avro:"cpu_count"`
	// CPUMicrocodeVersion cPU microcode version.
	CPUMicrocodeVersion string `avro:"cpu_microcode_version"`
	// Reason crash reason (exception or signal), e.g. EXCEPTION_ACCESS_VIOLATION_READ, SIGSEGV.
	Reason string `avro:"reason"`
	// Address crash address, hex; meaningful for bad memory accesses.
	Address string `avro:"address"`
	// CrashingThread index of the crashing thread in the stackwalk's thread list.
	CrashingThread *int64 `avro:"crashing_thread"`
	// CrashingThreadName name of the crashing thread, when the dump has thread names.
	CrashingThreadName string `avro:"crashing_thread_name"`
	// LastErrorValue windows last error value of the crashing thread.
	LastErrorValue string `avro:"last_error_value"`
	// Signature crash signature: the normalized, joined top frames of the crashing thread (at most 255 chars).
	Signature string `avro:"signature"`
	// ProtoSignature all normalized frames of the crashing thread, joined; input of the signature.
	ProtoSignature string `avro:"proto_signature"`
	// TopmostFilenames source files of the top frames of the crashing thread.
	TopmostFilenames []string `avro:"topmost_filenames"`
	// ModulesInStack filename/debug_id of each module in the crashing thread's stack.
	ModulesInStack []string `avro:"modules_in_stack"`
	// CrashingThreadFrames frames of the crashing thread as typed records (the full stack stays in json_dump).
	CrashingThreadFrames []Frame `avro:"crashing_thread_frames"`
	// Modules loaded modules as typed records.
	Modules []Module `avro:"modules"`
	// JSONDump the whole stackwalk output (minidump-stackwalk JSON schema) as JSON text.
	JSONDump string `avro:"json_dump"`
	// Uptime seconds the process ran before crashing (crash time minus start time).
	Uptime *int64 `avro:"uptime"`
	// InstallAge seconds since this version was installed, at crash time.
	InstallAge *int64 `avro:"install_age"`
	// InstallTime when this version was installed, seconds since the Unix epoch.
	InstallTime *int64 `avro:"install_time"`
	// StartupTime when the process started, seconds since the Unix epoch.
	StartupTime *int64 `avro:"startup_time"`
	// LastCrash seconds between the previous crash and this one; low values mean repeated crashes.
	LastCrash *int64 `avro:"last_crash"`
	// StartupCrash true when the crash happened before startup finished.
	StartupCrash *bool `avro:"startup_crash"`
	// OOMAllocationSize size in bytes of the allocation that failed, for out-of-memory crashes.
	OOMAllocationSize *int64 `avro:"oom_allocation_size"`
	// JSLargeAllocationFailure set when a large JS allocation failed (Recovered, Reporting).
	JSLargeAllocationFailure string `avro:"js_large_allocation_failure"`
	// MozCrashReason mOZ_CRASH / MOZ_RELEASE_ASSERT message, sanitized by the processor.
	MozCrashReason string `avro:"moz_crash_reason"`
	// MozCrashReasonRaw mOZ_CRASH message as sent by the client (may hold personal data).
	MozCrashReasonRaw string `avro:"moz_crash_reason_raw"`
	// AbortMessage message of an abort().
	AbortMessage string `avro:"abort_message"`
	// AsyncShutdownTimeout jSON describing blockers of an async shutdown timeout.
	AsyncShutdownTimeout string `avro:"async_shutdown_timeout"`
	// ShutdownProgress shutdown phase at the crash.
	ShutdownProgress string `avro:"shutdown_progress"`
	// ShutdownReason why the application was shutting down.
	ShutdownReason string `avro:"shutdown_reason"`
	// QuotaManagerShutdownTimeout quota manager state at a shutdown timeout.
	QuotaManagerShutdownTimeout string `avro:"quota_manager_shutdown_timeout"`
	// IPCChannelError iPC channel error.
	IPCChannelError string `avro:"ipc_channel_error"`
	// IPCFatalErrorMsg message of an IPC fatal error.
	IPCFatalErrorMsg string `avro:"ipc_fatal_error_msg"`
	// IPCFatalErrorProtocol protocol of an IPC fatal error.
	IPCFatalErrorProtocol string `avro:"ipc_fatal_error_protocol"`
	// IPCMessageName name of the IPC message being handled.
	IPCMessageName string `avro:"ipc_message_name"`
	// IPCSystemError system error code of an IPC failure.
	IPCSystemError string `avro:"ipc_system_error"`
	// UserComments comments the user typed into the crash reporter.
	UserComments string `avro:"user_comments"`
	// URL uRL of the page being viewed.
	URL string `avro:"url"`
	// Addons enabled add-ons as id:version.
	Addons []string `avro:"addons"`
	// AddonsChecked value of the extensions.checkCompatibility preference.
	AddonsChecked *bool `avro:"addons_checked"`
	// Theme current theme.
	Theme string `avro:"theme"`
	// Accessibility true when accessibility services were active.
	Accessibility *bool `avro:"accessibility"`
	// AdapterDeviceID graphics adapter device id.
	AdapterDeviceID string `avro:"adapter_device_id"`
	// AdapterDriverVersion graphics adapter driver version.
	AdapterDriverVersion string `avro:"adapter_driver_version"`
	// AdapterSubsysID graphics adapter subsystem id.
	AdapterSubsysID string `avro:"adapter_subsys_id"`
	// AdapterVendorID graphics adapter vendor id (e.g. 0x8086 Intel, 0x10de NVIDIA).
	AdapterVendorID string `avro:"adapter_vendor_id"`
	// AndroidBoard android board.
	AndroidBoard string `avro:"android_board"`
	// AndroidBrand android device brand.
	AndroidBrand string `avro:"android_brand"`
	// AndroidCPUABI android primary CPU ABI.
	AndroidCPUABI string `avro:"android_cpu_abi"`
	// AndroidCPUABI2 android secondary CPU ABI.
	AndroidCPUABI2 string `avro:"android_cpu_abi2"`
	// AndroidDevice android device name.
	AndroidDevice string `avro:"android_device"`
	// AndroidHardware android device hardware.
	AndroidHardware string `avro:"android_hardware"`
	// AndroidManufacturer android device manufacturer.
	AndroidManufacturer string `avro:"android_manufacturer"`
	// AndroidModel android device model.
	AndroidModel string `avro:"android_model"`
	// AndroidPackagename android package name.
	AndroidPackagename string `avro:"android_packagename"`
	// AndroidVersion android version and API level.
	AndroidVersion string `avro:"android_version"`
	// AppInitDLLs dLLs injected through the AppInit_DLLs registry key.
	AppInitDLLs string `avro:"app_init_dlls"`
	// AppNotes application notes, mostly graphics annotations.
	AppNotes string `avro:"app_notes"`
	// AvailablePageFile available page file, bytes.
	AvailablePageFile *int64 `avro:"available_page_file"`
	// AvailablePhysicalMemory available physical memory, bytes.
	AvailablePhysicalMemory *int64 `avro:"available_physical_memory"`
	// AvailableVirtualMemory available virtual memory of the process, bytes.
	AvailableVirtualMemory *int64 `avro:"available_virtual_memory"`
	// TotalPageFile total page file, bytes.
	TotalPageFile *int64 `avro:"total_page_file"`
	// TotalPhysicalMemory total physical memory, bytes.
	TotalPhysicalMemory *int64 `avro:"total_physical_memory"`
	// TotalVirtualMemory size of the process's user-mode address space, bytes.
	TotalVirtualMemory *int64 `avro:"total_virtual_memory"`
	// SystemMemoryUsePercentage percentage of physical memory in use.
	SystemMemoryUsePercentage *int64 `avro:"system_memory_use_percentage"`
	// BIOSManufacturer bIOS manufacturer.
	BIOSManufacturer string `avro:"bios_manufacturer"`
	// BackgroundTaskName name of the background task that crashed.
	BackgroundTaskName string `avro:"background_task_name"`
	// ContentSandboxLevel content process sandbox level.
	ContentSandboxLevel *int64 `avro:"content_sandbox_level"`
	// DistributionID distribution id of a repackaged build.
	DistributionID string `avro:"distribution_id"`
	// DOMFissionEnabled true when site isolation (Fission) was enabled.
	DOMFissionEnabled *bool `avro:"dom_fission_enabled"`
	// DOMIPCEnabled true when multi-process (e10s) was enabled.
	DOMIPCEnabled *bool `avro:"dom_ipc_enabled"`
	// GMPPlugin true when the crash was in a Gecko media plugin.
	GMPPlugin *bool `avro:"gmp_plugin"`
	// GraphicsCriticalError log of graphics errors.
	GraphicsCriticalError string `avro:"graphics_critical_error"`
	// GraphicsStartupTest true when the crash happened in the graphics driver startup test.
	GraphicsStartupTest *bool `avro:"graphics_startup_test"`
	// IsGarbageCollecting true when a garbage collection was running.
	IsGarbageCollecting *bool `avro:"is_garbage_collecting"`
	// JavaStackTrace java stack trace, sanitized by the processor.
	JavaStackTrace string `avro:"java_stack_trace"`
	// JavaStackTraceRaw java stack trace as sent by the client (may hold personal data).
	JavaStackTraceRaw string `avro:"java_stack_trace_raw"`
	// MacAvailableMemorySysctl macOS available memory level.
	MacAvailableMemorySysctl *int64 `avro:"mac_available_memory_sysctl"`
	// MacMemoryPressure macOS memory pressure state.
	MacMemoryPressure string `avro:"mac_memory_pressure"`
	// MacBootArgs macOS kernel boot arguments from the minidump.
	MacBootArgs string `avro:"mac_boot_args"`
	// PHCKind kind of memory error found by PHC (use-after-free, guard page).
	PHCKind string `avro:"phc_kind"`
	// PHCBaseAddress base address of the PHC allocation.
	PHCBaseAddress string `avro:"phc_base_address"`
	// PHCUsableSize usable size of the PHC allocation, bytes.
	PHCUsableSize *int64 `avro:"phc_usable_size"`
	// PHCAllocStack allocation stack of the PHC allocation.
	PHCAllocStack string `avro:"phc_alloc_stack"`
	// PHCFreeStack free stack of the PHC allocation.
	PHCFreeStack string `avro:"phc_free_stack"`
	// Breadcrumbs breadcrumbs JSON sent by the client.
	Breadcrumbs string `avro:"breadcrumbs"`
	// HasGuardPageAccess true when a memory access hit a guard page.
	HasGuardPageAccess *bool `avro:"has_guard_page_access"`
	// PossibleBitFlipsMaxConfidence highest confidence (0-100) that the crash address is a bit flip.
	PossibleBitFlipsMaxConfidence *int64 `avro:"possible_bit_flips_max_confidence"`
	// SafeMode true when the application ran in safe mode.
	SafeMode *bool `avro:"safe_mode"`
	// SubmittedFrom how the report was submitted: Client, CrashedTab, Infobar, AboutCrashes, Auto.
	SubmittedFrom string `avro:"submitted_from"`
	// SubmittedFromInfobar true when submitted through the infobar.
	SubmittedFromInfobar *bool `avro:"submitted_from_infobar"`
	// Throttleable false when the client asked not to be throttled.
	Throttleable *bool `avro:"throttleable"`
	// UseragentLocale locale of the application.
	UseragentLocale string `avro:"useragent_locale"`
	// UtilityActorsName actors running in the utility process.
	UtilityActorsName []string `avro:"utility_actors_name"`
	// UtilityProcessSandboxingKind sandboxing kind of the utility process.
	UtilityProcessSandboxingKind *int64 `avro:"utility_process_sandboxing_kind"`
	// WindowsErrorReporting true when the crash came through Windows Error Reporting.
	WindowsErrorReporting *bool `avro:"windows_error_reporting"`
	// XPCOMSpinEventLoopStack nested event loop spin stack.
	XPCOMSpinEventLoopStack string `avro:"xpcom_spin_event_loop_stack"`
	// ThreadCount number of threads in the minidump.
	ThreadCount *int64 `avro:"thread_count"`
	// MinidumpSHA256Hash sHA-256 of the main minidump, hex.
	MinidumpSHA256Hash string `avro:"minidump_sha256_hash"`
	// AdditionalMinidumps names of the other minidumps of this crash (multi-process crashes).
	AdditionalMinidumps []string `avro:"additional_minidumps"`
	// CrashReportKeys names of every annotation and dump the client sent.
	CrashReportKeys []string `avro:"crash_report_keys"`
	// CollectorNotes notes the collector wrote while accepting the report.
	CollectorNotes []string `avro:"collector_notes"`
	// ProcessorNotes notes the processor wrote: what it changed and what failed.
	ProcessorNotes string `avro:"processor_notes"`
	// Success true when the stackwalk succeeded.
	Success *bool `avro:"success"`
	// MDSWReturnCode exit code of the stackwalker.
	MDSWReturnCode *int64 `avro:"mdsw_return_code"`
	// MDSWStatusString status of the stackwalk: OK or an error name.
	MDSWStatusString string `avro:"mdsw_status_string"`
	// MDSWStderr stderr of the stackwalker.
	MDSWStderr string `avro:"mdsw_stderr"`
	// StackwalkVersion name and version of the stackwalker.
	StackwalkVersion string `avro:"stackwalk_version"`
	// ApplicationBuildID build id of the application when it differs from BuildID (Fenix and Focus: the app, while BuildID is GeckoView's).
	ApplicationBuildID string `avro:"application_build_id"`
	// Vendor application vendor, e.g. Mozilla.
	Vendor string `avro:"vendor"`
	// UptimeTS process uptime in seconds, with sub-second precision, as the client measured it.
	UptimeTS *float64 `avro:"uptime_ts"`
	// HasDeviceTouchScreen true when the device had a touch screen (desktop).
	HasDeviceTouchScreen *bool `avro:"has_device_touch_screen"`
	// IPCMessageSize size in bytes of the IPC message that was too large.
	IPCMessageSize *int64 `avro:"ipc_message_size"`
	// IPCShutdownState iPC shutdown state of a content process: RecvShutdown or SendFinishShutdown.
	IPCShutdownState string `avro:"ipc_shutdown_state"`
	// DumperError error of the minidump writer, when dumping failed.
	DumperError string `avro:"dumper_error"`
	// SignatureDebug log of the signature generation, for debugging it.
	SignatureDebug string `avro:"signature_debug"`
	// ProcessorHistory processor_notes of earlier processings of this crash, oldest first.
	ProcessorHistory []string `avro:"processor_history"`
}

// TelemetryCrash is the value of crash.telemetry.v1: the public fields of a
// processed crash that Socorro's telemetry export carries, with its five
// renames (build->build_id, date_processed->date, os_name->platform,
// os_version->platform_version, os_pretty_version->platform_pretty_version).
type TelemetryCrash struct {
	// CrashID crash report id: a uuid4 whose 7th-from-last char is the throttle result and whose last six chars are the UTC submission date yymmdd.
	CrashID string `avro:"crash_id"`
	// UUID same value as crash_id; kept because Socorro's API and clients use both names.
	UUID string `avro:"uuid"`
	// Date when the processor finished this processing of the crash (UTC). Renamed date in telemetry.
	Date time.Time `avro:"date"`
	// Product product name, e.g. Firefox.
	Product string `avro:"product"`
	// ProductID product identifier (an application GUID for Mozilla products).
	ProductID string `avro:"productid"`
	// Version product version, e.g. 130.0b3.
	Version string `avro:"version"`
	// ReleaseChannel update channel: nightly, aurora, beta, release, esr or another value.
	ReleaseChannel string `avro:"release_channel"`
	// BuildID build id, a YYYYMMDDHHMMSS timestamp. Renamed build_id in telemetry.
	BuildID *int64 `avro:"build_id"`
	// ProcessType process that crashed: parent (browser), content, gpu, rdd, socket, utility, gmplugin, ...
	ProcessType string `avro:"process_type"`
	// Platform operating system family from the minidump: Windows NT, Mac OS X, Linux, Android, iOS. Renamed platform in telemetry.
	Platform string `avro:"platform"`
	// PlatformVersion operating system version from the minidump. Renamed platform_version in telemetry.
	PlatformVersion string `avro:"platform_version"`
	// PlatformPrettyVersion readable OS name and version, e.g. Windows 10. Renamed platform_pretty_version in telemetry.
	PlatformPrettyVersion string `avro:"platform_pretty_version"`
	// CPUArch cPU architecture: x86, amd64, arm, arm64.
	CPUArch string `avro:"cpu_arch"`
	// CPUInfo cPU vendor, family, model and stepping.
	CPUInfo string `avro:"cpu_info"`
	// CPUMicrocodeVersion cPU microcode version.
	CPUMicrocodeVersion string `avro:"cpu_microcode_version"`
	// Reason crash reason (exception or signal), e.g. EXCEPTION_ACCESS_VIOLATION_READ, SIGSEGV.
	Reason string `avro:"reason"`
	// Address crash address, hex; meaningful for bad memory accesses.
	Address string `avro:"address"`
	// Signature crash signature: the normalized, joined top frames of the crashing thread (at most 255 chars).
	Signature string `avro:"signature"`
	// ProtoSignature all normalized frames of the crashing thread, joined; input of the signature.
	ProtoSignature string `avro:"proto_signature"`
	// TopmostFilenames source files of the top frames of the crashing thread.
	TopmostFilenames []string `avro:"topmost_filenames"`
	// CrashingThreadFrames frames of the crashing thread as typed records (the full stack stays in json_dump).
	CrashingThreadFrames []Frame `avro:"crashing_thread_frames"`
	// Modules loaded modules as typed records.
	Modules []Module `avro:"modules"`
	// Uptime seconds the process ran before crashing (crash time minus start time).
	Uptime *int64 `avro:"uptime"`
	// InstallAge seconds since this version was installed, at crash time.
	InstallAge *int64 `avro:"install_age"`
	// LastCrash seconds between the previous crash and this one; low values mean repeated crashes.
	LastCrash *int64 `avro:"last_crash"`
	// StartupCrash true when the crash happened before startup finished.
	StartupCrash *bool `avro:"startup_crash"`
	// OOMAllocationSize size in bytes of the allocation that failed, for out-of-memory crashes.
	OOMAllocationSize *int64 `avro:"oom_allocation_size"`
	// MozCrashReason mOZ_CRASH / MOZ_RELEASE_ASSERT message, sanitized by the processor.
	MozCrashReason string `avro:"moz_crash_reason"`
	// AbortMessage message of an abort().
	AbortMessage string `avro:"abort_message"`
	// ShutdownProgress shutdown phase at the crash.
	ShutdownProgress string `avro:"shutdown_progress"`
	// IPCChannelError iPC channel error.
	IPCChannelError string `avro:"ipc_channel_error"`
	// IPCFatalErrorMsg message of an IPC fatal error.
	IPCFatalErrorMsg string `avro:"ipc_fatal_error_msg"`
	// IPCFatalErrorProtocol protocol of an IPC fatal error.
	IPCFatalErrorProtocol string `avro:"ipc_fatal_error_protocol"`
	// IPCMessageName name of the IPC message being handled.
	IPCMessageName string `avro:"ipc_message_name"`
	// IPCSystemError system error code of an IPC failure.
	IPCSystemError string `avro:"ipc_system_error"`
	// Addons enabled add-ons as id:version.
	Addons []string `avro:"addons"`
	// AddonsChecked value of the extensions.checkCompatibility preference.
	AddonsChecked *bool `avro:"addons_checked"`
	// Theme current theme.
	Theme string `avro:"theme"`
	// Accessibility true when accessibility services were active.
	Accessibility *bool `avro:"accessibility"`
	// AdapterDeviceID graphics adapter device id.
	AdapterDeviceID string `avro:"adapter_device_id"`
	// AdapterDriverVersion graphics adapter driver version.
	AdapterDriverVersion string `avro:"adapter_driver_version"`
	// AdapterSubsysID graphics adapter subsystem id.
	AdapterSubsysID string `avro:"adapter_subsys_id"`
	// AdapterVendorID graphics adapter vendor id (e.g. 0x8086 Intel, 0x10de NVIDIA).
	AdapterVendorID string `avro:"adapter_vendor_id"`
	// AndroidBoard android board.
	AndroidBoard string `avro:"android_board"`
	// AndroidBrand android device brand.
	AndroidBrand string `avro:"android_brand"`
	// AndroidCPUABI android primary CPU ABI.
	AndroidCPUABI string `avro:"android_cpu_abi"`
	// AndroidCPUABI2 android secondary CPU ABI.
	AndroidCPUABI2 string `avro:"android_cpu_abi2"`
	// AndroidDevice android device name.
	AndroidDevice string `avro:"android_device"`
	// AndroidHardware android device hardware.
	AndroidHardware string `avro:"android_hardware"`
	// AndroidManufacturer android device manufacturer.
	AndroidManufacturer string `avro:"android_manufacturer"`
	// AndroidModel android device model.
	AndroidModel string `avro:"android_model"`
	// AndroidVersion android version and API level.
	AndroidVersion string `avro:"android_version"`
	// AppInitDLLs dLLs injected through the AppInit_DLLs registry key.
	AppInitDLLs string `avro:"app_init_dlls"`
	// AppNotes application notes, mostly graphics annotations.
	AppNotes string `avro:"app_notes"`
	// AvailablePhysicalMemory available physical memory, bytes.
	AvailablePhysicalMemory *int64 `avro:"available_physical_memory"`
	// AvailableVirtualMemory available virtual memory of the process, bytes.
	AvailableVirtualMemory *int64 `avro:"available_virtual_memory"`
	// TotalPhysicalMemory total physical memory, bytes.
	TotalPhysicalMemory *int64 `avro:"total_physical_memory"`
	// TotalVirtualMemory size of the process's user-mode address space, bytes.
	TotalVirtualMemory *int64 `avro:"total_virtual_memory"`
	// BIOSManufacturer bIOS manufacturer.
	BIOSManufacturer string `avro:"bios_manufacturer"`
	// DOMFissionEnabled true when site isolation (Fission) was enabled.
	DOMFissionEnabled *bool `avro:"dom_fission_enabled"`
	// DOMIPCEnabled true when multi-process (e10s) was enabled.
	DOMIPCEnabled *bool `avro:"dom_ipc_enabled"`
	// GMPPlugin true when the crash was in a Gecko media plugin.
	GMPPlugin *bool `avro:"gmp_plugin"`
	// GraphicsCriticalError log of graphics errors.
	GraphicsCriticalError string `avro:"graphics_critical_error"`
	// GraphicsStartupTest true when the crash happened in the graphics driver startup test.
	GraphicsStartupTest *bool `avro:"graphics_startup_test"`
	// IsGarbageCollecting true when a garbage collection was running.
	IsGarbageCollecting *bool `avro:"is_garbage_collecting"`
	// JavaStackTrace java stack trace, sanitized by the processor.
	JavaStackTrace string `avro:"java_stack_trace"`
	// SafeMode true when the application ran in safe mode.
	SafeMode *bool `avro:"safe_mode"`
	// SubmittedFromInfobar true when submitted through the infobar.
	SubmittedFromInfobar *bool `avro:"submitted_from_infobar"`
	// UseragentLocale locale of the application.
	UseragentLocale string `avro:"useragent_locale"`
	// MinidumpSHA256Hash sHA-256 of the main minidump, hex.
	MinidumpSHA256Hash string `avro:"minidump_sha256_hash"`
	// AdditionalMinidumps names of the other minidumps of this crash (multi-process crashes).
	AdditionalMinidumps []string `avro:"additional_minidumps"`
	// ProcessorNotes notes the processor wrote: what it changed and what failed.
	ProcessorNotes string `avro:"processor_notes"`
}

// SchemaFile implements Record.
func (*CrashReceived) SchemaFile() string { return FileCrashReceived }

// SchemaFile implements Record.
func (*ProcessRequest) SchemaFile() string { return FileProcessRequest }

// SchemaFile implements Record.
func (*ProcessedCrash) SchemaFile() string { return FileProcessedCrash }

// SchemaFile implements Record.
func (*TelemetryCrash) SchemaFile() string { return FileTelemetryCrash }

func (*CrashReceived) record()  {}
func (*ProcessRequest) record() {}
func (*ProcessedCrash) record() {}
func (*TelemetryCrash) record() {}

// Encode returns the Avro binary of c (current schema, no framing).
func (c *CrashReceived) Encode() ([]byte, error) { return Encode(c) }

// Decode fills c from Avro binary written with the current schema.
func (c *CrashReceived) Decode(b []byte) error { return Decode(b, c) }

// Encode returns the Avro binary of r (current schema, no framing).
func (r *ProcessRequest) Encode() ([]byte, error) { return Encode(r) }

// Decode fills r from Avro binary written with the current schema.
func (r *ProcessRequest) Decode(b []byte) error { return Decode(b, r) }

// Encode returns the Avro binary of c (current schema, no framing).
func (c *ProcessedCrash) Encode() ([]byte, error) { return Encode(c) }

// Decode fills c from Avro binary written with the current schema.
func (c *ProcessedCrash) Decode(b []byte) error { return Decode(b, c) }

// Encode returns the Avro binary of c (current schema, no framing).
func (c *TelemetryCrash) Encode() ([]byte, error) { return Encode(c) }

// Decode fills c from Avro binary written with the current schema.
func (c *TelemetryCrash) Decode(b []byte) error { return Decode(b, c) }
