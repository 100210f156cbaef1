package admin

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/averos/averos-auth/storage"
)

// The filter query parameter is the Mongo-style JSON that the Averos client
// builds: {"<field>":{"<operator>":<value>},...}. It is never passed to the
// database: parseFilter checks every field against a whitelist and every
// value against the field's type, and buildQuery writes a new bson.D from
// the checked conditions.

// Limits on one filter, so that a query string cannot make the database
// scan with thousands of conditions.
const (
	maxFilterConditions = 32
	maxFilterListValues = 1000
	maxFilterValueBytes = 1024
)

// fieldKind is the type of a filterable field, which decides the operators
// and values it accepts.
type fieldKind int

const (
	kindString      fieldKind = iota // a string; every operator
	kindStringArray                  // an array of strings, matched per element
	kindBool                         // a boolean, given as "true" or "false"
	kindDate                         // a date, given as text (see parseDateValue)
	kindLockState                    // isAccountLocked: derived from lockedUntil and the time
)

// filterField maps a field name of the Averos model to its stored column.
type filterField struct {
	column string
	kind   fieldKind
	// normalize, when set, converts a value to its stored form.
	normalize func(string) string
}

// filterSchema is the whitelist of fields one collection can be filtered on.
type filterSchema map[string]filterField

var userFilterSchema = filterSchema{
	"_id":             {column: "_id", kind: kindString},
	"userName":        {column: "userName", kind: kindString},
	"email":           {column: "email", kind: kindString, normalize: storage.NormalizeEmail},
	"firstName":       {column: "firstName", kind: kindString},
	"lastName":        {column: "lastName", kind: kindString},
	"city":            {column: "city", kind: kindString},
	"gender":          {column: "gender", kind: kindString},
	"profileLanguage": {column: "profileLanguage", kind: kindString},
	"accountVerified": {column: "accountVerified", kind: kindBool},
	"isAccountLocked": {column: "lockedUntil", kind: kindLockState},
	"roles":           {column: "roles", kind: kindStringArray},
	"createdAt":       {column: "createdAt", kind: kindDate},
	"updatedAt":       {column: "updatedAt", kind: kindDate},
}

var roleFilterSchema = filterSchema{
	"_id":         {column: "_id", kind: kindString},
	"name":        {column: "name", kind: kindString},
	"description": {column: "description", kind: kindString},
	"createdAt":   {column: "createdAt", kind: kindDate},
	"updatedAt":   {column: "updatedAt", kind: kindDate},
}

// Filter operators, as the Averos client sends them.
const (
	opEq    = "$eq"
	opNe    = "$ne"
	opGt    = "$gt"
	opGte   = "$gte"
	opLt    = "$lt"
	opLte   = "$lte"
	opRegex = "$regex"
	opIn    = "$in"
	opNin   = "$nin"
)

// operatorsByKind lists the operators each field kind accepts.
var operatorsByKind = map[fieldKind][]string{
	kindString:      {opEq, opNe, opGt, opGte, opLt, opLte, opRegex, opIn, opNin},
	kindStringArray: {opEq, opNe, opRegex, opIn, opNin},
	kindBool:        {opEq, opNe, opIn, opNin},
	kindDate:        {opEq, opNe, opGt, opGte, opLt, opLte, opIn, opNin},
	kindLockState:   {opEq, opNe, opIn, opNin},
}

func isListOperator(op string) bool { return op == opIn || op == opNin }

// condition is one checked "field operator value(s)" term of a filter.
// values has one element except for $in and $nin.
type condition struct {
	field  string
	op     string
	values []string
}

