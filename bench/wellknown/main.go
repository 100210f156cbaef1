// Command wellknown serves only the JWKS and the discovery documents, behind
// the server's full middleware chain, so a load generator such as wrk can
// measure them on loopback:
//
//	go run ./bench/wellknown -listen 127.0.0.1:8089
//	wrk -t2 -c64 -d20s http://127.0.0.1:8089/.well-known/jwks.json
//
// It keeps its data in a temporary directory on the embedded engine and
// removes it on exit (SIGINT or SIGTERM).
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/averos/averos-auth/internal/httpserver"
	"github.com/averos/averos-auth/storage"
	"github.com/averos/averos-auth/wellknown"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "wellknown bench server:", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "127.0.0.1:8089", "address to listen on (host:port)")
	algorithm := flag.String("algorithm", "RS256", "signing key algorithm: RS256, ES256 or EdDSA")
	accessLog := flag.Bool("access-log", true, "encode the access log as JSON, written to nowhere, as in production")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	dir, err := os.MkdirTemp("", "averos-wellknown-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	engine, err := storage.StartEmbedded(ctx, dir, nil)
	if err != nil {
		return fmt.Errorf("start the embedded engine: %w", err)
	}
	defer engine.Close()
	store, err := storage.Open(storage.Options{URI: engine.URI()})
	if err != nil {
		return err
	}
	defer store.Close(context.Background())

	keys, err := wellknown.NewManager(store, wellknown.ManagerOptions{
		SystemSecret: "bench-system-secret-0123456789abcdefghij", Algorithm: *algorithm, RSABits: 2048,
		LeadTime: 24 * time.Hour, MaxTokenLifetime: time.Hour,
	})
	if err != nil {
		return err
	}
	if err := keys.Init(ctx); err != nil {
		return err
	}

	logger := zap.NewNop()
	if *accessLog {
		core := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()),
			zapcore.AddSync(discard{}), zapcore.InfoLevel)
		logger = zap.New(core)
	}
	srv := httpserver.New(httpserver.Options{Logger: logger})
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	issuer := "http://" + ln.Addr().String()
	if err := keys.Mount(srv.Router(), wellknown.Discovery{
		Issuer: issuer, RefreshScope: "offline_access", MaxAge: 15 * time.Minute,
	}); err != nil {
		return err
	}
	fmt.Println("serving", issuer+wellknown.PathJWKS, "and", issuer+wellknown.PathOpenIDConfiguration)
	return srv.Serve(ctx, ln)
}

// discard is a zapcore.WriteSyncer that drops everything.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) Sync() error                 { return nil }
