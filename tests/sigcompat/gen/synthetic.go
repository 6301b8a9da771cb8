package main

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Word pools for generated symbols. They look like Firefox's symbols, which
// is what Socorro's lists are tuned for.
var (
	namespaces = []string{"mozilla", "js", "mozilla::dom", "mozilla::ipc", "mozilla::gfx", "mozilla::layers",
		"JS", "js::jit", "js::gc", "std", "base", "IPC", "webrender", "nsTArray_Impl", "detail"}
	classes = []string{"nsThread", "PresShell", "nsDocShell", "Element", "Document", "MessageChannel",
		"ContentParent", "CompositorBridgeParent", "Runnable", "TaskController", "RefPtr", "UniquePtr",
		"nsTArray", "Maybe", "Variant", "HashMap", "GCRuntime", "Zone", "Arena"}
	methods = []string{"Run", "ProcessNextEvent", "Dispatch", "HandleEvent", "Paint", "Init", "Shutdown",
		"OnMessageReceived", "Call", "Send", "DoWork", "Flush", "get", "operator->", "Invoke", "Trace"}
	types = []string{"int", "unsigned int", "char const*", "void*", "bool", "nsIRunnable*",
		"mozilla::dom::Element&", "JSContext*", "JS::Handle<JSObject*>", "unsigned __int64",
		"std::basic_string<char, std::char_traits<char>, std::allocator<char> > const&", "nsACString const&"}
	rustCrates = []string{"core", "std", "alloc", "style", "webrender", "wgpu_core", "neqo_transport",
		"gkrust_shared", "rayon_core", "servo_arc", "hashbrown", "glean_core"}
	rustItems = []string{"ptr::drop_in_place", "option::Option<T>::unwrap", "result::Result<T, E>::expect",
		"panicking::panic_fmt", "sync::mpsc::Receiver<T>::recv", "thread::local::LocalKey<T>::with",
		"vec::Vec<T>::push", "rt::lang_start", "ops::function::FnOnce::call_once", "collections::HashMap::insert"}
	modules = []string{"xul.dll", "XUL", "libxul.so", "ntdll.dll", "KERNELBASE.dll", "kernel32.dll",
		"user32.dll", "nss3.dll", "mozglue.dll", "libc.so.6", "libpthread.so.0", "libsystem_kernel.dylib",
		"firefox.exe", "d3d11.dll", "nvwgf2umx.dll", "[vdso]", "[stack]", "libEGL.so"}
	reasons = []string{"EXCEPTION_ACCESS_VIOLATION_READ", "EXCEPTION_ACCESS_VIOLATION_WRITE", "SIGSEGV /SEGV_MAPERR",
		"EXCEPTION_BREAKPOINT", "EXCEPTION_STACK_OVERFLOW", "STATUS_FATAL_MEMORY_EXHAUSTION", "STATUS_NO_MEMORY",
		"EXCEPTION_IN_PAGE_ERROR_READ / STATUS_DEVICE_DATA_ERROR", "SIGABRT", "EXC_BAD_ACCESS / KERN_INVALID_ADDRESS"}
	oses = []string{"Windows NT", "Linux", "Mac OS X", "Android", ""}
)

func (g *gen) cppName() string {
	ns := g.pick(namespaces)
	cls := g.pick(classes)
	m := g.pick(methods)
	var b strings.Builder
	switch g.rng.IntN(4) {
	case 0:
		b.WriteString(g.pick([]string{"void ", "static ", "bool ", "class nsresult ", "virtual void ", "static void * "}))
	}
	b.WriteString(ns + "::")
	if g.chance(0.15) {
		b.WriteString(g.pick([]string{"`anonymous namespace'::", "(anonymous namespace)::"}))
	}
	b.WriteString(cls)
	if g.chance(0.4) {
		b.WriteString("<" + g.pick(types))
		if g.chance(0.4) {
			b.WriteString(", " + g.pick(classes) + "<" + g.pick(types) + ">")
		}
		b.WriteString(">")
	}
	if g.chance(0.15) {
		b.WriteString(fmt.Sprintf("::$_%d", g.rng.IntN(300)))
	}
	b.WriteString("::" + m)
	if g.chance(0.2) {
		b.WriteString("<" + g.pick(types) + ">")
	}
	if g.chance(0.7) {
		n := g.rng.IntN(3)
		args := make([]string, n)
		for i := range args {
			args[i] = g.pick(types)
		}
		sep := g.pick([]string{", ", ",", " , "})
		b.WriteString("(" + strings.Join(args, sep) + ")")
	}
	if g.chance(0.2) {
		b.WriteString(g.pick([]string{" const", " const&", " const &", " &&", " &", "const"}))
	}
	if g.chance(0.08) {
		b.WriteString(fmt.Sprintf(" [clone .cold.%d]", g.rng.IntN(900)))
	}
	return b.String()
}

