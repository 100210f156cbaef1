package oauth

import (
	"encoding/base64"
	"errors"
	"net/url"
	"testing"

	"github.com/ory/fosite"
)

// FuzzParseFormBody checks that form parsing never panics, fails only with
// invalid_request, and never lets a repeated parameter through.
func FuzzParseFormBody(f *testing.F) {
	for _, seed := range []string{
		"grant_type=password&username=ada&password=x",
		"grant_type=refresh_token&refresh_token=a.b&scope=openid+profile",
		"a=1&a=2",
		"%zz=1",
		"=&&=",
		"scope=openid%20email;x=1",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		form, err := parseFormBody(body)
		if err != nil {
			var rfc *fosite.RFC6749Error
			if !errors.As(err, &rfc) || rfc.ErrorField != "invalid_request" {
				t.Fatalf("error %v is not invalid_request", err)
			}
			return
		}
		for name, values := range form {
			if len(values) != 1 {
				t.Fatalf("parameter %q has %d values", name, len(values))
			}
		}
		if err := checkGrantType(form); err != nil {
			var rfc *fosite.RFC6749Error
			if !errors.As(err, &rfc) {
				t.Fatalf("grant type error %v is not an OAuth error", err)
			}
		}
	})
}

// FuzzParseBasic checks that Basic parsing never panics and that whatever it
// accepts round-trips through the encoding clients use.
func FuzzParseBasic(f *testing.F) {
	for _, seed := range []string{
		"Basic " + base64.StdEncoding.EncodeToString([]byte("web:s3cret")),
		"Basic " + base64.StdEncoding.EncodeToString([]byte("web+app%3A1:s3cret%2B%2F")),
		"basic " + base64.StdEncoding.EncodeToString([]byte(":")),
		"Basic !!",
		"Bearer abc",
		"Basic " + base64.StdEncoding.EncodeToString([]byte("%zz:x")),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		id, secret, err := parseBasic(header)
		if err != nil {
			if !errors.Is(err, errMalformedBasic) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if id == "" {
			t.Fatal("accepted an empty client id")
		}
		encoded := base64.StdEncoding.EncodeToString(
			[]byte(url.QueryEscape(id) + ":" + url.QueryEscape(secret)))
		id2, secret2, err := parseBasic("Basic " + encoded)
		if err != nil || id2 != id || secret2 != secret {
			t.Fatalf("round trip of %q/%q gave %q/%q, %v", id, secret, id2, secret2, err)
		}
	})
}
