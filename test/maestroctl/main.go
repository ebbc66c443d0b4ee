// Command maestroctl writes Maestro resource bundles into a Maestro database exactly as a Maestro
// server does for its gRPC source API (maestro.md §2.3): for trying the conductor without a
// Maestro server, in `make run` and by hand.
//
//	maestroctl --dsn <postgres url> create --consumer cluster1 [--source demo] [--configmap hello]
//	maestroctl --dsn <postgres url> delete --id <resource id>
//	maestroctl --dsn <postgres url> get --id <resource id>
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cloudevents-conductor/conductor/pkg/dbservice/maestrotest"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "maestroctl:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	global := flag.NewFlagSet("maestroctl", flag.ContinueOnError)
	dsn := global.String("dsn", os.Getenv("MAESTRO_DSN"), "Maestro database URL (or MAESTRO_DSN)")
	if err := global.Parse(args); err != nil {
		return err
	}
	if global.NArg() == 0 {
		return errors.New("want a command: create, delete or get")
	}
	pool, err := pgxpool.New(ctx, *dsn)
	if err != nil {
		return err
	}
	defer pool.Close()
	m := maestrotest.New(pool)
	cmd, rest := global.Arg(0), global.Args()[1:]
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	switch cmd {
	case "create":
		consumer := fs.String("consumer", "cluster1", "consumer (cluster) name")
		source := fs.String("source", "maestroctl", "source id of the creator")
		configMap := fs.String("configmap", "hello-maestro", "name of the ConfigMap the bundle deploys")
		if err := fs.Parse(rest); err != nil {
			return err
		}
		id, _, err := m.CreateResource(ctx, maestrotest.Bundle{Source: *source, Consumer: *consumer, Manifests: []map[string]any{{
			"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": *configMap, "namespace": "default"},
			"data":     map[string]any{"from": "maestro"},
		}}})
		if err != nil {
			return err
		}
		fmt.Println(id)
		return nil
	case "delete":
		id := fs.String("id", "", "resource id")
		if err := fs.Parse(rest); err != nil {
			return err
		}
		_, err := m.DeleteResource(ctx, *id)
		return err
	case "get":
		id := fs.String("id", "", "resource id")
		if err := fs.Parse(rest); err != nil {
			return err
		}
		var version int64
		var deleted bool
		var status json.RawMessage
		err := pool.QueryRow(ctx, `SELECT version, deleted_at IS NOT NULL, coalesce(status, 'null'::jsonb) FROM resources WHERE id = $1`, *id).Scan(&version, &deleted, &status)
		if err != nil {
			return err
		}
		fmt.Printf("version=%d deleting=%t\nstatus=%s\n", version, deleted, status)
		return nil
	default:
		return fmt.Errorf("unknown command %q: want create, delete or get", cmd)
	}
}
