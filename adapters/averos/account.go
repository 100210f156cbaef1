package averos

import (
	"context"
	"errors"
	"net/http"

	"go.uber.org/zap"

	"github.com/averos/averos-auth/internal/accounts"
	"github.com/averos/averos-auth/internal/httpserver"
	"github.com/averos/averos-auth/storage"
)

// Values of the code field that the Averos account pages read.
const (
	codeSuccess = 1
	codeInvalid = -1
)

// maxOutstandingResets bounds the unexpired reset links of one user, so
// repeated requests cannot flood a mailbox.
const maxOutstandingResets = 3

// codeResponse is the body of /auth/vaccount, /auth/rrp and /auth/rp.
type codeResponse struct {
	Code int `json:"code"`
}

func writeCode(w http.ResponseWriter, code int) {
	httpserver.WriteJSON(w, http.StatusOK, codeResponse{Code: code})
}

// verifyAccount consumes a verification token and marks its user verified.
// An unknown, used or expired token gets code -1.
func (a *Adapter) verifyAccount(w http.ResponseWriter, r *http.Request) {
	obj, ok := readObject(w, r)
	if !ok {
		return
	}
	fields := fieldReader{obj: obj}
	token := fields.optional("token")
	if fields.err != nil {
		httpserver.WriteText(w, http.StatusBadRequest, fields.err.Error())
		return
	}

	log := a.requestLog(r)
	stored, err := a.oneTime.consume(r.Context(), kindVerifyAccount, token)
	if errors.Is(err, errTokenInvalid) {
		writeCode(w, codeInvalid)
		return
	}
	if err != nil {
		httpserver.LogFailure(log, "consume verification token", err)
		writeServerError(w, "verification")
		return
	}
	_, err = a.store.Users.Update(r.Context(), stored.UserID, func(u *storage.User) error {
		u.AccountVerified = true
		return nil
	})
	if errors.Is(err, storage.ErrNotFound) {
		writeCode(w, codeInvalid)
		return
	}
	if err != nil {
		httpserver.LogFailure(log, "mark account verified", err, zap.String("user_id", stored.UserID))
		writeServerError(w, "verification")
		return
	}
	if err := a.oneTime.revokeAll(r.Context(), kindVerifyAccount, stored.UserID); err != nil {
		log.Warn("delete remaining verification tokens",
			zap.String("user_id", stored.UserID), zap.Error(err))
	}
	log.Info("account verified", zap.String("user_id", stored.UserID))
	writeCode(w, codeSuccess)
}

// requestPasswordReset responds with code 1 for every email, registered or not,
// and does the lookup and the sending after the response, so neither the
// body nor the response time reveals whether the email is registered.
func (a *Adapter) requestPasswordReset(w http.ResponseWriter, r *http.Request) {
	obj, ok := readObject(w, r)
	if !ok {
		return
	}
	fields := fieldReader{obj: obj}
	email := fields.required("email")
	if fields.err != nil {
		httpserver.WriteText(w, http.StatusBadRequest, fields.err.Error())
		return
	}

	log := a.requestLog(r)
	started := a.goBackground(func(ctx context.Context) {
		a.sendResetLink(ctx, email, log)
	})
	if !started {
		log.Warn("password reset request dropped: too many requests in progress")
	}
	writeCode(w, codeSuccess)
}

// sendResetLink emails a reset link when email belongs to an enabled user
// who holds fewer than maxOutstandingResets unexpired links.
func (a *Adapter) sendResetLink(ctx context.Context, email string, log *zap.Logger) {
	user, err := a.store.Users.GetByEmail(ctx, email)
	if errors.Is(err, storage.ErrNotFound) {
		log.Info("password reset requested for an unregistered email")
		return
	}
	if err != nil {
		httpserver.LogFailure(log, "password reset: read user", err)
		return
	}
	log = log.With(zap.String("user_id", user.ID))
	if user.Disabled {
		log.Info("password reset requested for a disabled user")
		return
	}
	n, err := a.oneTime.outstanding(ctx, kindResetPassword, user.ID)
	if err != nil {
		httpserver.LogFailure(log, "password reset: count outstanding links", err)
		return
	}
	if n >= maxOutstandingResets {
		log.Info("password reset not sent: too many unexpired links", zap.Int64("outstanding", n))
		return
	}
	if err := a.sendOneTimeLink(ctx, kindResetPassword, user); err != nil {
		httpserver.LogFailure(log, "send password reset email", err)
	}
}

