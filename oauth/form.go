package oauth

import (
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"

	"github.com/ory/fosite"

	"github.com/averos/averos-auth/internal/httpserver"
)

// maxFormBytes bounds the body of a token, introspection or revocation
// request; real ones are well under 4 KiB.
const maxFormBytes = 64 << 10

// parseForm reads the form-encoded body of r and stores it in r.PostForm and
// r.Form, where fosite looks for it. It rejects, with invalid_request, a body
// of another media type, an undecodable or oversized body, and a parameter
// sent more than once (RFC 6749 §3.2). Query parameters are ignored.
func parseForm(r *http.Request) (url.Values, error) {
	if r.Method != http.MethodPost {
		return nil, fosite.ErrInvalidRequest.WithHint("The request must use POST.")
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/x-www-form-urlencoded" {
		return nil, fosite.ErrInvalidRequest.WithHint(
			"The request body must be application/x-www-form-urlencoded.")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxFormBytes+1))
	if err != nil {
		if httpserver.IsBodyTooLarge(err) {
			return nil, fosite.ErrInvalidRequest.WithHint("The request body is too large.")
		}
		return nil, fosite.ErrInvalidRequest.WithHint("The request body could not be read.").WithWrap(err)
	}
	if len(body) > maxFormBytes {
		return nil, fosite.ErrInvalidRequest.WithHint("The request body is too large.")
	}
	form, err := parseFormBody(string(body))
	if err != nil {
		return nil, err
	}
	r.PostForm = form
	r.Form = form
	return form, nil
}

// parseFormBody decodes a form-encoded body and rejects repeated parameters.
func parseFormBody(body string) (url.Values, error) {
	form, err := url.ParseQuery(body)
	if err != nil {
		return nil, fosite.ErrInvalidRequest.WithHint("The request body is not valid form encoding.")
	}
	if name, ok := repeatedParameter(form); ok {
		return nil, fosite.ErrInvalidRequest.WithHintf("The parameter %q is sent more than once.", name)
	}
	return form, nil
}

// repeatedParameter returns the first (by name) parameter given more than once.
func repeatedParameter(form url.Values) (string, bool) {
	var repeated []string
	for name, values := range form {
		if len(values) > 1 {
			repeated = append(repeated, name)
		}
	}
	if len(repeated) == 0 {
		return "", false
	}
	sort.Strings(repeated)
	return repeated[0], true
}

// Grant types of the token endpoint.
const (
	grantPassword          = "password"
	grantRefreshToken      = "refresh_token"
	grantClientCredentials = "client_credentials"
)

// checkGrantType rejects a request without grant_type (invalid_request) or
// with one this server does not implement (unsupported_grant_type), and a
// refresh request without refresh_token (invalid_request).
func checkGrantType(form url.Values) error {
	grantType := form.Get("grant_type")
	switch grantType {
	case "":
		return fosite.ErrInvalidRequest.WithHint("The grant_type parameter is missing.")
	case grantPassword, grantClientCredentials:
		return nil
	case grantRefreshToken:
		if form.Get("refresh_token") == "" {
			return fosite.ErrInvalidRequest.WithHint("The refresh_token parameter is missing.")
		}
		return nil
	default:
		return fosite.ErrUnsupportedGrantType.WithHint(
			"Supported grant types are password, refresh_token and client_credentials.")
	}
}
