package oauth

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/ory/fosite"
	"go.uber.org/zap"

	"github.com/averos/averos-auth/internal/httpserver"
	"github.com/averos/averos-auth/internal/password"
	"github.com/averos/averos-auth/storage"
)

// errBadCredentials is the one error of every failed password grant: unknown
// user, wrong password, locked or disabled account. Telling them apart would
// reveal which accounts exist.
func errBadCredentials(cause error) error {
	err := fosite.ErrInvalidGrant.WithHint("The provided credentials are invalid.")
	if cause != nil {
		err = err.WithWrap(cause)
	}
	return err
}

// authenticateUser verifies the username and password of a password grant
// (RFC 6749 §4.3). An unknown user costs the same argon2id work as a known
// one. Each evaluation of a known user's password first takes a lockout
// slot, so concurrent guesses never exceed the failure limit.
func (p *Provider) authenticateUser(ctx context.Context, r fosite.AccessRequester, c *client,
	sess *session, now time.Time) error {
	form := r.GetRequestForm()
	login, secret := form.Get("username"), form.Get("password")
	if login == "" || secret == "" {
		return fosite.ErrInvalidRequest.WithHint("The username and password parameters are required.")
	}
	// Nothing after this step needs the password.
	delete(form, "password")

	user, err := p.store.Users.GetByLogin(ctx, login)
	if errors.Is(err, storage.ErrNotFound) {
		// Run the storage steps and the hashing work of a known user with a
		// wrong password, so the response time does not reveal whether the
		// account exists. Those steps are a user read and a lockout slot, and
		// the slot makes repeated guesses lock the typed name too.
		_, _ = p.store.Users.Get(ctx, absentUserID)
		attempt, lerr := p.store.Lockout.Begin(ctx, unknownLoginKey(login),
			p.cfg.LockoutMaxFailures, p.cfg.LockoutDuration)
		_ = p.passwords.VerifyDummy(secret)
		if lerr == nil {
			failCtx, cancel := detached(ctx)
			attempt.Failed(failCtx)
			cancel()
		}
		p.logLoginFailure(ctx, nil, "unknown user")
		return errBadCredentials(nil)
	}
	if err != nil {
		return err
	}

	attempt, err := p.store.Lockout.Begin(ctx, user.ID, p.cfg.LockoutMaxFailures, p.cfg.LockoutDuration)
	var locked *storage.LockedError
	if errors.As(err, &locked) {
		_ = p.passwords.VerifyDummy(secret)
		p.logLoginFailure(ctx, user, "user locked")
		return errBadCredentials(nil)
	}
	if err != nil {
		return err
	}

	if err := p.passwords.Verify(user.PasswordHash, secret); err != nil {
		if !errors.Is(err, password.ErrMismatch) {
			httpserver.LoggerFrom(ctx).Warn("stored password hash is unreadable",
				zap.String("user_id", user.ID), zap.Error(err))
		}
		// Recorded even when the client has gone away meanwhile.
		failCtx, cancel := detached(ctx)
		defer cancel()
		if until, lockedNow := attempt.Failed(failCtx); lockedNow {
			p.lockUser(failCtx, user.ID, until, now)
		}
		p.logLoginFailure(ctx, user, "wrong password")
		return errBadCredentials(nil)
	}
	// Freed even when the client has gone away meanwhile: a slot left taken
	// would count against the user's next logins until it expires.
	okCtx, cancelOK := detached(ctx)
	defer cancelOK()
	if err := attempt.Succeeded(okCtx); err != nil {
		return err
	}
	p.upgradeHash(ctx, user, secret)

	sess.user = user
	sess.subject = user.ID
	sess.username = user.UserName
	sess.grant = &grantDoc{
		ID:       newGrantID(),
		ClientID: c.GetID(),
		Subject:  user.ID,
		AuthTime: now.Truncate(time.Millisecond),
	}
	return nil
}

// lockUser stores the display copy of the lock and revokes the user's tokens:
// the failure limit was reached.
func (p *Provider) lockUser(ctx context.Context, userID string, until, now time.Time) {
	log := httpserver.LoggerFrom(ctx)
	if err := p.store.Users.SetLockedUntil(ctx, userID, until); err != nil {
		log.Error("store user lock failed", zap.String("user_id", userID), zap.Error(err))
	}
	if err := p.revokeUserTokensAt(ctx, userID, now); err != nil {
		log.Error("revoke tokens of locked user failed", zap.String("user_id", userID), zap.Error(err))
	}
	log.Info("user locked after failed logins", zap.String("user_id", userID), zap.Time("until", until))
}

// upgradeHash replaces a hash made with older parameters (or bcrypt) by one
// with the current parameters, now that the password is known. A failure
// only delays the upgrade to the next login.
func (p *Provider) upgradeHash(ctx context.Context, user *storage.User, secret string) {
	if !p.passwords.NeedsRehash(user.PasswordHash) {
		return
	}
	log := httpserver.LoggerFrom(ctx)
	hash, err := p.passwords.Hash(secret)
	if err != nil {
		log.Error("rehash password failed", zap.String("user_id", user.ID), zap.Error(err))
		return
	}
	old := user.PasswordHash
	_, err = p.store.Users.Update(ctx, user.ID, func(u *storage.User) error {
		if u.PasswordHash != old {
			return errPasswordChanged
		}
		u.PasswordHash = hash
		return nil
	})
	if err != nil && !errors.Is(err, errPasswordChanged) {
		log.Error("store upgraded password hash failed", zap.String("user_id", user.ID), zap.Error(err))
	}
}

var errPasswordChanged = errors.New("password changed meanwhile")

// recordLogin stores the time and address of a successful password grant.
func (p *Provider) recordLogin(ctx context.Context, sess *session, now time.Time) {
	if err := p.store.Users.RecordLogin(ctx, sess.user.ID, now, sess.remoteIP); err != nil {
		httpserver.LogFailure(httpserver.LoggerFrom(ctx), "record login failed", err,
			zap.String("user_id", sess.user.ID))
	}
}

func (p *Provider) logLoginFailure(ctx context.Context, user *storage.User, reason string) {
	fields := []zap.Field{zap.String("reason", reason)}
	if user != nil {
		fields = append(fields, zap.String("user_id", user.ID))
	}
	httpserver.LoggerFrom(ctx).Info("password login failed", fields...)
}

// absentUserID is an id no user has (ids are 24 hexadecimal digits), read in
// place of the user document when the login matches no user.
const absentUserID = "unknown-user"

// unknownLoginKey is the lockout key of a login that matches no user: the
// typed name or email in the form under which it would be unique.
func unknownLoginKey(login string) string {
	if strings.Contains(login, "@") {
		return "unknown-email/" + storage.NormalizeEmail(login)
	}
	return "unknown-name/" + storage.NormalizeUserName(login)
}