// resetPassword sets a new password with a reset token. A bad password is
// a 400 with the policy's message, and the token stays valid: the client
// shows the message and goes to the login page, and the link can be opened
// again. An unknown, used or expired token gets code -1. On success every
// refresh token family of the user is revoked, the user counts as verified
// (the link proved the mailbox) and failed logins are forgotten.
func (a *Adapter) resetPassword(w http.ResponseWriter, r *http.Request) {
	obj, ok := readObject(w, r)
	if !ok {
		return
	}
	fields := fieldReader{obj: obj}
	password := fields.optional("password")
	token := fields.optional("token")
	if fields.err != nil {
		httpserver.WriteText(w, http.StatusBadRequest, fields.err.Error())
		return
	}

	ctx, log := r.Context(), a.requestLog(r)
	stored, err := a.oneTime.peek(ctx, kindResetPassword, token)
	if errors.Is(err, errTokenInvalid) {
		writeCode(w, codeInvalid)
		return
	}
	if err != nil {
		httpserver.LogFailure(log, "read reset token", err)
		writeServerError(w, "password reset")
		return
	}
	log = log.With(zap.String("user_id", stored.UserID))
	user, err := a.store.Users.Get(ctx, stored.UserID)
	if errors.Is(err, storage.ErrNotFound) {
		writeCode(w, codeInvalid)
		return
	}
	if err != nil {
		httpserver.LogFailure(log, "password reset: read user", err)
		writeServerError(w, "password reset")
		return
	}
	if err := a.users.CheckPassword(password, user.UserName, user.Email); err != nil {
		httpserver.WriteText(w, http.StatusBadRequest, err.Error())
		return
	}

	if _, err := a.oneTime.consume(ctx, kindResetPassword, token); errors.Is(err, errTokenInvalid) {
		writeCode(w, codeInvalid)
		return
	} else if err != nil {
		httpserver.LogFailure(log, "consume reset token", err)
		writeServerError(w, "password reset")
		return
	}
	if err := a.applyReset(ctx, user.ID, password); err != nil {
		var invalid *accounts.ValidationError
		if errors.As(err, &invalid) {
			httpserver.WriteText(w, http.StatusBadRequest, invalid.Error())
			return
		}
		httpserver.LogFailure(log, "password reset", err)
		httpserver.WriteText(w, http.StatusInternalServerError,
			"password reset failed because of a server error; request a new link")
		return
	}
	log.Info("password reset")
	writeCode(w, codeSuccess)
}

// applyReset stores the new password and then revokes the user's sessions.
// A failure between the two steps leaves the old sessions alive. The 500
// response asks the user to request a new link, and that reset revokes them.
func (a *Adapter) applyReset(ctx context.Context, userID, password string) error {
	if _, err := a.users.SetPassword(ctx, userID, password, ""); err != nil {
		return err
	}
	if err := a.tokens.RevokeUserTokens(ctx, userID); err != nil {
		return err
	}
	if err := a.store.Lockout.Unlock(ctx, userID, a.opts.LockoutMaxFailures); err != nil {
		return err
	}
	if _, err := a.store.Users.Update(ctx, userID, func(u *storage.User) error {
		u.AccountVerified = true
		u.LockedUntil = nil
		return nil
	}); err != nil {
		return err
	}
	return a.oneTime.revokeAll(ctx, kindResetPassword, userID)
}
