package main

import (
	"flag"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAllWebappProbesProcessorSymbolServers: in crashstream all, the
// webapp probes the processor's -symbols.url unless -webapp.symbols.url
// names others; the webapp alone has only its own setting.
func TestAllWebappProbesProcessorSymbolServers(t *testing.T) {
	parse := func(svcs []service, args ...string) *webappService {
		t.Helper()
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		var web *webappService
		for _, s := range svcs {
			s.about().cfg.RegisterFlags(fs)
			if w, ok := s.(*webappService); ok {
				web = w
			}
		}
		require.NoError(t, fs.Parse(args))
		require.NotNil(t, web)
		return web
	}
	w := parse(allServices(), "-symbols.url", "https://a.example/,https://b.example/")
	assert.Equal(t, []string{"https://a.example/", "https://b.example/"}, []string(w.config().SymbolURLs))
	w = parse(allServices(), "-symbols.url", "https://a.example/", "-webapp.symbols.url", "https://c.example/")
	assert.Equal(t, []string{"https://c.example/"}, []string(w.config().SymbolURLs))
	w = parse([]service{&webappService{}})
	assert.Empty(t, w.config().SymbolURLs)
}
