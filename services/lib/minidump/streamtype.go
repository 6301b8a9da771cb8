package minidump

import "fmt"

// StreamType identifies a directory entry's stream.
type StreamType uint32

// Stream types this package reads (and a few it only names).
const (
	UnusedStream              StreamType = 0
	ThreadListStream          StreamType = 3
	ModuleListStream          StreamType = 4
	MemoryListStream          StreamType = 5
	ExceptionStream           StreamType = 6
	SystemInfoStream          StreamType = 7
	ThreadExListStream        StreamType = 8
	Memory64ListStream        StreamType = 9
	CommentStreamA            StreamType = 10
	CommentStreamW            StreamType = 11
	HandleDataStream          StreamType = 12
	FunctionTableStream       StreamType = 13
	UnloadedModuleListStream  StreamType = 14
	MiscInfoStream            StreamType = 15
	MemoryInfoListStream      StreamType = 16
	ThreadInfoListStream      StreamType = 17
	HandleOperationListStream StreamType = 18
	TokenStream               StreamType = 19
	SystemMemoryInfoStream    StreamType = 21
	ProcessVMCountersStream   StreamType = 22
	ThreadNamesStream         StreamType = 24

	BreakpadInfoStream    StreamType = 0x47670001
	AssertionInfoStream   StreamType = 0x47670002
	LinuxCPUInfoStream    StreamType = 0x47670003
	LinuxProcStatusStream StreamType = 0x47670004
	LinuxLSBReleaseStream StreamType = 0x47670005
	LinuxCmdLineStream    StreamType = 0x47670006
	LinuxEnvironStream    StreamType = 0x47670007
	LinuxAuxvStream       StreamType = 0x47670008
	LinuxMapsStream       StreamType = 0x47670009
	LinuxDSODebugStream   StreamType = 0x4767000A

	CrashpadInfoStream StreamType = 0x43500001

	MozMacosCrashInfoStream StreamType = 0x4d7a0001
	MozMacosBootargsStream  StreamType = 0x4d7a0002
	MozLinuxLimitsStream    StreamType = 0x4d7a0003
	MozSoftErrorsStream     StreamType = 0x4d7a0004
)

func (t StreamType) String() string {
	switch t {
	case UnusedStream:
		return "UnusedStream"
	case ThreadListStream:
		return "ThreadListStream"
	case ModuleListStream:
		return "ModuleListStream"
	case MemoryListStream:
		return "MemoryListStream"
	case ExceptionStream:
		return "ExceptionStream"
	case SystemInfoStream:
		return "SystemInfoStream"
	case ThreadExListStream:
		return "ThreadExListStream"
	case Memory64ListStream:
		return "Memory64ListStream"
	case CommentStreamA:
		return "CommentStreamA"
	case CommentStreamW:
		return "CommentStreamW"
	case HandleDataStream:
		return "HandleDataStream"
	case FunctionTableStream:
		return "FunctionTableStream"
	case UnloadedModuleListStream:
		return "UnloadedModuleListStream"
	case MiscInfoStream:
		return "MiscInfoStream"
	case MemoryInfoListStream:
		return "MemoryInfoListStream"
	case ThreadInfoListStream:
		return "ThreadInfoListStream"
	case HandleOperationListStream:
		return "HandleOperationListStream"
	case TokenStream:
		return "TokenStream"
	case SystemMemoryInfoStream:
		return "SystemMemoryInfoStream"
	case ProcessVMCountersStream:
		return "ProcessVmCountersStream"
	case ThreadNamesStream:
		return "ThreadNamesStream"
	case BreakpadInfoStream:
		return "BreakpadInfoStream"
	case AssertionInfoStream:
		return "AssertionInfoStream"
	case LinuxCPUInfoStream:
		return "LinuxCpuInfo"
	case LinuxProcStatusStream:
		return "LinuxProcStatus"
	case LinuxLSBReleaseStream:
		return "LinuxLsbRelease"
	case LinuxCmdLineStream:
		return "LinuxCmdLine"
	case LinuxEnvironStream:
		return "LinuxEnviron"
	case LinuxAuxvStream:
		return "LinuxAuxv"
	case LinuxMapsStream:
		return "LinuxMaps"
	case LinuxDSODebugStream:
		return "LinuxDsoDebug"
	case CrashpadInfoStream:
		return "CrashpadInfoStream"
	case MozMacosCrashInfoStream:
		return "MozMacosCrashInfoStream"
	case MozMacosBootargsStream:
		return "MozMacosBootargsStream"
	case MozLinuxLimitsStream:
		return "MozLinuxLimits"
	case MozSoftErrorsStream:
		return "MozSoftErrors"
	}
	return fmt.Sprintf("StreamType(%#x)", uint32(t))
}
