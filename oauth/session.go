package oauth

import (
	"time"

	"github.com/ory/fosite"

	"github.com/averos/averos-auth/oidc"
	"github.com/averos/averos-auth/storage"
)

// session is the fosite session of one token request. The grant handler
// fills it step by step; the ID token handler reads it.
type session struct {
	subject  string
	username string
	// user is the user as read by this request; nil for client credentials.
	user *storage.User
	// userGone is set when the user of a refreshed grant no longer exists.
	userGone bool
	// grant is the grant family; nil for client credentials.
	grant *grantDoc
	// presented is the refresh token sent with a refresh grant.
	presented *refreshDoc
	// nextRefreshToken is the refresh token that the rotation of presented
	// stored, returned in the response.
	nextRefreshToken string
	// remoteIP is the client address recorded as the last-login address.
	remoteIP  string
	expiresAt map[fosite.TokenType]time.Time
}

var (
	_ fosite.Session    = (*session)(nil)
	_ oidc.GrantSession = (*session)(nil)
)

func (s *session) SetExpiresAt(key fosite.TokenType, exp time.Time) {
	if s.expiresAt == nil {
		s.expiresAt = make(map[fosite.TokenType]time.Time, 2)
	}
	s.expiresAt[key] = exp
}

func (s *session) GetExpiresAt(key fosite.TokenType) time.Time { return s.expiresAt[key] }

func (s *session) GetUsername() string { return s.username }

func (s *session) GetSubject() string { return s.subject }

// Clone returns a copy that shares the user and grant documents, which no
// step changes after reading them.
func (s *session) Clone() fosite.Session {
	c := *s
	c.expiresAt = make(map[fosite.TokenType]time.Time, len(s.expiresAt))
	for k, v := range s.expiresAt {
		c.expiresAt[k] = v
	}
	return &c
}

// OIDCGrant returns the user grant for the ID token handler.
func (s *session) OIDCGrant() (oidc.Grant, bool) {
	if s.user == nil || s.grant == nil {
		return oidc.Grant{}, false
	}
	return oidc.Grant{Subject: s.user.ID, AuthTime: s.grant.AuthTime, User: s.user}, true
}
