package wellknown

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestPrintKeyList(t *testing.T) {
	created := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	keys := []KeyInfo{
		{KID: "old-kid", Algorithm: "RS256", State: StateRetired, Created: created, Activates: created,
			Retired: created.Add(time.Hour), Expires: created.Add(2 * time.Hour)},
		{KID: "a-much-longer-kid", Algorithm: "EdDSA", State: StateActive, Created: created, Activates: created.Add(time.Hour)},
	}

	var out bytes.Buffer
	if err := PrintKeyList(&out, keys); err != nil {
		t.Fatalf("PrintKeyList: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want a header and 2 rows:\n%s", len(lines), out.String())
	}

	if got := strings.Fields(lines[0]); strings.Join(got, " ") != "KID ALG STATE CREATED ACTIVATES RETIRED EXPIRES" {
		t.Errorf("header = %q", lines[0])
	}
	want := [][]string{
		{"old-kid", "RS256", "retired", "2030-01-02T03:04:05Z", "2030-01-02T03:04:05Z", "2030-01-02T04:04:05Z", "2030-01-02T05:04:05Z"},
		{"a-much-longer-kid", "EdDSA", "active", "2030-01-02T03:04:05Z", "2030-01-02T04:04:05Z", "-", "-"},
	}
	for i, w := range want {
		if got := strings.Fields(lines[i+1]); strings.Join(got, " ") != strings.Join(w, " ") {
			t.Errorf("row %d = %q, want fields %v", i+1, lines[i+1], w)
		}
	}
	// Columns are aligned: ALG starts at the same offset in every line.
	col := strings.Index(lines[0], "ALG")
	for i, l := range lines[1:] {
		if l[col-1] != ' ' || l[col] == ' ' {
			t.Errorf("row %d is not aligned with the ALG column: %q", i+1, l)
		}
	}
}

func TestPrintRotation(t *testing.T) {
	e := newTestEnv(t)
	m := e.manager(e.options(AlgorithmES256))
	k, err := m.Rotate(context.Background())
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	var out bytes.Buffer
	if err := PrintRotation(&out, k); err != nil {
		t.Fatalf("PrintRotation: %v", err)
	}
	want := "created signing key " + k.ID + " (ES256): published at the next key reload of each server (within a minute), signs from 2030-01-02T03:14:05Z\n"
	if out.String() != want {
		t.Errorf("output = %q, want %q", out.String(), want)
	}
	if k.PrivateSealed != nil {
		t.Errorf("Rotate returned the sealed private key")
	}
}