// specialCpp are hand-written names for the corners of C++ normalization.
var specialCpp = []string{
	"fn", "f( *s)", "f( &s)", "f( *s , &n)", "f3(s,t,u)", "operator()(s,t,u)",
	"::(anonymous namespace)::f3(s,t,u)",
	"mozilla::layers::BasicImageLayer::Paint(mozilla::gfx::DrawTarget*, mozilla::gfx::PointTyped<mozilla::gfx::UnknownUnits, float> const&, mozilla::layers::Layer*)",
	"void nsDocumentViewer::DestroyPresShell()", "bool CCGraphBuilder::BuildGraph(class js::SliceBudget& const)",
	"f<3>(s,t,u)", "Alpha<Bravo<Charlie>, Delta>::Echo<Foxtrot>", "thread_start<unsigned int (__cdecl*)(void* __ptr64)>",
	"class JSObject* DoCallback<JSObject*>(class JS::CallbackTracer*, class JSObject**, const char*)",
	"JS::Heap<JSObject*>::operator JSObject* const &()", "JSObject::allocKindForTenure const",
	"mozilla::jni::GlobalRef<mozilla::jni::Object>::operator=(mozilla::jni::Ref<mozilla::jni::Object, _jobject*> const&)&",
	"mozilla::Maybe<unsigned long>::value() const &", "`anonymous namespace'::foo", "(anonymous namespace)::foo",
	"ShutdownWorkThreads::$_52::__invoke", "a::$_1::$_2::b", "nsTArray<int>::operator[](unsigned long)",
	"mozilla::detail::RunnableFunction<mozilla::dom::Foo::Bar()::$_3>::Run()",
	"std::_Function_handler<void (), mozilla::Foo::Init()::{lambda()#1}>::_M_invoke(std::_Any_data const&)",
	"IPC::ParamTraits<nsTSubstring<char> >::Write(IPC::Message *,nsTSubstring<char> const &)",
	"IPC::ParamTraits<mozilla::Maybe<IPC::Foo<int> > >::Read", "<name omitted>", "<unknown in libxul.so>",
	"<unknown in xul.dll>", "foo(int) [clone .cold.222]", "foo(int) [clone .cold.1] [clone .cold.2]",
	"bar [clone .isra.0]", "somefunc (int arg1, int arg2)", "Foo::operator<(Foo const&, Foo const&)",
	"Foo::operator<<(std::ostream&)", "Foo::operator delete[](void*)", "operator new(unsigned long)",
	"Foo::operator==(Bar const&) const", "const", "&", "const&", "  ", " leading", "trailing ",
	"tab\there", "new\nline", "nbsp\u00a0name", "em\u2003space", "zero\u200bwidth", "ctrl\x01char",
	"ümlaut::Fünction(ä)", "日本::関数()", "İstanbul.DLL", "(", ")", "<", ">", "((a)", "a)>(b", "`x'",
	"unbalanced<foo", "unbalanced(foo", "x<a in b>", "x<name omitted>::y", "f(a,b,c,d)const",
	"js::jit::MaybeEnterJit(JSContext*, js::RunState&)", "js_Interpret", "js_Interpret(JSContext*)",
	"RtlUserThreadStart", "BaseThreadInitThunk", "mozilla::ipc::MessageChannel::Call(IPC::Message*, IPC::Message*)",
	"mozilla::ipc::RPCChannel::Call(IPC::Message*, IPC::Message*)", "RunWatchdog(void*)", "mozilla::(anonymous namespace)::RunWatchdog",
	"NS_ABORT_OOM(unsigned long)", "mozalloc_handle_oom(unsigned long)", "js::AutoEnterOOMUnsafeRegion::crash(char const*)",
	"alloc::oom::oom", "CrashAtUnhandlableOOM", "MOZ_CrashOOL", "MOZ_Crash", "mozilla::ipc::FatalError(char const*, bool)",
	"x,y", "a , b", "a ,b", "p *q", "r &s", "t  *u", "__RtlUserThreadStart", "KiUserCallbackDispatcher",
	"@0x0", "0x1234", "Abort", "my_abort", "je_malloc", "moz_xmalloc", "arena_dalloc", "PR_Lock",
}

func (g *gen) rustName() string {
	var b strings.Builder
	if g.chance(0.2) {
		b.WriteString(g.pick([]string{"static void ", "static ", "struct Foo "}))
	}
	crate := g.pick(rustCrates)
	item := g.pick(rustItems)
	switch g.rng.IntN(5) {
	case 0:
		b.WriteString("<" + crate + "::" + g.pick(classes) + "<" + g.pick(types) + "> as " + g.pick(rustCrates) + "::Trait>::" + g.pick(methods))
	case 1:
		b.WriteString(crate + "::" + item + "::{{closure}}")
	default:
		b.WriteString(crate + "::" + item)
	}
	if g.chance(0.3) {
		b.WriteString(g.pick([]string{"<u8>", "<alloc::string::String>", "<T, E>", "<&str>"}))
	}
	if g.chance(0.3) {
		b.WriteString("(" + g.pick([]string{"", "struct Foo*", "u8,u16", "&mut [u8] , usize"}) + ")")
	}
	if g.chance(0.4) {
		b.WriteString(fmt.Sprintf("::h%016x", g.rng.Uint64()))
	}
	return b.String()
}

