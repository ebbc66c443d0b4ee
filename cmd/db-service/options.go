package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"
	"sigs.k8s.io/yaml"

	"github.com/cloudevents-conductor/conductor/pkg/bus"
	"github.com/cloudevents-conductor/conductor/pkg/dbservice"
	"github.com/cloudevents-conductor/conductor/pkg/process"
)

const (
	component      = "db-service"
	defaultOpsAddr = ":8093"
)

// options are the command-line flags.
type options struct {
	common process.CommonOptions

	serverConfig   string
	dbURL          string
	dbHost         string
	dbPort         int
	dbName         string
	dbUser         string
	dbPassword     string // only from --server-config; flags take a file
	dbPasswordFile string
	dbSSLMode      string
	dbPoolSize     int

	nats bus.ConnectOptions

	scanPeriod     time.Duration
	purgeAfter     time.Duration
	specWorkers    int
	maxConcurrent  int
	publishTimeout time.Duration
}

func (o *options) parse(args []string, out io.Writer) error {
	fs := flag.NewFlagSet(component, flag.ContinueOnError)
	o.common.AddFlags(fs, defaultOpsAddr)
	fs.StringVar(&o.serverConfig, "server-config", "", "YAML file of the reference conductor (its conductor grpc --server-config); its db_config (host, port, name, username, password, sslmode, max_open_connections) supplies the --db-* settings not given otherwise")
	fs.StringVar(&o.dbURL, "db-url", "", "PostgreSQL connection URL or keyword/value string; when set, --db-host/port/name/user/sslmode are ignored (a --db-password-file still applies)")
	fs.StringVar(&o.dbHost, "db-host", "localhost", "Maestro PostgreSQL host")
	fs.IntVar(&o.dbPort, "db-port", 5432, "Maestro PostgreSQL port")
	fs.StringVar(&o.dbName, "db-name", "maestro", "Maestro database name")
	fs.StringVar(&o.dbUser, "db-user", "maestro", "database user")
	fs.StringVar(&o.dbPasswordFile, "db-password-file", "", "file holding the database password")
	fs.StringVar(&o.dbSSLMode, "db-sslmode", "disable", "libpq sslmode: disable, require, verify-ca or verify-full")
	fs.IntVar(&o.dbPoolSize, "db-pool-size", 10, "maximum database connections for status writes and spec pushes (the LISTEN connection is extra)")
	o.nats.AddFlags(fs)
	fs.DurationVar(&o.scanPeriod, "scan-period", time.Minute, "how often unreconciled events are rescanned, besides at start-up and after every LISTEN reconnect")
	fs.DurationVar(&o.purgeAfter, "purge-reconciled-after", time.Hour, "delete events reconciled longer ago than this at each periodic scan (0 keeps them)")
	fs.IntVar(&o.specWorkers, "spec-workers", 4, "spec events pushed concurrently")
	fs.IntVar(&o.maxConcurrent, "max-concurrent-requests", 64, "bus requests (status writes, resyncs) handled concurrently")
	fs.DurationVar(&o.publishTimeout, "publish-timeout", 5*time.Second, "how long a spec push waits for NATS to confirm it before it is retried")
	if err := process.ParseFlags(fs, args, component, out); err != nil {
		return err
	}
	if err := o.applyServerConfig(fs); err != nil {
		return err
	}
	return o.validate()
}

// conductorServerConfig is the part of the reference conductor's --server-config file we read.
type conductorServerConfig struct {
	DBConfig struct {
		Host               string `json:"host"`
		Port               int    `json:"port"`
		Name               string `json:"name"`
		Username           string `json:"username"`
		Password           string `json:"password"`
		SSLMode            string `json:"sslmode"`
		MaxOpenConnections int    `json:"max_open_connections"`
	} `json:"db_config"`
}

