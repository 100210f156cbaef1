package password

import (
	"errors"
	"fmt"
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

// owaspConfigs are the argon2id configurations that the OWASP Password
// Storage Cheat Sheet lists as equally strong (46 MiB with one pass is left
// out: OWASP allows it only for argon2i-free use and it takes the most memory).
var owaspConfigs = []Params{
	{MemoryKiB: 19456, Iterations: 2, Parallelism: 1},
	{MemoryKiB: 12288, Iterations: 3, Parallelism: 1},
	{MemoryKiB: 9216, Iterations: 4, Parallelism: 1},
	{MemoryKiB: 7168, Iterations: 5, Parallelism: 1},
}

func benchName(p Params) string {
	return fmt.Sprintf("m=%d,t=%d,p=%d", p.MemoryKiB, p.Iterations, p.Parallelism)
}

// benchHasher returns a hasher with parameters p and a hash of "Benchmark1".
func benchHasher(b *testing.B, p Params) (*Hasher, string) {
	b.Helper()
	h, err := NewHasher(p)
	if err != nil {
		b.Fatal(err)
	}
	hash, err := h.Hash("Benchmark1")
	if err != nil {
		b.Fatal(err)
	}
	return h, hash
}

// BenchmarkVerify measures one verification on one goroutine.
func BenchmarkVerify(b *testing.B) {
	for _, p := range owaspConfigs {
		b.Run(benchName(p), func(b *testing.B) {
			h, hash := benchHasher(b, p)
			for b.Loop() {
				if err := h.Verify(hash, "Benchmark1"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyParallel measures the verification throughput of all cores:
// the ceiling of the password grant at those parameters.
func BenchmarkVerifyParallel(b *testing.B) {
	for _, p := range owaspConfigs {
		b.Run(benchName(p), func(b *testing.B) {
			h, hash := benchHasher(b, p)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := h.Verify(hash, "Benchmark1"); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
