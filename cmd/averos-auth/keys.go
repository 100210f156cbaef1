package main

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/averos/averos-auth/internal/app"
	"github.com/averos/averos-auth/wellknown"
)

// openKeys opens storage and loads the signing keys, generating the first
// one when the store has none.
func openKeys(ctx context.Context, cmd *command, args []string, e env) (*wellknown.Manager, func(), error) {
	cfg, err := cmd.parse(args, e.environ)
	if err != nil {
		return nil, nil, err
	}
	st, err := openForCLI(ctx, cfg, e)
	if err != nil {
		return nil, nil, err
	}
	closeAll := func() { _ = st.Close(context.WithoutCancel(ctx)) }
	m, err := app.KeyManager(cfg, st.Store, zap.NewNop())
	if err != nil {
		closeAll()
		return nil, nil, usageError{err}
	}
	if err := m.Init(ctx); err != nil {
		closeAll()
		return nil, nil, err
	}
	return m, closeAll, nil
}

func keysList(ctx context.Context, args []string, e env) error {
	cmd := newCommand("keys list", "List the signing keys with their state (pending, active, retired) and dates.", e)
	m, closeAll, err := openKeys(ctx, cmd, args, e)
	if err != nil {
		return err
	}
	defer closeAll()
	keys, err := m.List(ctx)
	if err != nil {
		return err
	}
	return wellknown.PrintKeyList(e.stdout, keys)
}

func keysRotate(ctx context.Context, args []string, e env) error {
	cmd := newCommand("keys rotate", "Add a new signing key. Each running server publishes it in the JWKS at its next key reload "+
		"(within a minute) and it "+
		"starts signing after keys.rotation-lead-time; the current key is retired then and stays "+
		"published until every token it signed has expired.", e)
	m, closeAll, err := openKeys(ctx, cmd, args, e)
	if err != nil {
		return err
	}
	defer closeAll()
	keys, err := m.List(ctx)
	if err != nil {
		return err
	}
	k, err := m.Rotate(ctx)
	if err != nil {
		return fmt.Errorf("rotate signing keys: %w", err)
	}
	// A second rotation within the lead time is allowed: the earlier pending
	// key still activates first and signs until the new one activates.
	for _, old := range keys {
		if old.State == wellknown.StatePending {
			fmt.Fprintf(e.stderr, "warning: signing key %s was already pending: it activates at %s "+
				"and signs until the new key activates at %s\n", old.KID,
				old.Activates.UTC().Format(time.RFC3339), k.ActivatesAt.UTC().Format(time.RFC3339))
		}
	}
	return wellknown.PrintRotation(e.stdout, k)
}