var specialRust = []string{
	"expect_failed::h7f635057bfba806a", "expect_failed::h7f6350::blah",
	"static void servo_arc::Arc<style::gecko_properties::ComputedValues>::drop_slow<style::gecko_properties::ComputedValues>()",
	"static void core::ptr::drop_in_place<style::stylist::CascadeData>(struct style::stylist::CascadeData*)",
	"<rayon_core::job::HeapJob<BODY> as rayon_core::job::Job>::execute", "core::panicking::panic",
	"core::panicking::panic_fmt", "std::panicking::begin_panic<&str>", "core::option::expect_failed",
	"core::result::unwrap_failed", "alloc::alloc::handle_alloc_error", "std::panicking::rust_panic_with_hook",
	"gkrust_shared::panic_hook", "core::ptr::drop_in_place<T>::h00112233aabbccdd", "foo::hABCDEF",
	"foo::h", "foo::hxyz", "enum$<core::option::Option<u8>>::unwrap", "core::result::impl$3::unwrap",
	"mozilla::detail::MutexImpl::lock", "webrender::renderer::Renderer::render(usize)",
}

// rustFile returns a file name with one of the forms Socorro distinguishes.
func (g *gen) rustFile() string {
	return g.pick([]string{
		"hg:hg.mozilla.org/mozilla-central:gfx/wr/webrender/src/renderer.rs:abc123",
		"git:github.com/rust-lang/rust:library/core/src/panicking.rs:90b35a6",
		"/builds/worker/checkouts/gecko/servo/components/style/gecko.rs",
		"c:\\builds\\gecko\\src\\lib.rs", "src/lib.rs", "/rustc/90b35a6/library/std/src/panicking.rs",
		"hg:hg.mozilla.org/mozilla-central:third_party/rust/x/src/lib.rs:1:2",
	})
}

func (g *gen) cppFile() string {
	return g.pick([]string{
		"hg:hg.mozilla.org/mozilla-central:xpcom/threads/nsThread.cpp:1a2b3c",
		"c:\\builds\\moz2_slave\\m-cen-w32\\build\\src\\dom\\base\\Element.cpp",
		"/builds/worker/checkouts/gecko/js/src/vm/Interpreter.cpp", "nsThread.cpp", "", "C:/a/b/c.cpp/",
		"\\a\\b\\c\\source", "/usr/include/c++/v1/memory",
	})
}

// frame returns one random stack frame of any kind.
func (g *gen) frame() obj {
	f := obj{"frame": 0, "module": g.pick(modules), "offset": fmt.Sprintf("0x%016x", g.rng.Uint64()>>uint(g.rng.IntN(64))),
		"module_offset": fmt.Sprintf("0x%x", g.rng.IntN(1<<24)), "trust": g.pick([]string{"context", "cfi", "scan", "frame_pointer"})}
	switch k := g.rng.IntN(20); {
	case k < 7:
		f["function"] = g.cppName()
		f["file"] = g.cppFile()
		f["line"] = g.rng.IntN(5000) + 1
	case k < 9:
		f["function"] = g.pick(specialCpp)
		if g.chance(0.5) {
			f["file"] = g.cppFile()
		}
		f["line"] = g.rng.IntN(900) + 1
	case k < 11:
		if g.chance(0.7) {
			f["function"] = g.rustName()
		} else {
			f["function"] = g.pick(specialRust)
		}
		f["file"] = g.rustFile()
		f["line"] = g.rng.IntN(900) + 1
	case k < 14:
		f["function"] = g.listFrame(g.pick([]string{"irrelevant", "prefix", "prefix", "sentinels", "lines"}))
		f["line"] = g.rng.IntN(900) + 1
	case k < 15:
		f["file"] = g.cppFile()
		f["line"] = g.rng.IntN(900)
	case k < 17:
		// module only
	case k < 18:
		delete(f, "module")
		f["unloaded_modules"] = []any{obj{"module": g.pick(modules), "offsets": []any{"0x1234"}}}
	case k < 19:
		delete(f, "module")
		if g.chance(0.3) {
			f["offset"] = g.pick([]string{"0x0000000000000000", "0x0", "zz", "0X00ABC", " 0x1_0 ", "-0x10"})
		}
	default:
		delete(f, "module")
		delete(f, "offset")
	}
	if g.chance(0.1) {
		var inl []any
		for i := 0; i < 1+g.rng.IntN(4); i++ {
			name := g.cppName()
			file := g.cppFile()
			if g.chance(0.4) {
				name, file = g.rustName(), g.rustFile()
			}
			inl = append(inl, obj{"function": name, "file": file, "line": g.rng.IntN(300)})
		}
		f["inlines"] = inl
	}
	return f
}

