package wellknown

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/averos/averos-auth/internal/secrets"
	"github.com/averos/averos-auth/storage"
)

// ManagerOptions configures a Manager.
type ManagerOptions struct {
	// SystemSecret is the configured system secret; the key that encrypts
	// private keys is derived from it.
	SystemSecret string
	// Algorithm is the algorithm of new keys: RS256, ES256 or EdDSA.
	Algorithm string
	// RSABits is the modulus size of new RS256 keys, at least 2048.
	RSABits int
	// LeadTime is how long a new key is published before it signs.
	LeadTime time.Duration
	// RotationInterval is the time between scheduled rotations; 0 disables
	// them. It must exceed LeadTime.
	RotationInterval time.Duration
	// MaxTokenLifetime is the longest lifetime of a token signed with these
	// keys. A retired key stays published this long after its retirement.
	MaxTokenLifetime time.Duration
	// ReloadInterval is how often Run reloads the stored keys. Zero means a
	// tenth of LeadTime, at least 1 s and at most 1 min. It must stay well
	// below LeadTime, so that every instance loads a new key before it signs.
	ReloadInterval time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Logger receives key creation, retirement and reload failures; nil
	// discards them.
	Logger *zap.Logger
}

// Manager loads, creates, rotates and retires the signing keys, and
// implements KeySource from the keys it last loaded.
type Manager struct {
	store   *storage.Store
	opts    ManagerOptions
	sealKey []byte
	log     *zap.Logger
	claims  *claims

	// reloadMu serialises reloads, so a slow reload never replaces the result
	// of a newer one.
	reloadMu sync.Mutex
	set      atomic.Pointer[keySet]

	publishMu sync.Mutex
	published atomic.Pointer[publishedSet]

	reloadFailures int
}

// Errors returned by the Manager.
var (
	ErrNotInitialized = errors.New("signing keys are not loaded: call Init first")
	ErrNoActiveKey    = errors.New("no active signing key")
)

// Timing of the first-key and rotation claims.
const (
	// firstKeyClaimTTL bounds how long a crashed instance's claim on the
	// first key blocks the others. The claim is taken after the key is
	// generated, so its holder needs only one insert.
	firstKeyClaimTTL = time.Minute
	// rotationClaimTTL bounds how long a crashed instance's claim on a
	// scheduled rotation delays it.
	rotationClaimTTL = 10 * time.Minute
	// firstKeyPoll is how often an instance that lost the first-key claim
	// looks for the winner's key.
	firstKeyPoll = 100 * time.Millisecond
)

