package averos

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/averos/averos-auth/internal/mail"
	"github.com/averos/averos-auth/storage"
)

// templateFS holds the built-in email templates; files of the same name in
// the smtp.templates-dir directory replace them.
//
//go:embed templates/*.tmpl
var templateFS embed.FS

// Front-end routes of the Averos client that read the token from the query.
const (
	verifyAccountPath  = "/account/vaccount"
	verifyAccountParam = "vt"
	resetPasswordPath  = "/account/rp"
	resetPasswordParam = "rpt"
)

// emailData is the data passed to the email templates.
type emailData struct {
	UserName  string
	FirstName string
	// Link is the front-end URL with the one-time token.
	Link string
	// ValidFor is the link's lifetime in words, such as "24 hours".
	ValidFor string
}

func loadTemplates(overrideDir string) (*mail.Templates, error) {
	builtin, err := fs.Sub(templateFS, "templates")
	if err != nil {
		return nil, err
	}
	return mail.LoadTemplates(builtin, overrideDir, kindVerifyAccount, kindResetPassword)
}

// link returns the front-end URL of path with the token as query parameter.
func (a *Adapter) link(path, param, token string) string {
	base := strings.TrimRight(a.opts.FrontendURL, "/")
	return base + path + "?" + param + "=" + url.QueryEscape(token)
}

// sendOneTimeLink issues a one-time token of kind for u and queues the email
// that carries its link. Delivery happens later; its failures are logged by
// the mailer.
func (a *Adapter) sendOneTimeLink(ctx context.Context, kind string, u *storage.User) error {
	lifetime, path, param := a.opts.VerificationTokenLifetime, verifyAccountPath, verifyAccountParam
	if kind == kindResetPassword {
		lifetime, path, param = a.opts.ResetTokenLifetime, resetPasswordPath, resetPasswordParam
	}
	token, err := a.oneTime.issue(ctx, kind, u.ID, lifetime)
	if err != nil {
		return err
	}
	content, err := a.templates.Render(kind, emailData{
		UserName:  u.UserName,
		FirstName: u.FirstName,
		Link:      a.link(path, param, token),
		ValidFor:  formatLifetime(lifetime),
	})
	if err != nil {
		return err
	}
	return a.mailer.Send(u.Email, content, zap.String("email", kind), zap.String("user_id", u.ID))
}

// formatLifetime writes d in whole hours or minutes when it is one.
func formatLifetime(d time.Duration) string {
	unit := func(n int64, name string) string {
		if n == 1 {
			return "1 " + name
		}
		return fmt.Sprintf("%d %ss", n, name)
	}
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return unit(int64(d/time.Hour), "hour")
	case d >= time.Minute && d%time.Minute == 0:
		return unit(int64(d/time.Minute), "minute")
	default:
		return d.Round(time.Second).String()
	}
}
