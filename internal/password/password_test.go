package password

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func testHasher(t *testing.T) *Hasher {
	t.Helper()
	h, err := NewHasher(Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHashVerify(t *testing.T) {
	h := testHasher(t)
	hash, err := h.Hash("Correct horse 1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("hash = %q, want the PHC argon2id form", hash)
	}
	if err := h.Verify(hash, "Correct horse 1"); err != nil {
		t.Errorf("right password: %v", err)
	}
	if err := h.Verify(hash, "Correct horse 2"); !errors.Is(err, ErrMismatch) {
		t.Errorf("wrong password: err = %v, want ErrMismatch", err)
	}
	other, _ := h.Hash("Correct horse 1")
	if other == hash {
		t.Error("two hashes of one password are equal: salt not random")
	}
}

func TestVerifyBcrypt(t *testing.T) {
	h := testHasher(t)
	b, err := bcrypt.GenerateFromPassword([]byte("imported"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Verify(string(b), "imported"); err != nil {
		t.Errorf("bcrypt right password: %v", err)
	}
	if err := h.Verify(string(b), "other"); !errors.Is(err, ErrMismatch) {
		t.Errorf("bcrypt wrong password: err = %v", err)
	}
	if !h.NeedsRehash(string(b)) {
		t.Error("bcrypt hash not marked for rehash")
	}
}

func TestNeedsRehash(t *testing.T) {
	h := testHasher(t)
	hash, _ := h.Hash("x")
	if h.NeedsRehash(hash) {
		t.Error("fresh hash marked for rehash")
	}
	stronger, _ := NewHasher(Params{MemoryKiB: 128, Iterations: 1, Parallelism: 1})
	if !stronger.NeedsRehash(hash) {
		t.Error("hash with old parameters not marked for rehash")
	}
}

func TestVerifyRejectsMalformed(t *testing.T) {
	h := testHasher(t)
	for _, hash := range []string{
		"",
		"plain",
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$",
		"$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=0,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,x=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5",
	} {
		if err := h.Verify(hash, "x"); !errors.Is(err, ErrUnknownFormat) {
			t.Errorf("Verify(%q) = %v, want ErrUnknownFormat", hash, err)
		}
	}
}

func TestVerifyDummyFails(t *testing.T) {
	h := testHasher(t)
	if err := h.VerifyDummy("anything"); !errors.Is(err, ErrMismatch) {
		t.Errorf("VerifyDummy = %v, want ErrMismatch", err)
	}
}

func TestNewHasherRejectsBadParams(t *testing.T) {
	for _, p := range []Params{{MemoryKiB: 7, Iterations: 1, Parallelism: 1}, {MemoryKiB: 64, Iterations: 0, Parallelism: 1}, {MemoryKiB: 64, Iterations: 1}} {
		if _, err := NewHasher(p); err == nil {
			t.Errorf("NewHasher(%+v) accepted", p)
		}
	}
}

func BenchmarkVerifyOWASP(b *testing.B) {
	h, err := NewHasher(OWASP())
	if err != nil {
		b.Fatal(err)
	}
	hash, _ := h.Hash("Benchmark1")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := h.Verify(hash, "Benchmark1"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyOWASPParallel measures the verification throughput of all
// cores at the OWASP parameters: the ceiling of the password grant.
func BenchmarkVerifyOWASPParallel(b *testing.B) {
	h, err := NewHasher(OWASP())
	if err != nil {
		b.Fatal(err)
	}
	hash, _ := h.Hash("Benchmark1")
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := h.Verify(hash, "Benchmark1"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