// NewManager checks opts and returns a Manager over store. Call Init before
// using it.
func NewManager(store *storage.Store, opts ManagerOptions) (*Manager, error) {
	if store == nil {
		return nil, errors.New("wellknown: store is nil")
	}
	if err := checkOptions(opts); err != nil {
		return nil, fmt.Errorf("wellknown: %w", err)
	}
	sealKey, err := secrets.DeriveKey(opts.SystemSecret, secrets.PurposeKeyEncryption)
	if err != nil {
		return nil, fmt.Errorf("wellknown: %w", err)
	}
	c, err := newClaims(store)
	if err != nil {
		return nil, fmt.Errorf("wellknown: %w", err)
	}

	if opts.ReloadInterval <= 0 {
		opts.ReloadInterval = min(max(opts.LeadTime/10, time.Second), time.Minute)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	return &Manager{store: store, opts: opts, sealKey: sealKey, log: opts.Logger, claims: c}, nil
}

// checkOptions returns an error naming the first invalid option.
func checkOptions(opts ManagerOptions) error {
	if err := checkAlgorithm(opts.Algorithm); err != nil {
		return err
	}
	if opts.Algorithm == AlgorithmRS256 && opts.RSABits < MinRSABits {
		return fmt.Errorf("RSA key size %d is below the minimum of %d bits", opts.RSABits, MinRSABits)
	}
	if opts.LeadTime < 0 {
		return fmt.Errorf("lead time %s is negative", opts.LeadTime)
	}
	if opts.RotationInterval < 0 || (opts.RotationInterval > 0 && opts.RotationInterval <= opts.LeadTime) {
		return fmt.Errorf("rotation interval %s must be 0 or longer than the lead time %s",
			opts.RotationInterval, opts.LeadTime)
	}
	if opts.MaxTokenLifetime <= 0 {
		return fmt.Errorf("maximum token lifetime %s must be positive", opts.MaxTokenLifetime)
	}
	return nil
}

// Init loads the stored keys. When there are none, it creates the first key,
// active at once. Of several instances starting on an empty store, one
// creates it and the others load it. Init fails, and creates nothing, when a
// stored key does not decrypt under the system secret.
func (m *Manager) Init(ctx context.Context) error {
	stored, err := m.store.Keys.List(ctx)
	if err != nil {
		return fmt.Errorf("wellknown: load signing keys: %w", err)
	}
	if len(stored) == 0 {
		if stored, err = m.createFirstKey(ctx); err != nil {
			return fmt.Errorf("wellknown: create the first signing key: %w", err)
		}
	}
	m.reloadMu.Lock()
	set, err := m.storeSet(stored)
	m.reloadMu.Unlock()
	if err != nil {
		return err
	}

	active := set.active(m.opts.Now())
	if active == nil {
		return fmt.Errorf("wellknown: %w among %d stored keys", ErrNoActiveKey, len(set.keys))
	}
	m.log.Info("signing keys loaded", zap.Int("count", len(set.keys)),
		zap.String("active_kid", active.stored.ID), zap.String("algorithm", active.stored.Algorithm))
	if active.stored.Algorithm != m.opts.Algorithm {
		m.log.Warn("the active signing key's algorithm differs from the configured one, "+
			"which the next rotation uses",
			zap.String("active_kid", active.stored.ID),
			zap.String("active_algorithm", active.stored.Algorithm),
			zap.String("configured_algorithm", m.opts.Algorithm))
	}
	return nil
}

// createFirstKey generates a key, claims the right to store the first one,
// and stores it active from now. An instance that loses the claim waits for
// the winner's key and returns the stored list.
func (m *Manager) createFirstKey(ctx context.Context) ([]storage.SigningKey, error) {
	signer, err := generateSigner(m.opts.Algorithm, m.opts.RSABits)
	if err != nil {
		return nil, err
	}
	for {
		won, err := m.claims.claim(ctx, firstKeyClaimID, m.opts.Now(), firstKeyClaimTTL)
		if err != nil {
			return nil, err
		}
		// A winner checks again, because an earlier holder may have stored a
		// key just before its claim expired.
		stored, err := m.store.Keys.List(ctx)
		if err != nil || len(stored) > 0 {
			return stored, err
		}
		if won {
			now := m.opts.Now()
			sk, err := newStoredKey(signer, m.opts.Algorithm, m.sealKey, now, now)
			if err != nil {
				return nil, err
			}
			if err := m.store.Keys.Insert(ctx, &sk); err != nil {
				return nil, err
			}
			m.log.Info("first signing key created", zap.String("kid", sk.ID),
				zap.String("algorithm", sk.Algorithm))
			return m.store.Keys.List(ctx)
		}

		timer := time.NewTimer(firstKeyPoll)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, fmt.Errorf("wait for another instance to create the first key: %w", ctx.Err())
		case <-timer.C:
		}
	}
}

// reload reads the stored keys and replaces the loaded set. On failure the
// previous set stays in use.
func (m *Manager) reload(ctx context.Context) (*keySet, error) {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	stored, err := m.store.Keys.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("wellknown: reload signing keys: %w", err)
	}
	return m.storeSet(stored)
}