func (g *gen) frames(n int) []any {
	fs := make([]any, n)
	for i := range fs {
		f := g.frame()
		f["frame"] = i
		fs[i] = f
	}
	return fs
}

// stackData returns crash_data with a random stack on a random thread.
func (g *gen) stackData() obj {
	nThreads := 1 + g.rng.IntN(3)
	ct := g.rng.IntN(nThreads)
	threads := make([]any, nThreads)
	for i := range threads {
		threads[i] = obj{"frames": g.frames(1 + g.rng.IntN(12)), "thread_name": fmt.Sprintf("T%d", i)}
	}
	d := obj{"os": g.pick(oses), "crashing_thread": ct, "threads": threads}
	if g.chance(0.5) {
		d["reason"] = g.pick(reasons)
	}
	return d
}

func (g *gen) synthetic() {
	for i := 0; i < 700; i++ {
		g.add("random-stack", g.stackData())
	}
	// Every sentinel, ahead of and behind other frames.
	for _, e := range g.lists["sentinels"] {
		e.hit = true
		for k := 0; k < 3; k++ {
			d := g.stackData()
			fs := threadFrames(d, d["crashing_thread"].(int))
			pos := g.rng.IntN(len(fs) + 1)
			sf := obj{"function": e.line, "module": "xul.dll"}
			fs = append(fs[:pos], append([]any{sf}, fs[pos:]...)...)
			setFrames(d, d["crashing_thread"].(int), fs)
			g.add("sentinel", d)
		}
	}
	// Every sampleable irrelevant, prefix and line-number entry, on top.
	for _, list := range []string{"irrelevant", "prefix", "lines"} {
		for _, e := range g.lists[list] {
			for _, s := range e.samples[:min(len(e.samples), 2)] {
				e.hit = true
				fs := []any{obj{"function": s, "line": g.rng.IntN(99) + 1, "module": g.pick(modules)}}
				fs = append(fs, g.frames(1+g.rng.IntN(4))...)
				g.add("list-"+list, obj{"os": g.pick(oses), "crashing_thread": 0, "threads": []any{obj{"frames": fs}}})
			}
		}
	}
	// Frame-normalization corners, one function per crash.
	for _, fn := range specialCpp {
		g.add("cpp-special", single(obj{"function": fn, "line": 42, "module": "xul.dll"}))
		g.add("cpp-special-file", single(obj{"function": fn, "line": 7, "file": g.cppFile()}))
	}
	for _, fn := range specialRust {
		g.add("rust-special", single(obj{"function": fn, "line": 42, "file": g.rustFile()}))
	}
	for i := 0; i < 150; i++ {
		g.add("cpp-random", single(obj{"function": g.cppName(), "line": i}))
		g.add("rust-random", single(obj{"function": g.rustName(), "line": i, "file": g.rustFile()}))
	}
	for _, rf := range [][2]string{
		{"src/liballoc/raw_vec.rs", "capacity_overflow"}, {"src/libcore/option.rs", "expect_failed"},
		{"src/libcore/panicking.rs", "panic_bounds_check"}, {"src/libcore/panicking.rs", "panic_fmt"},
		{"src/libcore/panicking.rs", "panic"}, {"src/libcore/slice/mod.rs", "slice_index_order_fail"},
		{"src/libstd/panicking.rs", "begin_panic_fmt"}, {"src/libstd/panicking.rs", "continue_panic_fmt"},
		{"src/libstd/panicking.rs", "rust_panic_with_hook"},
	} {
		for _, file := range []string{"git:github.com/rust-lang/rust:" + rf[0] + ":abc", "/" + rf[0], rf[0]} {
			fs := []any{obj{"function": rf[1], "file": file, "line": 1}, obj{"function": "gkrust::thing", "file": "/a/b.rs"}}
			g.add("rust-134", obj{"crashing_thread": 0, "threads": []any{obj{"frames": fs}}})
		}
	}
	g.frameKinds()
	g.javaCases()
	g.ruleCases()
	g.malformed()
	for i := 0; i < 300; i++ {
		g.add("random-combined", g.combined())
	}
	for i := 0; i < 400; i++ {
		fs := []any{}
		for j := 0; j < 1+g.rng.IntN(3); j++ {
			f := obj{"function": g.tokenSoup(), "line": []any{j + 1, 0, nil, "7", 2.5}[g.rng.IntN(5)]}
			if g.chance(0.15) {
				f = obj{"module": g.tokenSoup()}
			}
			if g.chance(0.3) {
				f["file"] = g.rustFile()
			}
			fs = append(fs, f)
		}
		g.add("token-soup", obj{"os": g.pick(oses), "crashing_thread": 0, "threads": []any{obj{"frames": fs}}})
	}
}

