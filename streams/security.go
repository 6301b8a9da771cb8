package streams

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Security is how clients authenticate to and encrypt traffic with the
// brokers of a managed or operator-run Kafka: TLS (optionally with a
// private CA and a client certificate) and SASL PLAIN or SCRAM.
type Security struct {
	// TLS turns on TLS to the brokers.
	TLS bool
	// TLSCA is a PEM file of CA certificates to trust (empty: the system's).
	TLSCA string
	// TLSCert and TLSKey are a PEM client certificate and key (mutual TLS).
	TLSCert, TLSKey string
	// SASLMechanism is "", PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
	SASLMechanism string
	// SASLUser and SASLPassword are the SASL credentials.
	SASLUser, SASLPassword string
}

// RegisterFlags adds the kafka.tls* and kafka.sasl-* flags.
func (s *Security) RegisterFlags(fs *flag.FlagSet) {
	fs.BoolVar(&s.TLS, "kafka.tls", false, "use TLS to the Kafka brokers")
	fs.StringVar(&s.TLSCA, "kafka.tls-ca", "", "PEM file of CA certificates for the brokers (default: the system's)")
	fs.StringVar(&s.TLSCert, "kafka.tls-cert", "", "PEM client certificate for mutual TLS")
	fs.StringVar(&s.TLSKey, "kafka.tls-key", "", "PEM client key for mutual TLS")
	fs.StringVar(&s.SASLMechanism, "kafka.sasl-mechanism", "", "SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (empty: none)")
	fs.StringVar(&s.SASLUser, "kafka.sasl-user", "", "SASL user name")
	fs.StringVar(&s.SASLPassword, "kafka.sasl-password", "", "SASL password")
}

// Validate checks that the settings go together and the files exist.
func (s *Security) Validate() error {
	if (s.TLSCert == "") != (s.TLSKey == "") {
		return errors.New("kafka.tls-cert and kafka.tls-key: set both or neither")
	}
	if !s.TLS && (s.TLSCA != "" || s.TLSCert != "") {
		return errors.New("kafka.tls-ca/tls-cert: need kafka.tls=true")
	}
	for flagName, path := range map[string]string{"kafka.tls-ca": s.TLSCA, "kafka.tls-cert": s.TLSCert, "kafka.tls-key": s.TLSKey} {
		if path != "" {
			if _, err := os.Stat(path); err != nil {
				return fmt.Errorf("%s: %w", flagName, err)
			}
		}
	}
	switch strings.ToUpper(s.SASLMechanism) {
	case "":
		if s.SASLUser != "" || s.SASLPassword != "" {
			return errors.New("kafka.sasl-user/password: need kafka.sasl-mechanism")
		}
	case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
		if s.SASLUser == "" || s.SASLPassword == "" {
			return errors.New("kafka.sasl-user and kafka.sasl-password: required with kafka.sasl-mechanism")
		}
	default:
		return fmt.Errorf("kafka.sasl-mechanism: %q is not PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", s.SASLMechanism)
	}
	return nil
}

// opts returns the franz-go options for these settings.
func (s *Security) opts() ([]kgo.Opt, error) {
	var out []kgo.Opt
	if s.TLS {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if s.TLSCA != "" {
			pem, err := os.ReadFile(s.TLSCA)
			if err != nil {
				return nil, fmt.Errorf("kafka.tls-ca: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("kafka.tls-ca: no certificate in %s", s.TLSCA)
			}
			tc.RootCAs = pool
		}
		if s.TLSCert != "" {
			cert, err := tls.LoadX509KeyPair(s.TLSCert, s.TLSKey)
			if err != nil {
				return nil, fmt.Errorf("kafka.tls-cert/key: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		out = append(out, kgo.DialTLSConfig(tc))
	}
	switch strings.ToUpper(s.SASLMechanism) {
	case "PLAIN":
		out = append(out, kgo.SASL(plain.Auth{User: s.SASLUser, Pass: s.SASLPassword}.AsMechanism()))
	case "SCRAM-SHA-256":
		out = append(out, kgo.SASL(scram.Auth{User: s.SASLUser, Pass: s.SASLPassword}.AsSha256Mechanism()))
	case "SCRAM-SHA-512":
		out = append(out, kgo.SASL(scram.Auth{User: s.SASLUser, Pass: s.SASLPassword}.AsSha512Mechanism()))
	}
	return out, nil
}
