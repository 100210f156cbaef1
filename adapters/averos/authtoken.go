package averos

import (
	"time"

	"github.com/averos/averos-auth/storage"
)

// userView is the user as the Averos client reads it: the fields of its
// User model and of the auth_token object, without any secret or hash.
// Empty optional strings are null where the client tests for null.
type userView struct {
	ID              string   `json:"_id"`
	UserName        string   `json:"userName"`
	Email           string   `json:"email"`
	FirstName       string   `json:"firstName"`
	LastName        string   `json:"lastName"`
	Gender          string   `json:"gender,omitempty"`
	Birthdate       string   `json:"birthdate,omitempty"`
	City            string   `json:"city,omitempty"`
	About           string   `json:"about"`
	Image           *string  `json:"image"`
	ProfilePicture  *string  `json:"profilePicture"`
	ProfileLanguage *string  `json:"profileLanguage"`
	Roles           []string `json:"roles"`

	AccountVerified bool `json:"accountVerified"`
	// IsEmailVerified repeats AccountVerified under the name of the Averos
	// documentation; an account is verified by its email link.
	IsEmailVerified bool `json:"isEmailVerified"`
	IsAccountLocked bool `json:"isAccountLocked"`

	LastLoginDate      *time.Time `json:"lastLoginDate"`
	LastLoginIPAddress string     `json:"lastLoginIPAddress,omitempty"`
	CreatedAt          time.Time  `json:"createdAt"`
	UpdatedAt          time.Time  `json:"updatedAt"`
}

// authToken is the auth_token object: the user plus the access token. The
// client stores it verbatim and echoes it to the server, so it never carries
// the refresh token.
type authToken struct {
	Token string `json:"token"`
	userView
	// IPAddress is the address this token was requested from.
	IPAddress string `json:"ipAddress,omitempty"`
}

// authTokenResponse is the body of /auth/login and /auth/rt/.
type authTokenResponse struct {
	AuthToken authToken `json:"auth_token"`
}

func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func newUserView(u *storage.User, now time.Time) userView {
	roles := u.Roles
	if roles == nil {
		roles = []string{}
	}
	return userView{
		ID:                 u.ID,
		UserName:           u.UserName,
		Email:              u.Email,
		FirstName:          u.FirstName,
		LastName:           u.LastName,
		Gender:             u.Gender,
		Birthdate:          u.Birthdate,
		City:               u.City,
		About:              u.About,
		Image:              nullIfEmpty(u.Image),
		ProfilePicture:     nullIfEmpty(u.Image),
		ProfileLanguage:    nullIfEmpty(u.ProfileLanguage),
		Roles:              roles,
		AccountVerified:    u.AccountVerified,
		IsEmailVerified:    u.AccountVerified,
		IsAccountLocked:    u.IsLocked(now),
		LastLoginDate:      u.LastLoginAt,
		LastLoginIPAddress: u.LastLoginIP,
		CreatedAt:          u.CreatedAt,
		UpdatedAt:          u.UpdatedAt,
	}
}

func newAuthTokenResponse(u *storage.User, accessToken, ip string,
	now time.Time) authTokenResponse {
	return authTokenResponse{AuthToken: authToken{
		Token:     accessToken,
		userView:  newUserView(u, now),
		IPAddress: ip,
	}}
}
