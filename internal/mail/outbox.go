package mail

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// outboxTransport writes each message to a new .eml file in dir, for
// development setups without an SMTP server. The directory is owner-only
// (0700) and each file 0600, because the messages carry one-time links.
type outboxTransport struct {
	dir string
	now func() time.Time
}

func newOutbox(dir string, now func() time.Time) (*outboxTransport, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("mail: create outbox %s: %w", dir, err)
	}
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("mail: outbox %s: %w", dir, err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("mail: outbox %s is not a directory", dir)
	}
	if info.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return nil, fmt.Errorf("mail: make outbox %s owner-only: %w", dir, err)
		}
	}
	return &outboxTransport{dir: dir, now: now}, nil
}

func (t *outboxTransport) deliver(_ context.Context, _, _ string, msg []byte) (string, error) {
	name := t.now().UTC().Format("20060102T150405Z") + "-" + strings.ToLower(rand.Text()[:10]) + ".eml"
	path := filepath.Join(t.dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := f.Write(msg); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(path)
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return path, nil
}
