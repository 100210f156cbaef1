package accounts

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"
)

// ValidationError lists every invalid field of one input. Each problem
// starts with the field's JSON name.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string { return strings.Join(e.Problems, "; ") }

func invalid(format string, args ...any) *ValidationError {
	return &ValidationError{Problems: []string{fmt.Sprintf(format, args...)}}
}

var (
	clientIDPattern = regexp.MustCompile(`^[A-Za-z0-9._~-]{1,128}$`)
	scopePattern    = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]{1,128}$`) // RFC 6749 §3.3 scope-token
)

// userIDPattern matches the IDs that storage.NewID gives users.
var userIDPattern = regexp.MustCompile(`^[0-9a-f]{24}$`)

func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			return f.Name
		}
		return name
	})
	must(v.RegisterValidation("username", func(fl validator.FieldLevel) bool {
		return validUserName(fl.Field().String())
	}))
	must(v.RegisterValidation("rolename", func(fl validator.FieldLevel) bool {
		return validRoleName(fl.Field().String())
	}))
	must(v.RegisterValidation("clientid", func(fl validator.FieldLevel) bool {
		return clientIDPattern.MatchString(fl.Field().String())
	}))
	must(v.RegisterValidation("scopetoken", func(fl validator.FieldLevel) bool {
		return scopePattern.MatchString(fl.Field().String())
	}))
	must(v.RegisterValidation("nocontrol", func(fl validator.FieldLevel) bool {
		return !strings.ContainsFunc(fl.Field().String(), unicode.IsControl)
	}))
	return v
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// validUserName accepts 3 to 64 characters of any script without white
// space, control characters, '@' (a login with '@' is an email) or '/'
// (user names appear as URL path segments).
func validUserName(s string) bool {
	n := utf8.RuneCountInString(s)
	if n < 3 || n > 64 || !utf8.ValidString(s) {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == '@' || r == '/' || r == '\\'
	})
}

// validRoleName accepts 1 to 64 characters without control characters and
// without leading or trailing space.
func validRoleName(s string) bool {
	n := utf8.RuneCountInString(s)
	return n >= 1 && n <= 64 && utf8.ValidString(s) && strings.TrimSpace(s) == s &&
		!strings.ContainsFunc(s, unicode.IsControl)
}

// check validates v and converts the failures into a *ValidationError.
func check(v *validator.Validate, input any) error {
	err := v.Struct(input)
	if err == nil {
		return nil
	}
	var errs validator.ValidationErrors
	if !errors.As(err, &errs) {
		return err
	}
	out := &ValidationError{}
	for _, fe := range errs {
		out.Problems = append(out.Problems, describe(fe))
	}
	return out
}

func describe(fe validator.FieldError) string {
	field := fe.Namespace()
	if _, rest, ok := strings.Cut(field, "."); ok {
		field = rest
	}
	switch fe.Tag() {
	case "required":
		return field + " is required"
	case "email":
		return field + " must be a valid email address"
	case "max":
		return fmt.Sprintf("%s must be at most %s characters", field, fe.Param())
	case "min":
		return fmt.Sprintf("%s must be at least %s characters", field, fe.Param())
	case "oneof":
		return fmt.Sprintf("%s must be one of: %s", field, strings.ReplaceAll(fe.Param(), " ", ", "))
	case "username":
		return field + " must be 3 to 64 characters without spaces, '@', '/' or '\\'"
	case "rolename":
		return field + " must be 1 to 64 characters without control characters or surrounding spaces"
	case "clientid":
		return field + " must be 1 to 128 characters from A-Z, a-z, 0-9, '.', '_', '~' and '-'"
	case "scopetoken":
		return field + " must be a scope token: 1 to 128 printable ASCII characters without spaces, '\"' or '\\'"
	case "nocontrol":
		return field + " must not contain control characters"
	case "url":
		return field + " must be an absolute URL"
	case "unique":
		return field + " must not contain duplicates"
	case "gte", "lte":
		return fmt.Sprintf("%s is out of range (%s %s)", field, fe.Tag(), fe.Param())
	default:
		return fmt.Sprintf("%s is invalid (%s)", field, fe.Tag())
	}
}