// soupTokens are the pieces normalization reacts to; random sequences of
// them stress bracket matching, exceptions and spacing fixes.
var soupTokens = []string{"<", ">", "(", ")", "[", "]", "{", "}", "`", "'", " ", "  ", ",", ", ", " ,", "*", " *",
	"&", " &", "&&", "::", "const", " const", "operator", "::operator", " as ", " in ", "name omitted",
	"IPC::ParamTraits", "anonymous namespace", "`anonymous namespace'", "$_7", "::$_12::", "[clone .cold.3]",
	"clone .cold", "::h0123abcd", "foo", "Bar", "js_Interpret", "x", "\t", "\u00a0", "é", "\n", "Σ", "İ", ":",
	"\u2028", "<unknown in ", "xul.dll", "XUL", "{{closure}}"}

func (g *gen) tokenSoup() string {
	var b strings.Builder
	for i := 0; i < 1+g.rng.IntN(12); i++ {
		b.WriteString(g.pick(soupTokens))
	}
	return b.String()
}

func single(f obj) obj {
	return obj{"crashing_thread": 0, "threads": []any{obj{"frames": []any{f}}}}
}

// frameKinds covers frames without a function, repeats and inlines.
func (g *gen) frameKinds() {
	plain := []obj{
		{"file": "c:\\a\\b\\foo.cpp", "line": 12}, {"file": "/a/b/foo.cpp/", "line": 3}, {"file": "foo.cpp", "line": 0},
		{"module": "[module]"}, {"module": "[[[module]]"}, {"module": "XUL"}, {"module": "xul.DLL"}, {"module": "libc.so"},
		{"unloaded_modules": []any{obj{"module": "gone.dll"}, obj{"module": "other.dll"}}},
		{"unloaded_modules": []any{obj{"offsets": []any{}}}}, {"offset": "0x00000000deadbeef"}, {"offset": "0x0"},
		{"offset": ""}, {"module_offset": "0x12"}, {},
	}
	for _, os := range []string{"Windows NT", "Linux"} {
		for _, f := range plain {
			g.add("frame-kind", obj{"os": os, "crashing_thread": 0, "threads": []any{obj{"frames": []any{clone(f), obj{"function": "main"}}}}})
		}
		for _, m := range []string{"xul.dll", "XUL", "libxul.so", "Foo.DLL"} {
			fs := []any{obj{"module": m}, obj{"module": m}, obj{"module": strings.ToUpper(m)}, obj{"function": "<name omitted>"},
				obj{"function": "<name omitted>"}, obj{"function": "<unknown in xul.dll>"}, obj{"function": "<unknown in xul.dll>"},
				obj{"unloaded_modules": []any{obj{"module": "a.dll"}}}, obj{"unloaded_modules": []any{obj{"module": "a.dll"}}}, obj{"function": "end"}}
			g.add("frame-repeat", obj{"os": os, "crashing_thread": 0, "threads": []any{obj{"frames": fs}}})
		}
	}
	// Many inlines: the 40-frame limit falls inside and between inline lists.
	for i := 0; i < 30; i++ {
		var fs []any
		for j := 0; j < 5+g.rng.IntN(20); j++ {
			f := obj{"function": g.listFrame("prefix"), "module": "xul.dll"}
			var inl []any
			for k := 0; k < g.rng.IntN(6); k++ {
				inl = append(inl, obj{"function": g.listFrame(g.pick([]string{"prefix", "irrelevant"})), "file": "/x.cpp", "line": k})
			}
			if len(inl) > 0 {
				f["inlines"] = inl
			}
			fs = append(fs, f)
		}
		fs = append(fs, obj{"function": "final_frame"})
		g.add("inlines", obj{"crashing_thread": 0, "threads": []any{obj{"frames": fs}}})
	}
	// Long stacks of prefix frames: the signature is truncated to 255.
	for i := 0; i < 40; i++ {
		var fs []any
		for j := 0; j < 10+g.rng.IntN(35); j++ {
			fs = append(fs, obj{"function": g.listFrame("prefix")})
		}
		if g.chance(0.5) {
			fs = append([]any{obj{"function": strings.Repeat("VeryLongName", 10+g.rng.IntN(20)) + "ü"}}, fs...)
		}
		g.add("truncate", obj{"crashing_thread": 0, "threads": []any{obj{"frames": fs}}})
	}
	for i := 0; i < 20; i++ {
		fs := []any{}
		for j := 0; j < 1+g.rng.IntN(5); j++ {
			fs = append(fs, obj{"function": g.listFrame("irrelevant")})
		}
		g.add("all-irrelevant", obj{"crashing_thread": 0, "threads": []any{obj{"frames": fs}}})
	}
}

