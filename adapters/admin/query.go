package admin

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// queryParams are the parameters of a request's query string.
type queryParams map[string]string

// parseQuery reads the parameters named in known from r's query string. It
// does not use url.ParseQuery, for two reasons. The Averos client leaves ';'
// unencoded, and net/http drops every pair that contains one, which would
// silently drop a filter. The client encodes a space as %20 and sends '+'
// as itself, for example in "GMT+0100" of a date, so '+' stays a plus sign
// here. A parameter given twice, or a malformed escape, is an *inputError.
func parseQuery(r *http.Request, known ...string) (queryParams, error) {
	params := queryParams{}
	for pair := range strings.SplitSeq(r.URL.RawQuery, "&") {
		if pair == "" {
			continue
		}
		rawKey, rawValue, _ := strings.Cut(pair, "=")
		key, err := url.PathUnescape(rawKey)
		if err != nil {
			return nil, invalidInput("query: malformed percent-encoding in a parameter name")
		}
		if !slices.Contains(known, key) {
			continue
		}
		value, err := url.PathUnescape(rawValue)
		if err != nil {
			return nil, invalidInput("query: malformed percent-encoding in %s", key)
		}
		if _, dup := params[key]; dup {
			return nil, invalidInput("query: %s is given more than once", key)
		}
		params[key] = value
	}
	return params, nil
}

// compositeKeys returns the relation names of the compositekeys parameter:
// a list separated by spaces (also '+' or ',' from other clients). Unknown
// names are kept, and the renderers ignore them.
func compositeKeys(q queryParams) map[string]bool {
	keys := map[string]bool{}
	fields := strings.FieldsFunc(q["compositekeys"], func(r rune) bool {
		return r == ' ' || r == '+' || r == ','
	})
	for _, k := range fields {
		keys[k] = true
	}
	return keys
}
