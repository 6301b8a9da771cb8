package signature

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testGenerator(t testing.TB, rs Ruleset) *Generator {
	t.Helper()
	lists, err := DefaultLists()
	require.NoError(t, err)
	return New(lists, rs)
}

// Cases from siggen's test suite (facts about Socorro's output) and our
// own, each checked against siggen 2.2.20241029.
func TestNormalizeCpp(t *testing.T) {
	g := testGenerator(t, RulesetSiggen)
	tests := []struct{ in, want string }{
		{"fn", "fn"},
		{"js_Interpret", "js_Interpret:23"},
		{"f( *s)", "f"},
		{"f( &s)", "f"},
		{"f( *s , &n)", "f"},
		{"f3(s,t,u)", "f3"},
		{"operator()(s,t,u)", "operator()"},
		{"::(anonymous namespace)::f3(s,t,u)", "::(anonymous namespace)::f3"},
		{"mozilla::layers::D3D11YCbCrImage::GetAsSourceSurface()", "mozilla::layers::D3D11YCbCrImage::GetAsSourceSurface"},
		{"mozilla::layers::BasicImageLayer::Paint(mozilla::gfx::DrawTarget*, mozilla::gfx::PointTyped<mozilla::gfx::UnknownUnits, float> const&, mozilla::layers::Layer*)",
			"mozilla::layers::BasicImageLayer::Paint"},
		// return types and prefixes
		{"void nsDocumentViewer::DestroyPresShell()", "nsDocumentViewer::DestroyPresShell"},
		{"bool CCGraphBuilder::BuildGraph(class js::SliceBudget& const)", "CCGraphBuilder::BuildGraph"},
		{"class JSObject* DoCallback<JSObject*>(class JS::CallbackTracer*, class JSObject**, const char*)", "DoCallback<T>"},
		{"somefunc (int arg1, int arg2)", "somefunc "}, // SigFixWhitespace trims later,
		// templates
		{"f<3>(s,t,u)", "f<T>"},
		{"Alpha<Bravo<Charlie>, Delta>::Echo<Foxtrot>", "Alpha<T>::Echo<T>"},
		{"thread_start<unsigned int (__cdecl*)(void* __ptr64)>", "thread_start<T>"},
		{"x<name omitted>::y", "x<name omitted>::y"},
		{"<unknown in libxul.so>", "<unknown in libxul.so>"},
		{"IPC::ParamTraits<nsTSubstring<char> >::Write(IPC::Message *,nsTSubstring<char> const &)",
			"IPC::ParamTraits<nsTSubstring<T> >::Write"},
		{"unbalanced<foo", "unbalanced<T>"},
		// operators keep their parentheses and skip prefix dropping
		{"JS::Heap<JSObject*>::operator JSObject* const &()", "JS::Heap<T>::operator JSObject* const&"},
		{"mozilla::jni::GlobalRef<mozilla::jni::Object>::operator=(mozilla::jni::Ref<mozilla::jni::Object, _jobject*> const&)&",
			"mozilla::jni::GlobalRef<T>::operator="},
		{"nsTArray<int>::operator[](unsigned long)", "nsTArray<T>::operator[]"},
		{"Foo::operator<(Foo const&, Foo const&)", "Foo::operator<T>"},
		// cv/ref qualifiers
		{"JSObject::allocKindForTenure const", "JSObject::allocKindForTenure"},
		{"mozilla::Maybe<unsigned long>::value() const &", "mozilla::Maybe<T>::value"},
		{"f(a,b,c,d)const", "f"},
		// anonymous namespaces and lambdas
		{"`anonymous namespace'::foo", "(anonymous namespace)::foo"},
		{"(anonymous namespace)::foo", "(anonymous namespace)::foo"},
		{"ShutdownWorkThreads::$_52::__invoke", "ShutdownWorkThreads::$::__invoke"},
		{"a::$_1::$_2::b", "a::$::$_2::b"},
		// PGO clones
		{"foo(int) [clone .cold.222]", "foo "},
		{"foo(int) [clone .cold.1] [clone .cold.2]", "foo  "},
		{"bar [clone .isra.0]", "bar [clone .isra.0]"},
		// spacing
		{"x,y", "x, y"},
		{"a , b", "b"},
		{"p *q", "*q"},
		{"Foo<a ,b>::c", "Foo<T>::c"},
	}
	for _, tt := range tests {
		got, err := g.norm.cpp(tt.in, "23")
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}

func TestNormalizeCppFailsLikeSocorro(t *testing.T) {
	g := testGenerator(t, RulesetSiggen)
	for _, in := range []string{"const", "&", "const&"} {
		_, err := g.norm.cpp(in, 1)
		assert.ErrorIs(t, err, errLookup, in)
	}
}

func TestNormalizeRust(t *testing.T) {
	g := testGenerator(t, RulesetSiggen)
	tests := []struct{ in, want string }{
		{"expect_failed::h7f635057bfba806a", "expect_failed"},
		{"expect_failed::h7f6350::blah", "expect_failed::h7f6350::blah"},
		{"static void servo_arc::Arc<style::gecko_properties::ComputedValues>::drop_slow<style::gecko_properties::ComputedValues>()",
			"servo_arc::Arc<T>::drop_slow<T>"},
		{"static void core::ptr::drop_in_place<style::stylist::CascadeData>(struct style::stylist::CascadeData*)",
			"core::ptr::drop_in_place<T>"},
		{"<rayon_core::job::HeapJob<BODY> as rayon_core::job::Job>::execute",
			"<rayon_core::job::HeapJob<BODY> as rayon_core::job::Job>::execute"},
		{"core::result::Result<T, E>::expect", "core::result::Result<T>::expect"},
		{"foo::hABCDEF", "foo"},
		{"foo::hxyz", "foo::hxyz"},
		{"std::thread::local::LocalKey<T>::with::{{closure}}", "std::thread::local::LocalKey<T>::with::{{closure}}"},
		{"f(&mut [u8] , usize)", "f"},
	}
	for _, tt := range tests {
		got, err := g.norm.rust(tt.in, 23)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}

func TestNormalizeStackFrame(t *testing.T) {
	g := testGenerator(t, RulesetSiggen)
	tests := []struct {
		name  string
		frame stackFrame
		lower bool
		want  string
	}{
		{"function wins", stackFrame{module: "m.dll", function: "f(int)", file: "/a.cpp", line: 3, offset: "0x1"}, false, "f"},
		{"rust by file", stackFrame{function: "a::b<T>::c::h0123456789abcdef", file: "/src/lib.rs"}, false, "a::b<T>::c"},
		{"rust by vcs file", stackFrame{function: "a::b::h01", file: "git:github.com/x/y:src/lib.rs:abc"}, false, "a::b"},
		{"relative .rs is C++", stackFrame{function: "a::b::h01", file: "src/lib.rs"}, false, "a::b::h01"},
		{"rust 1.34 panic", stackFrame{function: "panic", file: "hg:h:src/libcore/panicking.rs:1"}, false, "core::panicking::panic"},
		{"rust 1.34 panic, absolute path", stackFrame{function: "panic", file: "/src/libcore/panicking.rs"}, false, "panic"},
		{"file and line", stackFrame{file: "c:\\a\\b\\foo.cpp", line: 12}, false, "foo.cpp#12"},
		{"file and line, unix", stackFrame{file: "/a/b/foo.cpp/", line: 3}, false, "foo.cpp#3"},
		{"line 0 is no line", stackFrame{file: "/a/foo.cpp", line: 0, module: "m"}, false, "m"},
		{"module brackets", stackFrame{module: "[[[module]]"}, false, "module"},
		{"module lowered", stackFrame{module: "KERNEL32.DLL"}, true, "kernel32.dll"},
		{"unloaded", stackFrame{unloaded: []any{map[string]any{"module": "gone.dll"}}}, false, "(unloaded gone.dll)"},
		{"offset", stackFrame{offset: "0x0000000000032ec0"}, false, "@0x32ec0"},
		{"offset zero", stackFrame{offset: "0x0000"}, false, "@0x0"},
		{"offset not hex", stackFrame{offset: "zz"}, false, "@zz"},
		{"offset number", stackFrame{offset: 5}, false, "@5"},
		{"nothing", stackFrame{}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := g.normalizeStackFrame(tt.frame, tt.lower)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDropPrefixAndReturnType(t *testing.T) {
	tests := []struct{ in, want string }{
		{"static void * Allocator<MozJemallocBase>::malloc(unsigned __int64)", "Allocator<MozJemallocBase>::malloc(unsigned __int64)"},
		{"a b c", "c"},
		{"f (int a)", "f (int a)"},
		{"f(int) [clone .cold.1] [clone .cold.2]", "f(int) [clone .cold.1] [clone .cold.2]"},
		{"`anonymous namespace'::f g", "g"},
		{"x ", "x"},
		{" ", ""},
	}
	for _, tt := range tests {
		got, ok := dropPrefixAndReturnType(tt.in)
		require.True(t, ok, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
	_, ok := dropPrefixAndReturnType("")
	assert.False(t, ok)
}

func TestCollapse(t *testing.T) {
	assert.Equal(t, "a<T>b<T>", cppTemplates.collapse("a<x<y>>b<z>"))
	assert.Equal(t, "IPC::ParamTraits<a<T>>", cppTemplates.collapse("IPC::ParamTraits<a<b>>"))
	assert.Equal(t, "<x in y>", cppTemplates.collapse("<x in y>"))
	assert.Equal(t, "f<T>", cppTemplates.collapse("f<open"))
	assert.Equal(t, "operator()", cppArguments.collapse("operator()(a)"))
	assert.Equal(t, "no brackets", cppArguments.collapse("no brackets"))
}

func TestFixSpacing(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a, *b", "a, *b"},
		{"a ,,b", "a, , b"},
		{"a,", "a, "},
		{"p  *q", "p *q"},
		{"plain", "plain"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, fixSpacing(tt.in), tt.in)
	}
}

// FuzzNormalize checks that frame normalization never panics, keeps valid
// UTF-8 valid and does not grow a name beyond what its brackets allow.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"", "fn", "a<b<c>>::d(e, f) const", "`anonymous namespace'::x", "::$_3::",
		"f(int) [clone .cold.1]", "<a as b>::c::h0123", "operator<<(x)", "((((", ">>>)))", "a , b", "\u00a0x\ty"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	lists, err := DefaultLists()
	require.NoError(f, err)
	n := normalizer{lineNumbers: lists.LineNumbers}
	f.Fuzz(func(t *testing.T, in string, rust bool) {
		var out string
		var err error
		if rust {
			out, err = n.rust(in, 1)
		} else {
			out, err = n.cpp(in, 1)
		}
		if err != nil {
			return
		}
		if utf8.ValidString(in) && !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 from %q: %q", in, out)
		}
		// <T> replacements and ", " fixes are the only growth.
		limit := len(in) + 3*strings.Count(in, "<") + strings.Count(in, ",") + len(":1")
		if len(out) > limit {
			t.Fatalf("%q grew to %q", in, out)
		}
	})
}