// storeSet parses stored, reusing the keys already parsed for unchanged
// kids, and makes the result the loaded set. The caller holds reloadMu.
func (m *Manager) storeSet(stored []storage.SigningKey) (*keySet, error) {
	old := m.set.Load()
	keys := make([]*key, 0, len(stored))
	for _, sk := range stored {
		if old != nil {
			if prev, ok := old.byKID[sk.ID]; ok && bytes.Equal(prev.stored.PrivateSealed, sk.PrivateSealed) {
				reused := *prev
				reused.stored = sk
				keys = append(keys, &reused)
				continue
			}
		}
		k, err := openStoredKey(sk, m.sealKey)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	set := newKeySet(keys, m.opts.MaxTokenLifetime)
	m.set.Store(set)
	return set, nil
}

// Rotate creates a key with the configured algorithm that is published at
// once and signs from now + LeadTime. The previous key is retired when the
// new one activates. The returned key has PrivateSealed cleared, so it is
// safe to print or log. Rotate needs a successful Init first, so that an
// empty store gets its first key active at once rather than pending.
func (m *Manager) Rotate(ctx context.Context) (storage.SigningKey, error) {
	if m.set.Load() == nil {
		return storage.SigningKey{}, fmt.Errorf("wellknown: rotate: %w", ErrNotInitialized)
	}
	signer, err := generateSigner(m.opts.Algorithm, m.opts.RSABits)
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("wellknown: rotate: %w", err)
	}
	now := m.opts.Now()
	sk, err := newStoredKey(signer, m.opts.Algorithm, m.sealKey, now, now.Add(m.opts.LeadTime))
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("wellknown: rotate: %w", err)
	}
	if err := m.store.Keys.Insert(ctx, &sk); err != nil {
		return storage.SigningKey{}, fmt.Errorf("wellknown: rotate: %w", err)
	}
	m.log.Info("signing key created", zap.String("kid", sk.ID), zap.String("algorithm", sk.Algorithm),
		zap.Time("activates_at", sk.ActivatesAt))

	if _, err := m.reload(ctx); err != nil {
		m.log.Warn("reload after rotation failed; the next reload publishes the new key",
			zap.String("kid", sk.ID), zap.Error(err))
	}
	sk.PrivateSealed = nil
	return sk, nil
}

// Refresh reloads the stored keys, records the retirement of superseded
// keys, rotates when the schedule is due, and deletes expired claims. Run
// calls it periodically; the CLI and tests may call it directly.
func (m *Manager) Refresh(ctx context.Context) error {
	set, err := m.reload(ctx)
	if err != nil {
		return err
	}
	now := m.opts.Now()
	errs := []error{m.retireSuperseded(ctx, set, now)}
	if m.opts.RotationInterval > 0 {
		errs = append(errs, m.rotateIfDue(ctx, set, now))
	}
	errs = append(errs, m.claims.deleteExpired(ctx, now))
	return errors.Join(errs...)
}

// retireSuperseded stores RetiredAt and ExpiresAt for each key whose
// successor has activated. Every instance computes the same values from the
// same list, so concurrent writers store identical documents.
func (m *Manager) retireSuperseded(ctx context.Context, set *keySet, now time.Time) error {
	var errs []error
	for i, k := range set.keys {
		if !k.stored.RetiredAt.IsZero() {
			continue
		}
		retiredAt := set.retiredAt(i, now)
		if retiredAt.IsZero() {
			continue
		}
		expiresAt := set.expiresAt(i, now)
		if err := m.store.Keys.Retire(ctx, k.stored.ID, retiredAt, expiresAt); err != nil {
			if !errors.Is(err, storage.ErrNotFound) {
				errs = append(errs, fmt.Errorf("wellknown: retire signing key %s: %w", k.stored.ID, err))
			}
			continue
		}
		m.log.Info("signing key retired", zap.String("kid", k.stored.ID),
			zap.Time("retired_at", retiredAt), zap.Time("expires_at", expiresAt))
	}
	return errors.Join(errs...)
}

