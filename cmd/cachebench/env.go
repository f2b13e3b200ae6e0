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
	"github.com/cachebench/cachebench/mocks/stripeoverlay"
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
	var overlayListen string
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
			// The Stripe overlay as a service in front of the Stripe API: the shards of a
			// sharded run share its versions, rate limiter and staleness oracle through it
			// (see the bench package's documentation, Sharded runs).
			svc, err := stripeoverlay.NewService(stripeoverlay.ServiceConfig{Upstream: e.Stripe.URL, ServerLog: c.ErrOrStderr()})
			if err == nil {
				err = svc.Start(overlayListen)
			}
			if err != nil {
				cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				_ = e.Close(cctx)
				return fmt.Errorf("stripe overlay service: %w (fix --stripe-overlay-listen)", err)
			}
			defer func() {
				cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_ = svc.Close(cctx)
			}()
			out := c.OutOrStdout()
			fmt.Fprint(out, e.Describe())
			fmt.Fprintf(out, "Stripe overlay service: %s (in front of %s)\n", svc.URL(), e.Stripe.URL)
			fmt.Fprintln(out, "# to use these from another shell: --env external with")
			for _, kv := range e.ExternalVariables() {
				if strings.HasPrefix(kv, "CACHEBENCH_STRIPE_URL=") {
					kv = "CACHEBENCH_STRIPE_URL=" + svc.URL()
				}
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
	up.Flags().StringVar(&overlayListen, "stripe-overlay-listen", "127.0.0.1:0", "address the Stripe overlay service listens on (\":8420\" to serve other machines, as a Kubernetes Service would)")
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