func (g *gen) javaCases() {
	traces := []any{
		"java.lang.NullPointerException: Attempt to invoke virtual method on a null object reference\n\tat org.mozilla.gecko.GeckoApp.onCreate(GeckoApp.java:123)\n\tat android.app.Activity.performCreate(Activity.java:1)",
		"java.lang.IllegalStateException: Object@0123abcd is gone\n\tat org.mozilla.Foo.bar(Foo.java:42)",
		"java.lang.IllegalStateException: handler is @deadbeef\n\tat org.mozilla.Foo.bar(Foo.java:42)",
		"java.lang.OutOfMemoryError\n\tat java.util.Arrays.copyOf(Arrays.java:3332)",
		"java.lang.RuntimeException: boom", "java.lang.RuntimeException: boom\n\n",
		"java.lang.Error: " + strings.Repeat("long description ", 20) + "\n\tat a.b.C.d(C.java:1)",
		"java.lang.Error: " + strings.Repeat("x", 300) + "@0123abcd\n\tat a.b.C.d(C.java:1)",
		"  spaced: out  \r\n  at x.Y.z(Y.java:9)  ", "\n", "no colon here\nat a.B.c(B.java:12)",
		"a: b\u2028at c.D.e(D.java:5)", "a:b\fat c.D.e(D.java:5) trailing", 42, []any{"x"},
	}
	for _, t := range traces {
		g.add("java-stack-trace", obj{"java_stack_trace": t, "threads": []any{obj{"frames": g.frames(2)}}})
	}
	excs := []any{
		obj{"exception": obj{"values": []any{obj{"stacktrace": obj{"module": "java.lang", "type": "NullPointerException",
			"frames": []any{obj{"module": "org.mozilla.gecko.GeckoApp", "function": "onCreate", "filename": "GeckoApp.java", "lineno": 1}}}}}}},
		obj{"exception": obj{"values": []any{obj{"stacktrace": obj{"type": "Boom", "frames": []any{obj{"function": "f"}}}}}}},
		obj{"exception": obj{"values": []any{obj{"stacktrace": obj{"module": "m", "frames": []any{obj{"module": "m"}, obj{}}}}}}},
		obj{"exception": obj{"values": []any{obj{"stacktrace": obj{"module": "m", "type": nil, "frames": []any{}}}}}},
		obj{"exception": obj{"values": []any{obj{"stacktrace": obj{"module": "", "type": "T", "frames": []any{obj{"filename": "F.java"}}}}}}},
		obj{"exception": obj{"values": []any{}}}, obj{"exception": obj{}}, obj{"nothing": 1}, "a string", []any{1},
		obj{"exception": obj{"values": []any{obj{"stacktrace": []any{1}}}}},
		obj{"exception": obj{"values": []any{obj{"stacktrace": obj{"type": "T", "frames": []any{obj{"module": 5, "function": "f"}}}}}}},
	}
	for _, e := range excs {
		g.add("java-exception", obj{"java_exception": e})
		g.add("java-both", obj{"java_exception": e, "java_stack_trace": "java.lang.X: y\n\tat a.B.c(B.java:1)"})
	}
}

