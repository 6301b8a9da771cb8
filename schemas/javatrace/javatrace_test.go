package javatrace

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

const trace = "java.lang.IllegalStateException: user alice@example.com token=abc123\n" +
	"  second message line https://example.com/?q=secret\n" +
	"\tat org.mozilla.gecko.Foo.bar(Foo.java:12)\n" +
	"\tat android.os.Handler.dispatchMessage(Handler.java:99)\n" +
	"Caused by: java.io.IOException: /home/alice/secret.txt\n" +
	"\tat java.io.File.open(File.java:1)\n" +
	"\t... 3 more\n" +
	"\tSuppressed: java.lang.Exception: another secret\n"

func TestPublic(t *testing.T) {
	got := Public(trace)
	assert.Equal(t, "java.lang.IllegalStateException\n\tat org.mozilla.gecko.Foo.bar(Foo.java:12)\n\tat android.os.Handler.dispatchMessage(Handler.java:99)", got)
	for _, secret := range []string{"alice", "abc123", "example.com", "secret", "IOException"} {
		assert.NotContains(t, got, secret)
	}
	assert.Equal(t, got, Public(got), "idempotent")
}

func TestPublicEdgeCases(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"  \n\n", ""},
		{"java.lang.OutOfMemoryError", "java.lang.OutOfMemoryError\n"},
		{"java.lang.OutOfMemoryError\n", "java.lang.OutOfMemoryError\n"},
		{"kotlin.NotImplementedError: An operation is not implemented.\n\tat a.B.c(B.kt:3)", "kotlin.NotImplementedError\n\tat a.B.c(B.kt:3)"},
		// a first line that is not a class name may be a message
		{"mail alice@example.com: oops\n\tat a.B.c(B.java:1)", Malformed},
		{"https://example.com/x\n\tat a.B.c(B.java:1)", "https\n\tat a.B.c(B.java:1)"},
		// a frame section interrupted by an untabbed line (Socorro: malformed)
		{"a.B: m\n\tat a.B.c(B.java:1)\nleak here", Malformed},
		// space-indented frames are never reached: all of it is message
		{"a.B: m\n    at a.B.c(B.java:1)", "a.B\n"},
		{"a.B: m\r\n\tat a.B.c(B.java:1)\r\n", "a.B\n\tat a.B.c(B.java:1)"},
	} {
		got := Public(c.in)
		assert.Equal(t, c.want, got, "%q", c.in)
		assert.Equal(t, got, Public(got), "idempotent on %q", c.in)
	}
}

func FuzzPublic(f *testing.F) {
	f.Add(trace)
	f.Add("a.B\n\tat x")
	f.Fuzz(func(t *testing.T, s string) {
		got := Public(s)
		if got != Public(got) {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, got, Public(got))
		}
		// nothing after the first line's colon survives
		first := strings.SplitN(strings.TrimLeft(s, " \t\r\n"), "\n", 2)[0]
		class, msg, ok := strings.Cut(first, ":")
		msg = strings.TrimSpace(msg)
		if rest := strings.TrimPrefix(got, strings.TrimSpace(class)); ok && len(msg) > 3 && strings.Contains(rest, msg) && !strings.Contains(rest, "\tat ") {
			t.Fatalf("message %q survived in %q", msg, got)
		}
	})
}
