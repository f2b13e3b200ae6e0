package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/cachebench/cachebench/mocks"
)

// envFlags are the flags that choose and configure an environment provider.
type envFlags struct {
	cfg mocks.Config
}

func (f *envFlags) register(c *cobra.Command) {
	fl := c.Flags()
	fl.StringVar(&f.cfg.Provider, "env", mocks.ProviderAuto, "environment: auto, "+strings.Join(mocks.Providers, ", "))
	fl.StringVar(&f.cfg.Docker.RedisImage, "redis-image", "", "docker: Redis image (default $CACHEBENCH_REDIS_IMAGE, else "+mocks.DefaultRedisImage+")")
	fl.StringVar(&f.cfg.Docker.DynamoDBImage, "dynamodb-image", "", "docker: DynamoDB Local image (default $CACHEBENCH_DYNAMODB_IMAGE, else "+mocks.DefaultDynamoDBImage+")")
	fl.StringVar(&f.cfg.Docker.StripeMockImage, "stripe-mock-image", "", "docker: stripe-mock image (default $CACHEBENCH_STRIPE_MOCK_IMAGE, else "+mocks.DefaultStripeMockImage+")")
	fl.StringVar(&f.cfg.External.RedisURL, "redis-url", "", "external: redis:// or rediss:// URL (default $CACHEBENCH_REDIS_URL)")
	fl.BoolVar(&f.cfg.External.RedisCluster, "redis-cluster", false, "external: Redis is a cluster (default $CACHEBENCH_REDIS_CLUSTER)")
	fl.StringVar(&f.cfg.External.RedisCAFile, "redis-ca-file", "", "external: PEM CA for rediss:// (default $CACHEBENCH_REDIS_CA_FILE)")
	fl.StringVar(&f.cfg.External.DynamoDBEndpoint, "dynamodb-endpoint", "", "external: DynamoDB endpoint URL; empty = AWS (default $CACHEBENCH_DYNAMODB_ENDPOINT)")
	fl.StringVar(&f.cfg.External.DynamoDBRegion, "dynamodb-region", "", "external: AWS region (default $CACHEBENCH_DYNAMODB_REGION)")
	fl.StringVar(&f.cfg.External.StripeURL, "stripe-url", "", "external: Stripe API base URL (default $CACHEBENCH_STRIPE_URL)")
	fl.StringVar(&f.cfg.External.StripeKey, "stripe-key", "", "external: Stripe test-mode secret key (default $CACHEBENCH_STRIPE_KEY)")
}

func newEnvCmd() *cobra.Command {
	env := &cobra.Command{
		Use:   "env",
		Short: "Start or clean up the services cachebench runs against",
	}
	var f envFlags
	up := &cobra.Command{
		Use:   "up",
		Short: "Start Redis, DynamoDB and a Stripe API, print their endpoints, and keep them until Ctrl-C",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			f.cfg.Log = c.ErrOrStderr()
			e, err := mocks.Start(ctx, f.cfg)
			if err != nil {
				if strings.HasPrefix(err.Error(), "unknown environment") || errors.Is(err, mocks.ErrConfig) {
					return usageError{err}
				}
				return err
			}
			out := c.OutOrStdout()
			fmt.Fprint(out, e.Describe())
			fmt.Fprintln(out, "# to use these from another shell: --env external with")
			for _, kv := range e.ExternalVariables() {
				fmt.Fprintln(out, "export "+kv)
			}
			fmt.Fprintln(out, "ready; press Ctrl-C to stop")
			<-ctx.Done()
			fmt.Fprintln(c.ErrOrStderr(), "stopping")
			cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			return e.Close(cctx)
		},
	}
	f.register(up)
	down := &cobra.Command{
		Use:   "down",
		Short: "Remove containers a killed cachebench left behind",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			n, err := mocks.Down(c.Context())
			fmt.Fprintf(c.OutOrStdout(), "removed %d container(s)\n", n)
			return err
		},
	}
	env.AddCommand(up, down)
	return env
}