// ruleCases covers each rule after SignatureGenerationRule.
func (g *gen) ruleCases() {
	with := func(kind string, extra obj) {
		d := g.stackData()
		for k, v := range extra {
			d[k] = v
		}
		g.add(kind, d)
	}
	for _, st := range []string{"OK", "ERROR_MINIDUMP_HEADER_MISMATCH", "ERROR_NO_THREAD_LIST"} {
		g.add("stackwalker-error", obj{"mdsw_status_string": st})
		g.add("stackwalker-error", obj{"mdsw_status_string": st, "threads": []any{obj{"frames": []any{}}}})
		with("stackwalker-error-notempty", obj{"mdsw_status_string": st})
	}
	for _, r := range []any{"EXCEPTION_IN_PAGE_ERROR_READ / STATUS_DEVICE_DATA_ERROR", "STATUS_DEVICE_DATA_ERROR",
		[]any{"STATUS_DEVICE_DATA_ERROR"}, 5, "other"} {
		with("bad-hardware", obj{"reason": r})
	}
	sizes := []any{"1", "262144", "262145", 262144, 262145, 1 << 30, "abc", "12.5", 12.5, true, nil, []any{1}, "", 0, " 300000 "}
	for _, s := range sizes {
		with("oom-size", obj{"oom_allocation_size": s})
		with("oom-size-js", obj{"oom_allocation_size": s, "js_large_allocation_failure": "Reporting"})
	}
	for _, f := range []string{"NS_ABORT_OOM(unsigned long)", "mozalloc_handle_oom(unsigned long)", "CrashAtUnhandlableOOM",
		"js::AutoEnterOOMUnsafeRegion::crash(char const*)", "alloc::oom::oom"} {
		g.add("oom-fragment", obj{"crashing_thread": 0, "threads": []any{obj{"frames": []any{obj{"function": f}, obj{"function": "Caller::run()"}}}}})
	}
	for _, lev := range []string{"ERROR_COMMITMENT_LIMIT", "ERROR_NOT_ENOUGH_MEMORY", "ERROR_SUCCESS"} {
		d := g.stackData()
		d["threads"].([]any)[d["crashing_thread"].(int)].(obj)["last_error_value"] = lev
		g.add("oom-last-error", d)
	}
	for _, r := range []string{"STATUS_FATAL_MEMORY_EXHAUSTION", "STATUS_NO_MEMORY"} {
		with("oom-reason", obj{"reason": r})
		g.add("oom-reason-empty", obj{"reason": r})
	}
	with("oom-js", obj{"js_large_allocation_failure": "Reporting"})
	with("oom-js", obj{"js_large_allocation_failure": "Recovered"})

	aborts := []any{
		"###!!! ABORT: file /builds/foo.cpp, line 12", "[12345] ###!!! ABORT: Unexpected state: file /a.cpp:12",
		"Assertion failure: x, at /a/b.cpp:12", "ABORT: bad thing: file c.cpp, line 1",
		"unable to find a usable font (Schriftart nicht gefunden)", "unable to find a usable font (a) b (c)",
		"unable to find a usable font ) weird (", "tabs\tand\nnewlines\x01and ünïcode", strings.Repeat("long message ", 10),
		strings.Repeat("y", 80), strings.Repeat("z", 81), "   padded   ", []any{"a", "b", "cd", 1}, []any{"###!!! ABORT: file "},
		obj{"k": 1}, 7, "", "###!!! ABORT:", ": file x",
	}
	for _, a := range aborts {
		with("abort", obj{"abort_message": a})
	}
	timeouts := []any{
		`{"phase": "profile-before-change", "conditions": [{"name": "b"}, {"name": "a"}, "c"]}`,
		`{"phase": "xpcom-will-shutdown", "conditions": []}`, `{"phase": 3, "conditions": ["x"]}`,
		`{"conditions": [{"name": "z"}, {"noname": 1}]}`, `{"phase": "p", "conditions": "abc"}`,
		`{"phase": "p", "conditions": {"k2": 1, "k1": 2}}`, `{"phase": "p", "conditions": 5}`,
		`{"phase": "p", "conditions": [1, 2.5, null, true, ["l"], {"name": {"n": 1}}]}`, `[1, 2]`, `"str"`,
		`not json`, `{"phase": "p"} trailing`, `{}`, obj{"phase": "p"}, 12, "  ",
		`{"phase": "p", "conditions": [{"name": "Ü"}, {"name": "a"}, {"name": "B"}]}`,
	}
	for _, t := range timeouts {
		with("shutdown-timeout", obj{"async_shutdown_timeout": t})
	}
	for i := 0; i < 20; i++ {
		d := g.stackData()
		ct := d["crashing_thread"].(int)
		fs := threadFrames(d, ct)
		fs = append([]any{obj{"function": g.pick([]string{"mozilla::(anonymous namespace)::RunWatchdog(void*)", "RunWatchdog", "nsTerminator::RunWatchdog"})}}, fs...)
		setFrames(d, ct, fs)
		if i%5 == 0 {
			d["java_stack_trace"] = nil
		}
		if i%7 == 0 {
			setFrames(d, 0, []any{})
		}
		g.add("run-watchdog", d)
	}
	for _, e := range []any{"ShutDownKill", "ShutDownKill" + strings.Repeat("!", 120), "CloseWithError", []any{"a", "b"}, obj{"a": 1}, 5} {
		for _, dumps := range []any{nil, []any{"upload_file_minidump_browser"}, []any{"upload_file_minidump_content"},
			"upload_file_minidump_browser_x", 3} {
			with("ipc-channel-error", obj{"ipc_channel_error": e, "additional_minidumps": dumps})
		}
	}
	for _, n := range []any{"PContent::Msg_Foo", "", 12, true, []any{"x"}} {
		with("ipc-message-name", obj{"ipc_message_name": n})
	}
	with("stack-overflow", obj{"reason": "EXCEPTION_STACK_OVERFLOW"})
	g.add("stack-overflow-empty", obj{"reason": "EXCEPTION_STACK_OVERFLOW"})
	for _, h := range []any{"browser", "plugin", "", true, false, 0, nil, []any{}} {
		with("hang", obj{"hang": h})
	}
	for _, ws := range []string{"  lead", "trail  ", "in  side", "tab\tx", "nl\nx", "\u00a0nbsp", "a\u2003b", "a\x1cb", "a\x85b"} {
		g.add("whitespace", single(obj{"function": ws + "::Run()"}))
		g.add("whitespace-module", single(obj{"module": ws}))
	}
}