// parseFilter checks the filter text against schema and returns its
// conditions. An empty text or {} has none. A field value may be an
// operator object or a bare string, which means $eq. Every problem is an
// *inputError that names the field or operator.
func parseFilter(text string, schema filterSchema) ([]condition, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	fields, err := decodeObject([]byte(text), "filter")
	if err != nil {
		return nil, err
	}

	var conds []condition
	for _, f := range fields {
		spec, ok := schema[f.key]
		if !ok {
			if strings.HasPrefix(f.key, "$") {
				return nil, invalidInput("filter: operator %s is not supported at the top level", f.key)
			}
			return nil, invalidInput("filter: unknown field %q; allowed fields: %s",
				f.key, strings.Join(schema.names(), ", "))
		}
		fieldConds, err := parseFieldFilter(f, spec)
		if err != nil {
			return nil, err
		}
		conds = append(conds, fieldConds...)
		if len(conds) > maxFilterConditions {
			return nil, invalidInput("filter: more than %d conditions", maxFilterConditions)
		}
	}
	return conds, nil
}

func parseFieldFilter(f member, spec filterField) ([]condition, error) {
	if jsonType(f.value) == "string" {
		value, err := parseFilterValue(f.value, f.key, spec)
		if err != nil {
			return nil, err
		}
		return []condition{{field: f.key, op: opEq, values: []string{value}}}, nil
	}
	if t := jsonType(f.value); t != "object" {
		return nil, invalidInput("filter: %s must be an object of operators or a string, not %s", f.key, article(t))
	}
	ops, err := decodeObject(f.value, "filter: "+f.key)
	if err != nil {
		return nil, err
	}
	if len(ops) == 0 {
		return nil, invalidInput("filter: %s has no operator", f.key)
	}

	var conds []condition
	for _, o := range ops {
		if !slices.Contains(operatorsByKind[spec.kind], o.key) {
			return nil, invalidInput("filter: operator %q is not supported on %s; allowed: %s",
				o.key, f.key, strings.Join(operatorsByKind[spec.kind], " "))
		}
		where := f.key + "." + o.key
		var values []string
		if isListOperator(o.key) {
			items, err := decodeArray(o.value, "filter: "+where)
			if err != nil {
				return nil, err
			}
			if len(items) > maxFilterListValues {
				return nil, invalidInput("filter: %s has more than %d values", where, maxFilterListValues)
			}
			for i, item := range items {
				v, err := parseFilterValue(item, fmt.Sprintf("%s[%d]", where, i), spec)
				if err != nil {
					return nil, err
				}
				values = append(values, v)
			}
		} else {
			v, err := parseFilterValue(o.value, where, spec)
			if err != nil {
				return nil, err
			}
			values = []string{v}
		}
		conds = append(conds, condition{field: f.key, op: o.key, values: values})
	}
	return conds, nil
}

// parseFilterValue checks one value: a JSON string, never an object, so no
// operator can be smuggled in as a value. Boolean and date strings must
// parse.
func parseFilterValue(v []byte, where string, spec filterField) (string, error) {
	s, err := decodeString(v, "filter: "+where)
	if err != nil {
		return "", err
	}
	if len(s) > maxFilterValueBytes {
		return "", invalidInput("filter: %s is longer than %d bytes", where, maxFilterValueBytes)
	}
	switch spec.kind {
	case kindBool, kindLockState:
		if _, err := parseBoolText(s, "filter: "+where); err != nil {
			return "", err
		}
	case kindDate:
		if _, _, err := parseDateValue(s); err != nil {
			return "", invalidInput("filter: %s: %v", where, err)
		}
	}
	if spec.normalize != nil {
		s = spec.normalize(s)
	}
	return s, nil
}

