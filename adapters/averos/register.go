package averos

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/averos/averos-auth/internal/accounts"
	"github.com/averos/averos-auth/internal/httpserver"
	"github.com/averos/averos-auth/storage"
)

// registration is the registration form of the Averos client. Only the
// account fields are required; the profile fields are checked when present.
type registration struct {
	UserName, Email, Password, ConfirmPassword   string
	FirstName, LastName, Gender, Birthdate, City string
}

func parseRegistration(obj jsonObject, now time.Time) (registration, error) {
	f := fieldReader{obj: obj}
	reg := registration{
		UserName:        f.required("userName"),
		Email:           f.required("email"),
		Password:        f.required("password"),
		ConfirmPassword: f.required("confirmPassword"),
		FirstName:       f.optional("firstName"),
		LastName:        f.optional("lastName"),
		Gender:          f.optional("gender"),
		Birthdate:       strings.TrimSpace(f.optional("birthdate")),
		City:            f.optional("city"),
	}
	if f.err != nil {
		return reg, f.err
	}
	if reg.ConfirmPassword != reg.Password {
		return reg, errors.New("confirmPassword must match password")
	}
	if reg.Birthdate != "" {
		birth, err := parseBirthdate(reg.Birthdate)
		if err != nil {
			return reg, err
		}
		if birth.After(now) {
			return reg, errors.New("birthdate must be in the past")
		}
	}
	return reg, nil
}

// parseBirthdate accepts the ISO-8601 forms a browser produces: a date
// (2000-01-31) or an RFC 3339 timestamp (JSON of a JavaScript Date,
// 2000-01-30T23:00:00.000Z).
func parseBirthdate(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, errors.New(
		"birthdate must be an ISO-8601 date such as 2000-01-31 or 2000-01-31T00:00:00Z")
}

// register creates an unverified user and sends the verification email. A
// taken user name or email is a 409; any other invalid input is a 400 that
// names the field. A failure to send the email is logged and does not fail
// the registration.
func (a *Adapter) register(w http.ResponseWriter, r *http.Request) {
	obj, ok := readObject(w, r)
	if !ok {
		return
	}
	reg, err := parseRegistration(obj, a.now())
	if err != nil {
		httpserver.WriteText(w, http.StatusBadRequest, err.Error())
		return
	}

	log := a.requestLog(r)
	user, err := a.users.Create(r.Context(), accounts.NewUser{
		UserName:  reg.UserName,
		Email:     reg.Email,
		Password:  reg.Password,
		FirstName: reg.FirstName,
		LastName:  reg.LastName,
		Gender:    reg.Gender,
		Birthdate: reg.Birthdate,
		City:      reg.City,
	})
	var invalid *accounts.ValidationError
	var conflict *storage.AlreadyExistsError
	switch {
	case errors.As(err, &invalid):
		httpserver.WriteText(w, http.StatusBadRequest, invalid.Error())
		return
	case errors.As(err, &conflict) && conflict.Field == "email":
		httpserver.WriteText(w, http.StatusConflict, "email is already registered")
		return
	case errors.As(err, &conflict):
		httpserver.WriteText(w, http.StatusConflict, "userName is already taken")
		return
	case err != nil:
		httpserver.LogFailure(log, "register user", err)
		writeServerError(w, "registration")
		return
	}
	log.Info("user registered", zap.String("user_id", user.ID))

	if err := a.sendOneTimeLink(r.Context(), kindVerifyAccount, user); err != nil {
		// TODO: the Averos client has no way to ask for a new verification
		// email, so this user verifies only through a password reset.
		httpserver.LogFailure(log, "send verification email", err, zap.String("user_id", user.ID))
	}
	httpserver.WriteJSON(w, http.StatusCreated, newUserView(user, a.now()))
}
