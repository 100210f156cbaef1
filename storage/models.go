package storage

import (
	"time"
)

// User is an account that can sign in with the password grant. Field names
// in JSON follow the Averos client model; bson names are our own.
type User struct {
	ID              string      `bson:"_id" json:"_id"`
	UserName        string      `bson:"userName" json:"userName"`
	Email           string      `bson:"email" json:"email"`
	PasswordHash    string      `bson:"passwordHash" json:"-"`
	FirstName       string      `bson:"firstName,omitempty" json:"firstName,omitempty"`
	LastName        string      `bson:"lastName,omitempty" json:"lastName,omitempty"`
	Gender          string      `bson:"gender,omitempty" json:"gender,omitempty"`
	Birthdate       string      `bson:"birthdate,omitempty" json:"birthdate,omitempty"`
	Telephone       string      `bson:"telephone,omitempty" json:"telephone,omitempty"`
	Mobile          string      `bson:"mobile,omitempty" json:"mobile,omitempty"`
	Fonction        string      `bson:"fonction,omitempty" json:"fonction,omitempty"`
	ProfileLanguage string      `bson:"profileLanguage,omitempty" json:"profileLanguage,omitempty"`
	Image           string      `bson:"image,omitempty" json:"image,omitempty"`
	About           string      `bson:"about,omitempty" json:"about,omitempty"`
	Address         string      `bson:"address,omitempty" json:"address,omitempty"`
	Address2        string      `bson:"address2,omitempty" json:"address2,omitempty"`
	City            string      `bson:"city,omitempty" json:"city,omitempty"`
	Identifier      *Identifier `bson:"identifier,omitempty" json:"identifier,omitempty"`

	// Roles holds role names, as stored in the roles collection.
	Roles []string `bson:"roles" json:"roles"`

	AccountVerified bool `bson:"accountVerified" json:"accountVerified"`
	Disabled        bool `bson:"disabled" json:"disabled"`
	// LockedUntil is set when the failed-login limit was reached; the
	// lockout repository is the authority, this copy is for display.
	LockedUntil *time.Time `bson:"lockedUntil,omitempty" json:"-"`

	LastLoginAt       *time.Time `bson:"lastLoginAt,omitempty" json:"lastLoginDate,omitempty"`
	LastLoginIP       string     `bson:"lastLoginIP,omitempty" json:"lastLoginIPAddress,omitempty"`
	PasswordUpdatedAt *time.Time `bson:"passwordUpdatedAt,omitempty" json:"passwordLastUpdateDate,omitempty"`

	// TokensValidAfter revokes every token of this user issued before it:
	// disabling, locking, deleting the user or resetting the password moves it.
	TokensValidAfter time.Time `bson:"tokensValidAfter" json:"-"`

	CreatedAt time.Time `bson:"createdAt" json:"createdAt"`
	UpdatedAt time.Time `bson:"updatedAt" json:"updatedAt"`
	CreatedBy string    `bson:"createdBy,omitempty" json:"createdBy,omitempty"`
	UpdatedBy string    `bson:"updatedBy,omitempty" json:"updatedBy,omitempty"`

	// Rev is the revision number: 1 after Create, incremented by every
	// write of the repository, and 0 for a document of an older build that
	// has none. Update writes only over the revision it read.
	Rev int64 `bson:"rev" json:"-"`
}

// Identifier is an official identity document number kept on a user profile.
type Identifier struct {
	UniqueID     string `bson:"uniqueID,omitempty" json:"uniqueID,omitempty"`
	UniqueIDType string `bson:"uniqueIdType,omitempty" json:"uniqueIdType,omitempty"`
}

// IsLocked reports whether the display copy of the lock state is in force at now.
func (u *User) IsLocked(now time.Time) bool {
	return u.LockedUntil != nil && now.Before(*u.LockedUntil)
}

// Role is a named set of permissions assigned to users by name.
type Role struct {
	ID          string    `bson:"_id" json:"_id"`
	Name        string    `bson:"name" json:"name"`
	Description string    `bson:"description,omitempty" json:"description,omitempty"`
	CreatedAt   time.Time `bson:"createdAt" json:"createdAt"`
	UpdatedAt   time.Time `bson:"updatedAt" json:"updatedAt"`
	CreatedBy   string    `bson:"createdBy,omitempty" json:"createdBy,omitempty"`
	UpdatedBy   string    `bson:"updatedBy,omitempty" json:"updatedBy,omitempty"`

	// Rev is the revision number, kept as on User.
	Rev int64 `bson:"rev" json:"-"`
}

// Client is a registered OAuth 2.0 client.
type Client struct {
	ID   string `bson:"_id" json:"client_id"`
	Name string `bson:"name,omitempty" json:"client_name,omitempty"`
	// SecretHash is the keyed hash of the client secret; empty for a public client.
	SecretHash string   `bson:"secretHash,omitempty" json:"-"`
	Public     bool     `bson:"public" json:"public"`
	GrantTypes []string `bson:"grantTypes" json:"grant_types"`
	Scopes     []string `bson:"scopes" json:"scopes"`
	Audiences  []string `bson:"audiences,omitempty" json:"audiences,omitempty"`

	// Token lifetimes; zero means the server default.
	AccessTokenLifetime  time.Duration `bson:"accessTokenLifetime,omitempty" json:"access_token_lifetime,omitempty"`
	RefreshTokenLifetime time.Duration `bson:"refreshTokenLifetime,omitempty" json:"refresh_token_lifetime,omitempty"`
	IDTokenLifetime      time.Duration `bson:"idTokenLifetime,omitempty" json:"id_token_lifetime,omitempty"`

	CORSOrigins []string `bson:"corsOrigins,omitempty" json:"cors_origins,omitempty"`
	// IntrospectAny lets the client introspect tokens issued to other clients
	// (a resource server); others only see their own tokens.
	IntrospectAny bool `bson:"introspectAny" json:"introspect_any"`

	// TokensValidAfter revokes every token issued to this client before it.
	TokensValidAfter time.Time `bson:"tokensValidAfter" json:"-"`

	CreatedAt time.Time `bson:"createdAt" json:"created_at"`
	UpdatedAt time.Time `bson:"updatedAt" json:"updated_at"`

	// Rev is the revision number, kept as on User.
	Rev int64 `bson:"rev" json:"-"`
}

// SigningKey is one asymmetric key used to sign tokens. The private part is
// encrypted by the key manager before it reaches storage.
type SigningKey struct {
	ID        string `bson:"_id"` // the JWK kid
	Algorithm string `bson:"alg"`
	// PublicJWK is the public key as JSON Web Key.
	PublicJWK []byte `bson:"publicJwk"`
	// PrivateSealed is the private JWK sealed with AES-256-GCM.
	PrivateSealed []byte `bson:"privateSealed"`
	// ActivatesAt is when the key starts signing; the newest key whose
	// ActivatesAt has passed is the active one.
	ActivatesAt time.Time `bson:"activatesAt"`
	CreatedAt   time.Time `bson:"createdAt"`
	// RetiredAt is when a newer key took over (zero while still newest).
	RetiredAt time.Time `bson:"retiredAt,omitempty"`
	// ExpiresAt is when the key leaves the JWKS: after the last token it
	// signed has expired. Zero while it may still sign.
	ExpiresAt time.Time `bson:"expiresAt,omitempty"`
}