func (s filterSchema) names() []string {
	names := make([]string, 0, len(s))
	for name := range s {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// buildQuery turns checked conditions into a MongoDB query. now is the
// time that isAccountLocked is evaluated at. Conditions are combined with
// $and, so two conditions on one field cannot overwrite each other.
func buildQuery(conds []condition, schema filterSchema, now time.Time) bson.D {
	var terms bson.A
	for _, c := range conds {
		spec := schema[c.field]
		var term bson.D
		switch spec.kind {
		case kindBool:
			term = boolTerm(spec.column, c)
		case kindLockState:
			term = lockStateTerm(spec.column, c, now)
		case kindDate:
			term = dateTerm(spec.column, c)
		default:
			term = stringTerm(spec.column, c)
		}
		terms = append(terms, term)
	}
	switch len(terms) {
	case 0:
		return bson.D{}
	case 1:
		return terms[0].(bson.D)
	default:
		return bson.D{{Key: "$and", Value: terms}}
	}
}

// stringTerm matches strings, and arrays of strings element by element.
// $regex is a case-insensitive substring match of the literal value: every
// regular expression metacharacter is escaped.
func stringTerm(column string, c condition) bson.D {
	switch c.op {
	case opEq:
		return bson.D{{Key: column, Value: c.values[0]}}
	case opRegex:
		return bson.D{{Key: column, Value: bson.D{
			{Key: "$regex", Value: regexp.QuoteMeta(c.values[0])},
			{Key: "$options", Value: "i"},
		}}}
	case opIn, opNin:
		return bson.D{{Key: column, Value: bson.D{{Key: c.op, Value: stringList(c.values)}}}}
	default:
		return bson.D{{Key: column, Value: bson.D{{Key: c.op, Value: c.values[0]}}}}
	}
}

func boolTerm(column string, c condition) bson.D {
	values := make(bson.A, len(c.values))
	for i, v := range c.values {
		values[i] = v == "true"
	}
	switch c.op {
	case opIn, opNin:
		return bson.D{{Key: column, Value: bson.D{{Key: c.op, Value: values}}}}
	default:
		return bson.D{{Key: column, Value: bson.D{{Key: c.op, Value: values[0]}}}}
	}
}

// lockStateTerm matches on whether column (lockedUntil) lies after now.
func lockStateTerm(column string, c condition, now time.Time) bson.D {
	accepted := map[bool]bool{}
	for _, v := range c.values {
		accepted[v == "true"] = true
	}
	if c.op == opNe || c.op == opNin {
		accepted = map[bool]bool{true: !accepted[true], false: !accepted[false]}
	}
	lockedNow := bson.D{{Key: "$gt", Value: now}}
	switch {
	case accepted[true] && accepted[false]:
		return bson.D{}
	case accepted[true]:
		return bson.D{{Key: column, Value: lockedNow}}
	case accepted[false]:
		return bson.D{{Key: column, Value: bson.D{{Key: "$not", Value: lockedNow}}}}
	default:
		return matchNothing()
	}
}

// dateTerm compares dates at the precision the client gave: a value is the
// interval [start, end) of the times it names, so "$eq" with a value in
// whole seconds matches every stored millisecond of that second.
func dateTerm(column string, c condition) bson.D {
	ranges := make([]bson.D, len(c.values))
	starts := make([]time.Time, len(c.values))
	ends := make([]time.Time, len(c.values))
	for i, v := range c.values {
		// parseFilterValue has already checked every value.
		starts[i], ends[i], _ = parseDateValue(v)
		ranges[i] = bson.D{{Key: column, Value: bson.D{
			{Key: "$gte", Value: starts[i]}, {Key: "$lt", Value: ends[i]},
		}}}
	}
	cmp := func(op string, t time.Time) bson.D {
		return bson.D{{Key: column, Value: bson.D{{Key: op, Value: t}}}}
	}
	switch c.op {
	case opEq:
		return ranges[0]
	case opNe:
		return bson.D{{Key: "$nor", Value: bson.A{ranges[0]}}}
	case opGt:
		return cmp("$gte", ends[0])
	case opGte:
		return cmp("$gte", starts[0])
	case opLt:
		return cmp("$lt", starts[0])
	case opLte:
		return cmp("$lt", ends[0])
	case opIn:
		if len(ranges) == 0 {
			return matchNothing()
		}
		return bson.D{{Key: "$or", Value: toArray(ranges)}}
	default: // opNin
		if len(ranges) == 0 {
			return bson.D{}
		}
		return bson.D{{Key: "$nor", Value: toArray(ranges)}}
	}
}

func matchNothing() bson.D {
	return bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: bson.A{}}}}}
}

func stringList(values []string) bson.A {
	out := make(bson.A, len(values))
	for i, v := range values {
		out[i] = v
	}
	return out
}

func toArray(docs []bson.D) bson.A {
	out := make(bson.A, len(docs))
	for i, d := range docs {
		out[i] = d
	}
	return out
}