// rotateIfDue rotates when the newest key activated RotationInterval -
// LeadTime ago, so the new key activates one interval after it. A claim
// named after the newest kid lets only one instance rotate.
func (m *Manager) rotateIfDue(ctx context.Context, set *keySet, now time.Time) error {
	newest := set.newest()
	if newest == nil {
		return nil
	}
	due := newest.stored.ActivatesAt.Add(m.opts.RotationInterval - m.opts.LeadTime)
	if now.Before(due) {
		return nil
	}
	won, err := m.claims.claim(ctx, rotationClaimPrefix+newest.stored.ID, now, rotationClaimTTL)
	if err != nil || !won {
		return err
	}
	// The claim may outlive a rotation that another instance finished
	// before this one's reload: rotate only if the newest key is unchanged.
	current, err := m.reload(ctx)
	if err != nil {
		return err
	}
	if current.newest().stored.ID != newest.stored.ID {
		return nil
	}
	_, err = m.Rotate(ctx)
	return err
}

// Run calls Refresh now and then every ReloadInterval until ctx is done, so
// instances converge on the stored keys. It logs each failure and keeps the
// keys it last loaded.
func (m *Manager) Run(ctx context.Context) {
	ticker := time.NewTicker(m.opts.ReloadInterval)
	defer ticker.Stop()
	for {
		m.runOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

func (m *Manager) runOnce(ctx context.Context) {
	err := m.Refresh(ctx)
	if err == nil {
		if m.reloadFailures > 0 {
			m.log.Info("signing key refresh recovered", zap.Int("failed_attempts", m.reloadFailures))
		}
		m.reloadFailures = 0
		return
	}
	if ctx.Err() != nil {
		return
	}
	m.reloadFailures++
	m.log.Error("signing key refresh failed; keeping the keys loaded before",
		zap.Int("consecutive_failures", m.reloadFailures), zap.Error(err))
}

// ActiveKey returns the key that signs tokens now.
func (m *Manager) ActiveKey(_ context.Context) (ActiveKey, error) {
	set := m.set.Load()
	if set == nil {
		return ActiveKey{}, ErrNotInitialized
	}
	k := set.active(m.opts.Now())
	if k == nil {
		return ActiveKey{}, ErrNoActiveKey
	}
	return ActiveKey{KID: k.stored.ID, Algorithm: k.stored.Algorithm, Signer: k.signer}, nil
}

// PublicKey returns the algorithm and public key of kid while it is
// published, or ErrUnknownKey.
func (m *Manager) PublicKey(_ context.Context, kid string) (string, crypto.PublicKey, error) {
	set := m.set.Load()
	if set == nil {
		return "", nil, ErrNotInitialized
	}
	k := set.publishedKey(kid, m.opts.Now())
	if k == nil {
		return "", nil, ErrUnknownKey
	}
	return k.stored.Algorithm, k.public, nil
}

var _ KeySource = (*Manager)(nil)

// KeyInfo describes one stored key for listings. Zero times are unknown yet.
type KeyInfo struct {
	KID       string
	Algorithm string
	// State is StatePending, StateActive or StateRetired.
	State     string
	Created   time.Time
	Activates time.Time
	Retired   time.Time
	Expires   time.Time
}

// List reloads the stored keys and describes each, oldest activation first.
// Retirement and expiry not yet stored are computed as Refresh would store
// them.
func (m *Manager) List(ctx context.Context) ([]KeyInfo, error) {
	set, err := m.reload(ctx)
	if err != nil {
		return nil, err
	}
	now := m.opts.Now()
	infos := make([]KeyInfo, len(set.keys))
	for i, k := range set.keys {
		infos[i] = KeyInfo{
			KID:       k.stored.ID,
			Algorithm: k.stored.Algorithm,
			State:     set.state(i, now),
			Created:   k.stored.CreatedAt,
			Activates: k.stored.ActivatesAt,
			Retired:   set.retiredAt(i, now),
			Expires:   set.expiresAt(i, now),
		}
	}
	return infos, nil
}