// applyServerConfig fills the database settings that were not given as flags (or in --config)
// from the reference conductor's configuration file, so an existing deployment's Secret works as is.
func (o *options) applyServerConfig(fs *flag.FlagSet) error {
	if o.serverConfig == "" {
		return nil
	}
	raw, err := os.ReadFile(o.serverConfig)
	if err != nil {
		return fmt.Errorf("reading --server-config: %w", err)
	}
	var cfg conductorServerConfig
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		return fmt.Errorf("parsing --server-config %s: %w", o.serverConfig, err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	db := cfg.DBConfig
	fill := func(flagName string, present bool, apply func()) {
		if present && !set[flagName] {
			apply()
		}
	}
	fill("db-host", db.Host != "", func() { o.dbHost = db.Host })
	fill("db-port", db.Port != 0, func() { o.dbPort = db.Port })
	fill("db-name", db.Name != "", func() { o.dbName = db.Name })
	fill("db-user", db.Username != "", func() { o.dbUser = db.Username })
	fill("db-password-file", db.Password != "", func() { o.dbPassword = db.Password })
	fill("db-sslmode", db.SSLMode != "", func() { o.dbSSLMode = db.SSLMode })
	fill("db-pool-size", db.MaxOpenConnections > 0, func() { o.dbPoolSize = db.MaxOpenConnections })
	return nil
}

func (o *options) validate() error {
	switch {
	case o.dbPoolSize < 1:
		return errors.New("--db-pool-size must be at least 1")
	case o.scanPeriod <= 0:
		return errors.New("--scan-period must be positive")
	case o.purgeAfter < 0:
		return errors.New("--purge-reconciled-after must not be negative")
	case o.specWorkers < 1:
		return errors.New("--spec-workers must be at least 1")
	case o.maxConcurrent < 1:
		return errors.New("--max-concurrent-requests must be at least 1")
	}
	return nil
}

// poolConfig builds the pgx pool configuration from the flags.
func (o *options) poolConfig() (*pgxpool.Config, error) {
	dsn := o.dbURL
	if dsn == "" {
		u := url.URL{Scheme: "postgres", Host: net.JoinHostPort(o.dbHost, strconv.Itoa(o.dbPort)), Path: "/" + o.dbName,
			User: url.User(o.dbUser), RawQuery: url.Values{"sslmode": {o.dbSSLMode}}.Encode()}
		dsn = u.String()
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("database settings: %w", err)
	}
	password := o.dbPassword
	if o.dbPasswordFile != "" {
		if password, err = process.ReadSecretFile(o.dbPasswordFile); err != nil {
			return nil, err
		}
	}
	if password != "" {
		cfg.ConnConfig.Password = password
	}
	cfg.MaxConns = int32(o.dbPoolSize)
	cfg.ConnConfig.RuntimeParams["application_name"] = component
	return cfg, nil
}

// serve runs the db-service and the ops server until ctx ends.
func (o *options) serve(ctx context.Context) error {
	logger, err := o.common.Logger()
	if err != nil {
		return err
	}
	poolCfg, err := o.poolConfig()
	if err != nil {
		return err
	}
	// The pool connects lazily: the process starts while PostgreSQL is away and readiness says so.
	pool, err := pgxpool.NewWithConfig(ctx, poolCfg)
	if err != nil {
		return fmt.Errorf("database pool: %w", err)
	}
	defer pool.Close()
	nc, err := bus.Connect(component, o.nats, logger)
	if err != nil {
		return err
	}
	defer nc.Close()

	registry := process.NewRegistry()
	svc, err := dbservice.New(dbservice.Options{
		Pool: pool, NATS: nc, ScanPeriod: o.scanPeriod, PurgeReconciledAfter: o.purgeAfter,
		SpecWorkers: o.specWorkers, MaxConcurrentRequests: o.maxConcurrent, PublishTimeout: o.publishTimeout,
		Registerer: registry, Logger: logger,
	})
	if err != nil {
		return err
	}
	ops := process.NewOpsServer(process.OpsOptions{Addr: o.common.OpsAddr, Registry: registry, Logger: logger})
	ops.AddReadyCheck("database", svc.Store().Ping)
	ops.AddReadyCheck("nats", func(context.Context) error {
		if !nc.IsConnected() {
			return fmt.Errorf("NATS is %s", nc.Status())
		}
		return nil
	})
	logger.Info("starting", "component", component, "database", poolCfg.ConnConfig.Database,
		"dbHost", poolCfg.ConnConfig.Host, "nats", o.nats.URL)
	group, ctx := errgroup.WithContext(ctx)
	group.Go(func() error { return svc.Run(ctx) })
	group.Go(func() error { return ops.Run(ctx) })
	return group.Wait()
}
