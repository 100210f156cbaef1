package accounts

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"

	"github.com/averos/averos-auth/internal/password"
	"github.com/averos/averos-auth/storage"
)

// maxPasswordLength bounds the input to the password hash.
const maxPasswordLength = 1024

// Users creates users and changes their passwords.
type Users struct {
	store     *storage.Store
	hasher    *password.Hasher
	validate  *validator.Validate
	minLength int
}

// NewUsers returns the user service; minLength is the password policy's
// minimum length (at least 8).
func NewUsers(store *storage.Store, hasher *password.Hasher, minLength int) *Users {
	if minLength < 8 {
		minLength = 8
	}
	return &Users{store: store, hasher: hasher, validate: newValidator(), minLength: minLength}
}

// NewUser is the input for creating a user.
type NewUser struct {
	UserName        string   `json:"userName" validate:"required,username"`
	Email           string   `json:"email" validate:"required,max=254,email"`
	Password        string   `json:"password" validate:"required"`
	FirstName       string   `json:"firstName" validate:"max=100,nocontrol"`
	LastName        string   `json:"lastName" validate:"max=100,nocontrol"`
	Gender          string   `json:"gender" validate:"omitempty,oneof=Male Female"`
	Birthdate       string   `json:"birthdate" validate:"max=64,nocontrol"`
	City            string   `json:"city" validate:"max=100,nocontrol"`
	ProfileLanguage string   `json:"profileLanguage" validate:"omitempty,oneof=en fr de es ar cn jp nl no ru se"`
	Roles           []string `json:"roles" validate:"dive,rolename"`
	AccountVerified bool     `json:"accountVerified"`
	// CreatedBy is the id of the user who creates this one; empty for
	// self-registration and the CLI.
	CreatedBy string `json:"-"`
}

// Create validates in, checks the password policy, hashes the password and
// stores the user. Errors: *ValidationError for bad input, an
// *storage.AlreadyExistsError for a taken user name or email, storage errors.
func (s *Users) Create(ctx context.Context, in NewUser) (*storage.User, error) {
	in.UserName = strings.TrimSpace(in.UserName)
	in.Email = strings.TrimSpace(in.Email)
	if err := check(s.validate, in); err != nil {
		return nil, err
	}
	if err := s.CheckPassword(in.Password, in.UserName, in.Email); err != nil {
		return nil, err
	}
	for _, name := range in.Roles {
		if _, err := s.store.Roles.GetByName(ctx, name); errors.Is(err, storage.ErrNotFound) {
			return nil, invalid("roles: role %q does not exist", name)
		} else if err != nil {
			return nil, err
		}
	}
	hash, err := s.hasher.Hash(in.Password)
	if err != nil {
		return nil, err
	}
	now := s.store.Now().UTC()
	u := &storage.User{
		UserName:          in.UserName,
		Email:             in.Email,
		PasswordHash:      hash,
		FirstName:         in.FirstName,
		LastName:          in.LastName,
		Gender:            in.Gender,
		Birthdate:         in.Birthdate,
		City:              in.City,
		ProfileLanguage:   in.ProfileLanguage,
		Roles:             dedupe(in.Roles),
		AccountVerified:   in.AccountVerified,
		PasswordUpdatedAt: &now,
		CreatedBy:         in.CreatedBy,
		UpdatedBy:         in.CreatedBy,
	}
	if err := s.store.Users.Create(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// CheckPassword applies the password policy: at least the minimum length,
// with an upper-case letter, a lower-case letter and a digit, and not equal
// to the user name or the email (ignoring case).
func (s *Users) CheckPassword(pw, userName, email string) error {
	n := utf8.RuneCountInString(pw)
	var problems []string
	if n < s.minLength {
		problems = append(problems, "password must be at least "+strconv.Itoa(s.minLength)+" characters")
	}
	if len(pw) > maxPasswordLength {
		problems = append(problems, "password must be at most "+strconv.Itoa(maxPasswordLength)+" bytes")
	}
	if !strings.ContainsFunc(pw, unicode.IsUpper) || !strings.ContainsFunc(pw, unicode.IsLower) ||
		!strings.ContainsFunc(pw, unicode.IsDigit) {
		problems = append(problems, "password must contain an upper-case letter, a lower-case letter and a digit")
	}
	if userName != "" && strings.EqualFold(pw, userName) || email != "" && strings.EqualFold(pw, email) {
		problems = append(problems, "password must not equal the user name or the email")
	}
	if len(problems) > 0 {
		return &ValidationError{Problems: problems}
	}
	return nil
}

// SetPassword checks the policy, hashes pw and stores it for the user. The
// caller revokes the user's tokens where the flow requires it.
func (s *Users) SetPassword(ctx context.Context, userID, pw, updatedBy string) (*storage.User, error) {
	u, err := s.store.Users.Get(ctx, userID)
	if err != nil {
		return nil, err
	}
	if err := s.CheckPassword(pw, u.UserName, u.Email); err != nil {
		return nil, err
	}
	hash, err := s.hasher.Hash(pw)
	if err != nil {
		return nil, err
	}
	return s.store.Users.Update(ctx, userID, func(u *storage.User) error {
		now := s.store.Now().UTC()
		u.PasswordHash = hash
		u.PasswordUpdatedAt = &now
		if updatedBy != "" {
			u.UpdatedBy = updatedBy
		}
		return nil
	})
}

// RevokeTokens moves the user's TokensValidAfter to now: every token issued
// to the user before this moment stops working, in one atomic update.
func (s *Users) RevokeTokens(ctx context.Context, userID string) error {
	_, err := s.store.Users.Update(ctx, userID, func(u *storage.User) error {
		u.TokensValidAfter = s.store.Now().UTC().Truncate(time.Millisecond)
		return nil
	})
	return err
}

// Validator returns the validator with this package's custom tags, for
// handlers that validate their own request types.
func (s *Users) Validator() *validator.Validate { return s.validate }

// Check validates input with the package's validator and returns a
// *ValidationError naming each invalid field.
func Check(v *validator.Validate, input any) error { return check(v, input) }

// NewValidator returns a validator with this package's custom tags
// (username, rolename, clientid, scopetoken, nocontrol).
func NewValidator() *validator.Validate { return newValidator() }

func dedupe(items []string) []string {
	out := make([]string, 0, len(items))
	seen := map[string]bool{}
	for _, it := range items {
		if !seen[it] {
			seen[it] = true
			out = append(out, it)
		}
	}
	return out
}