// malformed covers values of the wrong type, where rules fail and notes say so.
func (g *gen) malformed() {
	for _, ct := range []any{"1", " 1 ", "x", nil, 1.9, -1, -5, 99, true, []any{1}, "1_0", "0x1"} {
		d := g.stackData()
		d["crashing_thread"] = ct
		g.add("bad-crashing-thread", d)
	}
	g.add("no-crashing-thread", obj{"threads": []any{obj{"frames": g.frames(3)}}})
	g.add("threads-dict", obj{"crashing_thread": 0, "threads": obj{"0": obj{"frames": g.frames(2)}}})
	for _, threads := range []any{nil, "x", 5, []any{nil}, []any{"str"}, []any{[]any{}}, []any{obj{}}} {
		g.add("bad-threads", obj{"crashing_thread": 0, "threads": threads})
	}
	for _, frames := range []any{nil, "abc", 5, obj{"a": 1}, []any{"x"}, []any{nil}, []any{5}} {
		g.add("bad-frames", obj{"crashing_thread": 0, "threads": []any{obj{"frames": frames}}})
	}
	bad := []obj{
		{"function": 5}, {"function": []any{"x"}}, {"function": obj{"a": 1}}, {"function": true}, {"function": 1.5},
		{"function": "ok", "file": 5}, {"function": "f", "file": 3, "line": 1}, {"module": 5}, {"module": []any{"m"}},
		{"unloaded_modules": obj{"a": 1}}, {"unloaded_modules": "abc"}, {"unloaded_modules": 5}, {"unloaded_modules": []any{"x"}},
		{"unloaded_modules": []any{obj{"module": nil}}}, {"offset": 5}, {"offset": 1.5}, {"offset": true}, {"offset": []any{1}},
		{"function": "f", "line": nil, "file": "/a.rs"}, {"function": "js_Interpret", "line": nil}, {"function": "js_Interpret", "line": 1.5},
		{"function": "js_Interpret", "line": "12"}, {"function": "js_Interpret"}, {"file": "/a/b.cpp", "line": "7"},
		{"file": "/a/b.cpp", "line": true}, {"function": 5, "file": "/a.rs"}, {"inlines": "abc"}, {"inlines": 5},
		{"inlines": []any{"x"}}, {"inlines": []any{obj{"function": 7}}}, {"inlines": obj{"k": obj{}}},
	}
	for _, f := range bad {
		for _, os := range []string{"Windows NT", "Linux"} {
			d := single(f)
			d["os"] = os
			g.add("bad-frame", d)
		}
	}
	// Junk past the 40th frame cannot fail the rule.
	fs := g.frames(40)
	fs = append(fs, "junk", 5)
	g.add("junk-after-40", obj{"crashing_thread": 0, "threads": []any{obj{"frames": fs}}})
	// A processed crash missing parts.
	g.add("processed-empty", obj{"json_dump": obj{}})
	g.add("processed-null", obj{"json_dump": nil, "hang": "x", "oom_allocation_size": "300000"})
	g.add("processed-fields", obj{"json_dump": obj{"crash_info": obj{"crashing_thread": nil, "type": "EXCEPTION_STACK_OVERFLOW"},
		"threads": []any{obj{"frames": g.frames(4)}}, "system_info": obj{"os": "Windows NT"}},
		"abort_message": "boom", "ipc_message_name": "M", "oom_allocation_size": "abc", "additional_minidumps": []any{"upload_file_minidump_browser"},
		"ipc_channel_error": "ShutDownKill", "java_stack_trace": nil})
}

// combined mixes features: a random stack plus random rule inputs.
func (g *gen) combined() obj {
	d := g.stackData()
	opts := []func(){
		func() { d["abort_message"] = "###!!! ABORT: " + g.cppName() + ": file x.cpp, line 3" },
		func() { d["oom_allocation_size"] = g.rng.IntN(600000) },
		func() { d["hang"] = g.pick([]string{"browser", "content"}) },
		func() { d["ipc_message_name"] = "PFoo::Msg_Bar" },
		func() { d["mdsw_status_string"] = "ERROR_X" },
		func() { d["js_large_allocation_failure"] = "Reporting" },
		func() {
			b, _ := json.Marshal(obj{"phase": "p", "conditions": []any{obj{"name": g.cppName()}}})
			d["async_shutdown_timeout"] = string(b)
		},
		func() {
			d["ipc_channel_error"] = "ShutDownKill"
			d["additional_minidumps"] = []any{"upload_file_minidump_browser"}
		},
	}
	for _, o := range opts {
		if g.chance(0.12) {
			o()
		}
	}
	return d
}
