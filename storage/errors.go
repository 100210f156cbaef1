package storage

import (
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/mongo"
)

// ErrNotFound reports that the requested document does not exist.
var ErrNotFound = errors.New("not found")

// ErrAlreadyExists reports that a unique value (an id, a user name, an email,
// a role name) is taken. Use errors.As with *AlreadyExistsError for the field.
var ErrAlreadyExists = errors.New("already exists")

// ErrConflict reports that a document changed between the read and the
// write of every attempt of an update. A later retry of the request can
// succeed.
var ErrConflict = errors.New("document changed by a concurrent update")

// ErrLocked reports that an account has reached its failed-login limit.
var ErrLocked = errors.New("account locked")

// AlreadyExistsError names the unique field whose value is taken.
type AlreadyExistsError struct {
	Kind  string // "user", "role", "client", ...
	Field string // "userName", "email", "name", "_id"
}

func (e *AlreadyExistsError) Error() string {
	return fmt.Sprintf("%s with this %s already exists", e.Kind, e.Field)
}

// Is makes errors.Is(err, ErrAlreadyExists) true.
func (e *AlreadyExistsError) Is(target error) bool { return target == ErrAlreadyExists }

// isDuplicateKey reports whether err is a MongoDB duplicate-key error (code 11000).
func isDuplicateKey(err error) bool {
	return mongo.IsDuplicateKeyError(err)
}

// wrap adds the operation to a driver error, turning "no documents" into ErrNotFound.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, mongo.ErrNoDocuments) {
		return ErrNotFound
	}
	return fmt.Errorf("storage: %s: %w", op, err)
}

// IsUnavailable reports whether err is a passing storage condition that a
// retry may clear (the server unreachable, a timeout, or writes that kept
// losing to concurrent updates) rather than a fault of the request itself.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	return mongo.IsNetworkError(err) || mongo.IsTimeout(err) ||
		errors.Is(err, mongo.ErrClientDisconnected) || errors.Is(err, ErrConflict)
}
