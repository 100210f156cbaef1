// Package password hashes and verifies user passwords.
//
// New hashes are argon2id in the PHC string format
// ($argon2id$v=19$m=7168,t=5,p=1$<salt>$<hash>, base64 without padding).
// bcrypt hashes ($2a$, $2b$, $2y$) of imported users are verified too, and
// NeedsRehash reports them so the caller can upgrade them after a login.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// ErrMismatch reports a password that does not match the hash.
var ErrMismatch = errors.New("password does not match")

// ErrUnknownFormat reports a stored hash this package cannot read.
var ErrUnknownFormat = errors.New("unknown password hash format")

// Params are the argon2id cost parameters.
type Params struct {
	MemoryKiB   uint32
	Iterations  uint32
	Parallelism uint8
}

// OWASP returns the default argon2id parameters: 7 MiB of memory, 5
// iterations, 1 lane. The OWASP Password Storage Cheat Sheet lists them
// among five configurations that give equal protection (19 MiB with 2
// iterations is another). They take the least memory per concurrent login.
func OWASP() Params { return Params{MemoryKiB: 7168, Iterations: 5, Parallelism: 1} }

const (
	saltLen = 16
	keyLen  = 32
)

// Hasher hashes new passwords with fixed parameters and verifies stored ones.
type Hasher struct {
	params Params
	// slots bounds the hashes computed at once to the number of CPUs: each
	// takes MemoryKiB of memory (7 MiB by default), and more parallel work
	// than CPUs adds memory without adding throughput.
	slots chan struct{}
	// dummy is a hash of a random password with the current parameters,
	// verified for unknown users so that they cost the same time.
	dummy string
}

// NewHasher returns a Hasher using p for new hashes.
func NewHasher(p Params) (*Hasher, error) {
	if p.MemoryKiB < 8*uint32(p.Parallelism) || p.Iterations == 0 || p.Parallelism == 0 {
		return nil, fmt.Errorf("password: invalid argon2id parameters %+v", p)
	}
	h := &Hasher{params: p, slots: make(chan struct{}, runtime.GOMAXPROCS(0))}
	random := make([]byte, 32)
	if _, err := rand.Read(random); err != nil {
		return nil, err
	}
	dummy, err := h.Hash(base64.RawStdEncoding.EncodeToString(random))
	if err != nil {
		return nil, err
	}
	h.dummy = dummy
	return h, nil
}

// Params returns the parameters of new hashes.
func (h *Hasher) Params() Params { return h.params }

// Hash returns the argon2id hash of password with a fresh random salt.
func (h *Hasher) Hash(password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: read random salt: %w", err)
	}
	h.slots <- struct{}{}
	key := argon2.IDKey([]byte(password), salt, h.params.Iterations, h.params.MemoryKiB, h.params.Parallelism, keyLen)
	<-h.slots
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		h.params.MemoryKiB, h.params.Iterations, h.params.Parallelism,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// Verify checks password against a stored hash. It returns nil on a match,
// ErrMismatch on a wrong password, ErrUnknownFormat for an unreadable hash.
func (h *Hasher) Verify(hash, password string) error {
	switch {
	case strings.HasPrefix(hash, "$argon2id$"):
		h.slots <- struct{}{}
		defer func() { <-h.slots }()
		return verifyArgon2id(hash, password)
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password))
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			return ErrMismatch
		}
		if err != nil {
			return fmt.Errorf("%w: %v", ErrUnknownFormat, err)
		}
		return nil
	default:
		return ErrUnknownFormat
	}
}

// VerifyDummy spends the same work as verifying a real argon2id hash and
// always fails. Call it when the user does not exist, so the response time
// does not tell whether an account exists.
func (h *Hasher) VerifyDummy(password string) error {
	h.slots <- struct{}{}
	defer func() { <-h.slots }()
	_ = verifyArgon2id(h.dummy, password)
	return ErrMismatch
}

// NeedsRehash reports whether hash should be replaced by a new Hash of the
// same password: a bcrypt hash, or argon2id with other parameters.
func (h *Hasher) NeedsRehash(hash string) bool {
	p, _, _, err := parseArgon2id(hash)
	return err != nil || p != h.params
}

func verifyArgon2id(hash, password string) error {
	p, salt, want, err := parseArgon2id(hash)
	if err != nil {
		return err
	}
	got := argon2.IDKey([]byte(password), salt, p.Iterations, p.MemoryKiB, p.Parallelism, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrMismatch
	}
	return nil
}

func parseArgon2id(hash string) (Params, []byte, []byte, error) {
	parts := strings.Split(hash, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return Params{}, nil, nil, ErrUnknownFormat
	}
	var p Params
	var m, t, par uint64
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return Params{}, nil, nil, ErrUnknownFormat
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return Params{}, nil, nil, ErrUnknownFormat
		}
		switch k {
		case "m":
			m = n
		case "t":
			t = n
		case "p":
			par = n
		default:
			return Params{}, nil, nil, ErrUnknownFormat
		}
	}
	// Bound the cost a stored hash can demand: 4 GiB, 100 passes, 255 lanes.
	if m == 0 || t == 0 || par == 0 || par > 255 || m > 4<<20 || t > 100 || m < 8*par {
		return Params{}, nil, nil, ErrUnknownFormat
	}
	p = Params{MemoryKiB: uint32(m), Iterations: uint32(t), Parallelism: uint8(par)}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return Params{}, nil, nil, ErrUnknownFormat
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(key) < 16 {
		return Params{}, nil, nil, ErrUnknownFormat
	}
	return p, salt, key, nil
}
