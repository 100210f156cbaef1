package accounts

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/go-playground/validator/v10"

	"github.com/averos/averos-auth/internal/secrets"
	"github.com/averos/averos-auth/storage"
)

// Grant types a client may be allowed.
const (
	GrantPassword          = "password"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
)

// TokenRevoker revokes every token issued to a client and drops a cached
// copy of a client; the OAuth provider implements it.
type TokenRevoker interface {
	RevokeClientTokens(ctx context.Context, clientID string) error
	ForgetClient(clientID string)
}

// Clients registers OAuth clients and manages their secrets. Only the keyed
// hash of a secret is stored; the secret itself is returned once.
type Clients struct {
	store    *storage.Store
	hasher   *secrets.Hasher
	validate *validator.Validate
	revoker  TokenRevoker
}

// NewClients returns the client service. revoker may be nil where no
// provider runs (the CLI); deleting a client still invalidates its tokens,
// because a token's client must exist.
func NewClients(store *storage.Store, systemSecret string, revoker TokenRevoker) (*Clients, error) {
	h, err := secrets.NewHasher(systemSecret, secrets.PurposeClientSecrets)
	if err != nil {
		return nil, err
	}
	return &Clients{store: store, hasher: h, validate: newValidator(), revoker: revoker}, nil
}

// ClientSpec is the input for creating or replacing a client's settings.
type ClientSpec struct {
	ID                   string        `json:"client_id" validate:"required,clientid"`
	Name                 string        `json:"client_name" validate:"max=200,nocontrol"`
	Public               bool          `json:"public"`
	GrantTypes           []string      `json:"grant_types" validate:"required,min=1,unique,dive,oneof=password refresh_token client_credentials"`
	Scopes               []string      `json:"scopes" validate:"unique,dive,scopetoken"`
	Audiences            []string      `json:"audiences" validate:"unique,dive,max=512,nocontrol"`
	AccessTokenLifetime  time.Duration `json:"access_token_lifetime" validate:"gte=0,lte=86400000000000"`
	RefreshTokenLifetime time.Duration `json:"refresh_token_lifetime" validate:"gte=0"`
	IDTokenLifetime      time.Duration `json:"id_token_lifetime" validate:"gte=0,lte=86400000000000"`
	CORSOrigins          []string      `json:"cors_origins" validate:"unique,dive,url"`
	IntrospectAny        bool          `json:"introspect_any"`
}

func (s *Clients) checkSpec(spec ClientSpec) error {
	if err := check(s.validate, spec); err != nil {
		return err
	}
	if spec.Public && slices.Contains(spec.GrantTypes, GrantClientCredentials) {
		return invalid("grant_types: a public client cannot use client_credentials")
	}
	if spec.Public && spec.IntrospectAny {
		return invalid("introspect_any: a public client cannot introspect tokens")
	}
	for _, o := range spec.CORSOrigins {
		if strings.Count(o, "/") != 2 || strings.HasSuffix(o, "/") {
			return invalid("cors_origins: %q must be an origin (scheme://host[:port]) without a path", o)
		}
	}
	return nil
}

// Create validates spec, generates a secret for a confidential client and
// stores the client. The secret is returned once ("" for a public client).
func (s *Clients) Create(ctx context.Context, spec ClientSpec) (*storage.Client, string, error) {
	if err := s.checkSpec(spec); err != nil {
		return nil, "", err
	}
	// A client_credentials access token carries the client ID as its
	// subject, so a client ID equal to a user ID would let the client act as
	// that user at userinfo and at resource servers that read sub.
	if userIDPattern.MatchString(spec.ID) {
		return nil, "", invalid("client_id %q must not have the form of a user ID (24 hexadecimal digits)", spec.ID)
	}
	c := &storage.Client{}
	apply(c, spec)
	var secret string
	if !spec.Public {
		var err error
		if secret, err = secrets.Generate(); err != nil {
			return nil, "", err
		}
		c.SecretHash = s.hasher.Hash(secret)
	}
	// Tokens of an earlier client with the same id must not come back to
	// life. Access tokens carry their issue time in whole seconds and count
	// as revoked when issued in the second of TokensValidAfter, so it is set
	// one second back: a token issued right after creation stays valid.
	// NOTE: tokens of a deleted client with the same id issued within the
	// two seconds before this creation would be accepted again.
	c.TokensValidAfter = s.store.Now().UTC().Truncate(time.Second).Add(-time.Second)
	if err := s.store.Clients.Create(ctx, c); err != nil {
		return nil, "", err
	}
	return c, secret, nil
}

// Update replaces the client's settings with spec (the id and the secret stay).
func (s *Clients) Update(ctx context.Context, id string, spec ClientSpec) (*storage.Client, error) {
	spec.ID = id
	if err := s.checkSpec(spec); err != nil {
		return nil, err
	}
	c, err := s.store.Clients.Update(ctx, id, func(c *storage.Client) error {
		wasPublic := c.Public
		apply(c, spec)
		if wasPublic != spec.Public {
			return invalid("public: a client cannot change between public and confidential")
		}
		return nil
	})
	if err == nil {
		s.forget(id)
	}
	return c, err
}

// forget drops the provider's cached copy of the client.
func (s *Clients) forget(id string) {
	if s.revoker != nil {
		s.revoker.ForgetClient(id)
	}
}

// RotateSecret generates a new secret for a confidential client and returns
// it once; the old secret stops working at once.
func (s *Clients) RotateSecret(ctx context.Context, id string) (string, error) {
	secret, err := secrets.Generate()
	if err != nil {
		return "", err
	}
	_, err = s.store.Clients.Update(ctx, id, func(c *storage.Client) error {
		if c.Public {
			return invalid("client_id: a public client has no secret")
		}
		c.SecretHash = s.hasher.Hash(secret)
		return nil
	})
	if err != nil {
		return "", err
	}
	s.forget(id)
	return secret, nil
}

// Delete revokes the client's tokens and removes it.
func (s *Clients) Delete(ctx context.Context, id string) error {
	if _, err := s.store.Clients.Get(ctx, id); err != nil {
		return err
	}
	if s.revoker != nil {
		if err := s.revoker.RevokeClientTokens(ctx, id); err != nil {
			return err
		}
	}
	if err := s.store.Clients.Delete(ctx, id); err != nil {
		return err
	}
	s.forget(id)
	return nil
}

// VerifySecret reports in constant time whether secret is the client's.
func (s *Clients) VerifySecret(c *storage.Client, secret string) bool {
	return c.SecretHash != "" && s.hasher.Equal(c.SecretHash, secret)
}

func apply(c *storage.Client, spec ClientSpec) {
	c.ID = spec.ID
	c.Name = spec.Name
	c.Public = spec.Public
	c.GrantTypes = spec.GrantTypes
	c.Scopes = nonNil(spec.Scopes)
	c.Audiences = spec.Audiences
	c.AccessTokenLifetime = spec.AccessTokenLifetime
	c.RefreshTokenLifetime = spec.RefreshTokenLifetime
	c.IDTokenLifetime = spec.IDTokenLifetime
	c.CORSOrigins = spec.CORSOrigins
	c.IntrospectAny = spec.IntrospectAny
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
