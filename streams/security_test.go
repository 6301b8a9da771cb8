package streams

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSecurityValidate(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "ca.pem")
	assert.NoError(t, os.WriteFile(ca, []byte("not a cert"), 0o600))
	tests := []struct {
		name string
		s    Security
		want string
	}{
		{"none", Security{}, ""},
		{"tls", Security{TLS: true}, ""},
		{"plain", Security{SASLMechanism: "PLAIN", SASLUser: "u", SASLPassword: "p"}, ""},
		{"scram", Security{TLS: true, SASLMechanism: "scram-sha-512", SASLUser: "u", SASLPassword: "p"}, ""},
		{"unknown mechanism", Security{SASLMechanism: "GSSAPI", SASLUser: "u", SASLPassword: "p"}, "kafka.sasl-mechanism"},
		{"no password", Security{SASLMechanism: "PLAIN", SASLUser: "u"}, "kafka.sasl-password"},
		{"user without mechanism", Security{SASLUser: "u"}, "kafka.sasl-mechanism"},
		{"cert without key", Security{TLS: true, TLSCert: ca}, "kafka.tls-key"},
		{"ca without tls", Security{TLSCA: ca}, "kafka.tls=true"},
		{"missing ca", Security{TLS: true, TLSCA: "/nonexistent.pem"}, "kafka.tls-ca"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.s.Validate()
			if tt.want == "" {
				assert.NoError(t, err)
				_, err := tt.s.opts()
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tt.want)
		})
	}
	bad := Security{TLS: true, TLSCA: ca}
	_, err := bad.opts()
	assert.ErrorContains(t, err, "no certificate")
}
