package oauth

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/ory/fosite"

	"github.com/averos/averos-auth/storage"
)

// Client authentication (RFC 6749 §2.3): client_secret_basic, with id and
// secret form-urlencoded inside the Basic credentials; client_secret_post;
// and none, for public clients that send only client_id. A request may use
// one method only.

type contextKey int

const (
	// internalClientKey marks a request made by InternalToken for the
	// trusted first-party client whose id is the value.
	internalClientKey contextKey = iota
)

// clientCredentials is what a request presents to authenticate its client.
type clientCredentials struct {
	id, secret string
	// viaHeader is true when the credentials came in the Authorization header.
	viaHeader bool
	// hasSecret is true when a secret was sent (possibly empty in Basic).
	hasSecret bool
}

// errMalformedBasic reports an Authorization header that is not valid Basic
// credentials.
var errMalformedBasic = errors.New("malformed Basic credentials")

// parseBasic decodes the value of an Authorization header with the Basic
// scheme. The user id and password inside are form-urlencoded (RFC 6749
// §2.3.1), so they are unescaped as query components.
func parseBasic(header string) (id, secret string, err error) {
	scheme, encoded, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return "", "", errMalformedBasic
	}
	decoded, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if err != nil {
		return "", "", errMalformedBasic
	}
	rawID, rawSecret, ok := strings.Cut(string(decoded), ":")
	if !ok {
		return "", "", errMalformedBasic
	}
	if id, err = url.QueryUnescape(rawID); err != nil {
		return "", "", errMalformedBasic
	}
	if secret, err = url.QueryUnescape(rawSecret); err != nil {
		return "", "", errMalformedBasic
	}
	if id == "" {
		return "", "", errMalformedBasic
	}
	return id, secret, nil
}

// readClientCredentials collects the client credentials of r, whose form is
// already parsed, and rejects a request that mixes methods.
func readClientCredentials(r *http.Request, form url.Values) (clientCredentials, error) {
	formID, formSecret := form.Get("client_id"), form.Get("client_secret")
	_, formHasSecret := form["client_secret"]

	// Proxies disagree on which of several headers counts, so none does.
	if len(r.Header.Values("Authorization")) > 1 {
		return clientCredentials{}, fosite.ErrInvalidRequest.WithHint(
			"The request carries more than one Authorization header.")
	}
	header := r.Header.Get("Authorization")
	if header == "" {
		if formID == "" {
			return clientCredentials{}, errInvalidClient("The client did not authenticate.", nil)
		}
		return clientCredentials{id: formID, secret: formSecret, hasSecret: formHasSecret}, nil
	}

	id, secret, err := parseBasic(header)
	if err != nil {
		return clientCredentials{viaHeader: true}, errInvalidClient(
			"The Authorization header does not carry valid Basic client credentials.", err)
	}
	if formHasSecret {
		return clientCredentials{}, fosite.ErrInvalidRequest.WithHint(
			"The client authenticated with more than one method; use either the Authorization header or client_secret.")
	}
	if formID != "" && formID != id {
		return clientCredentials{}, fosite.ErrInvalidRequest.WithHint(
			"The client_id parameter does not match the client in the Authorization header.")
	}
	return clientCredentials{id: id, secret: secret, viaHeader: true, hasSecret: true}, nil
}

// errInvalidClient builds the invalid_client error (401). Its description is
// the same for an unknown client and a wrong secret.
func errInvalidClient(hint string, cause error) *fosite.RFC6749Error {
	err := fosite.ErrInvalidClient.WithHint(hint)
	if cause != nil {
		err = err.WithWrap(cause)
	}
	return err
}

// authenticateClient returns the client that r authenticates, with its form
// already parsed.
func (p *Provider) authenticateClient(ctx context.Context, r *http.Request, form url.Values) (*client, error) {
	if id, ok := ctx.Value(internalClientKey).(string); ok {
		c, err := p.clients.get(ctx, id)
		if err != nil {
			return nil, p.clientLookupError(err)
		}
		return &client{c: c}, nil
	}

	creds, err := readClientCredentials(r, form)
	if err != nil {
		return nil, err
	}
	c, err := p.clients.get(ctx, creds.id)
	if errors.Is(err, storage.ErrNotFound) {
		// Spend the same work as a real comparison.
		p.secrets.Equal(p.dummySecretHash, creds.secret)
		return nil, errInvalidClient(failedClientHint, nil)
	}
	if err != nil {
		return nil, err
	}

	switch {
	case c.Public && creds.hasSecret && creds.secret != "":
		return nil, errInvalidClient("A public client must not send a client secret.", nil)
	case c.Public:
		return &client{c: c}, nil
	case !creds.hasSecret || c.SecretHash == "":
		return nil, errInvalidClient(failedClientHint, nil)
	case !p.secrets.Equal(c.SecretHash, creds.secret):
		return nil, errInvalidClient(failedClientHint, nil)
	}
	return &client{c: c}, nil
}

const failedClientHint = "Client authentication failed: unknown client or wrong secret."

func (p *Provider) clientLookupError(err error) error {
	if errors.Is(err, storage.ErrNotFound) {
		return errInvalidClient(failedClientHint, nil)
	}
	return err
}

// authenticateClientForFosite is the fosite ClientAuthenticationStrategy. The
// form was parsed and checked by parseForm before fosite runs.
func (p *Provider) authenticateClientForFosite(ctx context.Context, r *http.Request,
	form url.Values) (fosite.Client, error) {
	c, err := p.authenticateClient(ctx, r, form)
	if err != nil {
		return nil, err
	}
	return c, nil
}
