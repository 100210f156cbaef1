package main

import (
	"strings"
	"testing"
)

// A store with clients but no signing keys yet (set up before the first
// serve) depends on the secret those clients were hashed with, so a command
// with another secret must be refused before it writes.
func TestCLISecretCheckWithoutKeys(t *testing.T) {
	dataDir := shortTempDir(t)
	r := runCLI(t, cliEnv(dataDir), "", "clients", "create", "--id", "first", "--grant", "client_credentials", "--json")
	if r.code != 0 {
		t.Fatalf("clients create first: code %d, stderr %q", r.code, r.stderr)
	}

	other := secretEnv(dataDir, strings.Repeat("w", 40))
	r = runCLI(t, other, "", "clients", "create", "--id", "second", "--grant", "client_credentials", "--json")
	if r.code != 2 || !strings.Contains(r.stderr, "another system secret") {
		t.Errorf("clients create with another secret: code %d, stderr %q, want 2 and the mismatch", r.code, r.stderr)
	}

	// The refused command stored nothing: the id is still free.
	r = runCLI(t, cliEnv(dataDir), "", "clients", "create", "--id", "second", "--grant", "client_credentials", "--json")
	if r.code != 0 {
		t.Errorf("clients create second with the store's secret: code %d, stderr %q", r.code, r.stderr)
	}
}
