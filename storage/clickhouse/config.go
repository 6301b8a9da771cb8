package clickhouse

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"
)

// Config is how crashstream reaches ClickHouse.
type Config struct {
	// Addr is the server's host:port for Protocol (native: 9000, 9440 with
	// TLS; http: 8123, 8443 with TLS).
	Addr string
	// Protocol is "native" (the default) or "http". Both carry the same
	// queries; http is for servers reached only through an HTTP endpoint.
	Protocol string
	// Secure connects with TLS (verified against the system roots).
	Secure bool
	// Database holds every crashstream table; migrations create it.
	Database string
	// Cluster, when set, is the ClickHouse cluster (a <remote_servers> name
	// on every node) that holds the tables: migrations run ON CLUSTER,
	// tables are replicated and sharded behind Distributed tables, and
	// inserts wait for the shard (see cluster.go). Empty: one node.
	Cluster string
	// Username and Password authenticate; the local stack uses default/"".
	Username string
	Password string
	// DialTimeout bounds connecting; QueryTimeout bounds each read query
	// (ReadTimeout of the driver), so a slow query cannot hold a request.
	DialTimeout  time.Duration
	QueryTimeout time.Duration
	// MaxOpenConns bounds the connection pool.
	MaxOpenConns int
}

// RegisterFlags adds the clickhouse.* flags with the shared defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) { c.RegisterFlagsWithPrefix("clickhouse.", fs) }

// RegisterFlagsWithPrefix adds the flags under prefix (normally "clickhouse.").
func (c *Config) RegisterFlagsWithPrefix(prefix string, fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, prefix+"addr", "127.0.0.1:19000", "ClickHouse native protocol address")
	fs.StringVar(&c.Protocol, prefix+"protocol", "native", "ClickHouse protocol: native or http")
	fs.BoolVar(&c.Secure, prefix+"secure", false, "connect to ClickHouse with TLS")
	fs.StringVar(&c.Database, prefix+"database", "crashstream", "ClickHouse database of the crashstream tables")
	fs.StringVar(&c.Cluster, prefix+"cluster", "", "ClickHouse cluster name (remote_servers) holding the tables; empty: a single node")
	fs.StringVar(&c.Username, prefix+"username", "default", "ClickHouse user")
	fs.StringVar(&c.Password, prefix+"password", "", "ClickHouse password")
	fs.DurationVar(&c.DialTimeout, prefix+"dial-timeout", 5*time.Second, "bound on connecting to ClickHouse")
	fs.DurationVar(&c.QueryTimeout, prefix+"query-timeout", 30*time.Second, "bound on each ClickHouse query")
	fs.IntVar(&c.MaxOpenConns, prefix+"max-open-conns", 8, "ClickHouse connection pool size")
}

// identRE is what a database name may be: it is spliced into DDL and queries
// as an identifier, so it is restricted rather than escaped.
var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// Validate checks every setting and names the bad flag.
func (c Config) Validate() error {
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil || host == "" {
		return fmt.Errorf("-clickhouse.addr: want host:port, got %q", c.Addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("-clickhouse.addr: bad port in %q", c.Addr)
	}
	if c.Protocol != "" && c.Protocol != "native" && c.Protocol != "http" {
		return fmt.Errorf("-clickhouse.protocol: want native or http, got %q", c.Protocol)
	}
	if !identRE.MatchString(c.Database) {
		return fmt.Errorf("-clickhouse.database: %q is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*)", c.Database)
	}
	if c.Cluster != "" && !identRE.MatchString(c.Cluster) {
		return fmt.Errorf("-clickhouse.cluster: %q is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*)", c.Cluster)
	}
	if c.Username == "" {
		return errors.New("-clickhouse.username: must not be empty")
	}
	if c.DialTimeout <= 0 {
		return fmt.Errorf("-clickhouse.dial-timeout: must be positive, got %s", c.DialTimeout)
	}
	if c.QueryTimeout <= 0 {
		return fmt.Errorf("-clickhouse.query-timeout: must be positive, got %s", c.QueryTimeout)
	}
	if c.MaxOpenConns < 1 || c.MaxOpenConns > 256 {
		return fmt.Errorf("-clickhouse.max-open-conns: want 1..256, got %d", c.MaxOpenConns)
	}
	return nil
}

// Open connects, pings and asks the server its version, then keeps only the
// session settings that version knows. The connection does not select a
// database (every statement names it), so it works before migrations created
// the database.
//
// The supported range is ClickHouse 18.16 (the local stack) to the newest
// release. A setting that only old servers need is sent only to them: the
// LowCardinality columns need allow_experimental_low_cardinality_type on
// releases before 19.3, and current releases reject that setting (Code 115,
// Unknown setting), so sending it everywhere fails every query there.
func Open(ctx context.Context, c Config) (driver.Conn, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	conn, err := dial(ctx, c, nil)
	if err != nil {
		return nil, err
	}
	v, err := conn.ServerVersion()
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("clickhouse server version %s: %w", c.Addr, err)
	}
	settings := SessionSettings(v.Version)
	if c.Cluster != "" {
		if settings == nil {
			settings = ch.Settings{}
		}
		// An INSERT into a Distributed table returns only once the
		// shard has the rows: the sink commits offsets after it.
		settings["insert_distributed_sync"] = 1
	}
	if len(settings) == 0 {
		return conn, nil
	}
	_ = conn.Close()
	return dial(ctx, c, settings)
}

// SessionSettings returns the settings a server of version v needs on every
// query: only what that version knows and our DDL needs.
func SessionSettings(v proto.Version) ch.Settings {
	if v.Major < 19 || (v.Major == 19 && v.Minor < 3) {
		// LowCardinality became a regular type in 19.3, which also
		// removed this setting.
		return ch.Settings{"allow_experimental_low_cardinality_type": 1}
	}
	return nil
}

// dial opens a pool with settings and pings it.
func dial(ctx context.Context, c Config, settings ch.Settings) (driver.Conn, error) {
	opts := &ch.Options{
		Addr:         []string{c.Addr},
		Auth:         ch.Auth{Username: c.Username, Password: c.Password},
		DialTimeout:  c.DialTimeout,
		ReadTimeout:  c.QueryTimeout,
		MaxOpenConns: c.MaxOpenConns,
		MaxIdleConns: c.MaxOpenConns,
		Settings:     settings,
	}
	if c.Protocol == "http" {
		opts.Protocol = ch.HTTP
	}
	if c.Secure {
		opts.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	conn, err := ch.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("clickhouse open %s: %w", c.Addr, err)
	}
	pctx, cancel := context.WithTimeout(ctx, c.DialTimeout)
	defer cancel()
	if err := conn.Ping(pctx); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("clickhouse ping %s: %w", c.Addr, err)
	}
	return conn, nil
}
