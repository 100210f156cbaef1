package main

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/averos/averos-auth/internal/accounts"
	"github.com/averos/averos-auth/storage"
)

// flagInput is the flag that set one input field of the account service,
// and for a list field the values in the order given.
type flagInput struct {
	flag   string
	values []string
}

// explain turns service errors into one clear sentence. fields maps the
// JSON names that validation problems start with, such as grant_types, to
// the flags that set them, so that the message names the flag.
func explain(err error, fields map[string]flagInput) error {
	var ve *accounts.ValidationError
	if errors.As(err, &ve) {
		problems := make([]string, len(ve.Problems))
		for i, problem := range ve.Problems {
			problems[i] = nameFlag(problem, fields)
		}
		return usagef("invalid input: %s", strings.Join(problems, "; "))
	}
	var exists *storage.AlreadyExistsError
	if errors.As(err, &exists) {
		return fmt.Errorf("a %s with this %s already exists", exists.Kind, exists.Field)
	}
	return err
}

// problemField matches the field that starts a validation problem, with the
// index of a list item: "grant_types[0] must be one of: ...".
var problemField = regexp.MustCompile(`^([A-Za-z_]+)(?:\[(\d+)\])?([ :].*)$`)

// nameFlag replaces the field at the start of problem with its flag, and a
// list item's index with the value given: "grant_types[0] must be one of:
// ..." becomes `--grant "implicit" must be one of: ...`. A problem about a
// field not in fields is returned unchanged.
func nameFlag(problem string, fields map[string]flagInput) string {
	m := problemField.FindStringSubmatch(problem)
	if m == nil {
		return problem
	}
	input, ok := fields[m[1]]
	if !ok {
		return problem
	}
	name := "--" + input.flag
	if m[2] != "" {
		i, err := strconv.Atoi(m[2])
		if err == nil && i < len(input.values) {
			name += " " + strconv.Quote(input.values[i])
		}
	}
	return name + m[3]
}
