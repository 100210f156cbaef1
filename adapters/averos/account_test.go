package averos

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/averos/averos-auth/configs"
	"github.com/averos/averos-auth/internal/mail/mailtest"
	"github.com/averos/averos-auth/storage"
)

// registrationForm is the register form's value as the client posts it.
func registrationForm() map[string]any {
	return map[string]any{
		"userName":        "grace",
		"email":           "Grace@Example.com",
		"password":        "Compiler1952",
		"confirmPassword": "Compiler1952",
		"firstName":       "Grace",
		"lastName":        "Hopper",
		"gender":          "Female",
		"birthdate":       "1906-12-08T23:00:00.000Z",
		"city":            "USA",
	}
}

func resetBody(pw, token string) map[string]string {
	return map[string]string{"password": pw, "token": token}
}

func emailBody(addr string) map[string]string { return map[string]string{"email": addr} }

func TestRegisterAndVerifyThroughSMTP(t *testing.T) {
	e := newEnv(t)
	b := e.browser(t)

	resp := b.post(t, "/auth/register", registrationForm())
	assertStatus(t, resp, http.StatusCreated)
	created := resp.json(t)
	for field, want := range map[string]any{
		"userName": "grace", "email": "grace@example.com", "firstName": "Grace", "lastName": "Hopper",
		"gender": "Female", "city": "USA", "birthdate": "1906-12-08T23:00:00.000Z", "accountVerified": false,
	} {
		if created[field] != want {
			t.Errorf("created.%s = %v, want %v", field, created[field], want)
		}
	}
	for _, secret := range []string{"password", "confirmPassword", "passwordHash", "Compiler1952", "argon2"} {
		if strings.Contains(resp.text(), secret) {
			t.Errorf("registration response contains %q", secret)
		}
	}
	id, _ := created["_id"].(string)
	stored := e.user(t, id)
	if stored.AccountVerified || stored.UserName != "grace" || stored.Gender != "Female" {
		t.Errorf("stored user = %+v", stored)
	}

	msg := e.nextEmail(t)
	if msg.to != "grace@example.com" || msg.subject != "Verify your account" {
		t.Errorf("email to %q with subject %q", msg.to, msg.subject)
	}
	if !strings.Contains(msg.text, "Grace") || !strings.Contains(msg.text, "24 hours") {
		t.Errorf("text part = %q, want the first name and the lifetime", msg.text)
	}
	token := msg.linkToken(t, "vt")

	assertCode(t, b.post(t, "/auth/vaccount", map[string]string{"token": token}), codeSuccess)
	if !e.user(t, id).AccountVerified {
		t.Error("stored user is not verified")
	}
	assertCode(t, b.post(t, "/auth/vaccount", map[string]string{"token": token}), codeInvalid)

	assertStatus(t, b.login(t, "grace", "Compiler1952"), http.StatusOK)
	if b.authToken["accountVerified"] != true || b.authToken["isEmailVerified"] != true {
		t.Errorf("auth_token after verification = %v", b.authToken)
	}
}

func TestRegisterSurvivesMailFailure(t *testing.T) {
	e := newEnvWithSMTP(t, mailtest.Options{FailFirst: 2})
	resp := e.browser(t).post(t, "/auth/register", registrationForm())
	assertStatus(t, resp, http.StatusCreated)

	msg := e.nextEmail(t)
	if msg.to != "grace@example.com" {
		t.Errorf("email to %q", msg.to)
	}
	if e.smtp.Rejected() != 2 {
		t.Errorf("rejected deliveries = %d, want 2", e.smtp.Rejected())
	}
	if n := len(e.logs.FilterMessage("email delivery failed; retrying").All()); n != 2 {
		t.Errorf("retry log entries = %d, want 2", n)
	}
}

func TestRegisterOutboxWithoutSMTP(t *testing.T) {
	dataDir := t.TempDir()
	e := newEnv(t, func(o *Options) { o.SMTP = configs.SMTPConfig{}; o.DataDir = dataDir })
	resp := e.browser(t).post(t, "/auth/register", registrationForm())
	assertStatus(t, resp, http.StatusCreated)

	outbox := filepath.Join(dataDir, "outbox")
	var files []os.DirEntry
	deadline := time.Now().Add(mailWait)
	for len(files) == 0 && time.Now().Before(deadline) {
		files, _ = os.ReadDir(outbox)
		time.Sleep(5 * time.Millisecond)
	}
	if len(files) != 1 || !strings.HasSuffix(files[0].Name(), ".eml") {
		t.Fatalf("outbox holds %v, want one .eml file", files)
	}
	info, _ := files[0].Info()
	if info.Mode().Perm() != 0o600 {
		t.Errorf("file mode = %v, want 0600", info.Mode().Perm())
	}
	if dir, _ := os.Stat(outbox); dir.Mode().Perm() != 0o700 {
		t.Errorf("outbox mode = %v, want 0700", dir.Mode().Perm())
	}
	data, err := os.ReadFile(filepath.Join(outbox, files[0].Name()))
	if err != nil {
		t.Fatal(err)
	}
	// Quoted-printable writes the link's '=' as "=3D".
	if !strings.Contains(string(data), "/account/vaccount?vt=3D") {
		t.Error("the .eml file lacks the verification link")
	}

	deadline = time.Now().Add(mailWait)
	written := e.logs.FilterMessage("email written to outbox")
	for written.Len() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	entries := e.logs.FilterMessage("email written to outbox").All()
	if len(entries) != 1 || entries[0].ContextMap()["path"] != filepath.Join(outbox, files[0].Name()) {
		t.Errorf("outbox log entries = %v, want one with the file path", entries)
	}
	for _, entry := range e.logs.All() {
		for _, v := range entry.ContextMap() {
			if s, ok := v.(string); ok && strings.Contains(s, "vt=") {
				t.Errorf("log entry %q contains the link", entry.Message)
			}
		}
	}
}

func TestRegisterDuplicate(t *testing.T) {
	e := newEnv(t)
	b := e.browser(t)
	assertStatus(t, b.post(t, "/auth/register", registrationForm()), http.StatusCreated)
	e.nextEmail(t)

	sameName := registrationForm()
	sameName["userName"], sameName["email"] = "GRACE", "other@example.com"
	resp := b.post(t, "/auth/register", sameName)
	assertStatus(t, resp, http.StatusConflict)
	assertText(t, resp, "userName is already taken")

	sameEmail := registrationForm()
	sameEmail["userName"], sameEmail["email"] = "grace2", "GRACE@example.COM"
	resp = b.post(t, "/auth/register", sameEmail)
	assertStatus(t, resp, http.StatusConflict)
	assertText(t, resp, "email is already registered")

	users, err := e.store.Users.List(context.Background(), nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 1 {
		t.Errorf("stored users = %d, want 1", len(users))
	}
	e.waitBackground()
	e.noEmail(t)
}

func TestRegisterInvalidInput(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name   string
		change func(map[string]any)
		want   string
	}{
		{"missing user name", func(f map[string]any) { delete(f, "userName") }, "userName is required"},
		{"numeric email", func(f map[string]any) { f["email"] = 42 }, "email must be a string"},
		{"bad email", func(f map[string]any) { f["email"] = "grace" }, "email must be a valid email"},
		{"password mismatch", func(f map[string]any) { f["confirmPassword"] = "Compiler1953" }, "confirmPassword must match password"},
		{"missing confirmation", func(f map[string]any) { delete(f, "confirmPassword") }, "confirmPassword is required"},
		{"short password", func(f map[string]any) { f["password"], f["confirmPassword"] = "Ab1", "Ab1" }, "at least 8 characters"},
		{"no digit", func(f map[string]any) { f["password"], f["confirmPassword"] = "Compilers", "Compilers" }, "a digit"},
		{"password equals name", func(f map[string]any) {
			f["userName"], f["password"], f["confirmPassword"] = "Grace1906a", "gRACE1906A", "gRACE1906A"
		}, "must not equal the user name"},
		{"bad gender", func(f map[string]any) { f["gender"] = "Other" }, "gender must be one of: Male, Female"},
		{"bad birthdate", func(f map[string]any) { f["birthdate"] = "Sat Dec 09 1906" }, "birthdate must be an ISO-8601 date"},
		{"future birthdate", func(f map[string]any) { f["birthdate"] = "2999-01-01" }, "birthdate must be in the past"},
		{"user name with at sign", func(f map[string]any) { f["userName"] = "grace@home" }, "userName must be 3 to 64"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			form := registrationForm()
			tc.change(form)
			resp := e.browser(t).post(t, "/auth/register", form)
			assertStatus(t, resp, http.StatusBadRequest)
			assertText(t, resp, tc.want)
		})
	}
	users, _ := e.store.Users.List(context.Background(), nil, 10)
	if len(users) != 0 {
		t.Errorf("invalid registrations stored %d users", len(users))
	}
}

func TestPasswordResetEndToEnd(t *testing.T) {
	e := newEnv(t)
	u := e.createUser(t, "ada", "ada@example.com", adaPassword)
	b := e.browser(t)
	assertStatus(t, b.login(t, "ada", adaPassword), http.StatusOK)
	oldCookie := b.cookieValue(t)

	// The request page posts only the email.
	reset := e.browser(t)
	assertCode(t, reset.post(t, "/auth/rrp", emailBody("ADA@example.com")), codeSuccess)
	msg := e.nextEmail(t)
	if msg.to != "ada@example.com" || msg.subject != "Reset your password" {
		t.Errorf("email to %q with subject %q", msg.to, msg.subject)
	}
	if !strings.Contains(msg.text, "1 hour") {
		t.Errorf("text part = %q, want the lifetime", msg.text)
	}
	token := msg.linkToken(t, "rpt")

	// A password the policy rejects keeps the token usable.
	resp := reset.post(t, "/auth/rp", resetBody("short", token))
	assertStatus(t, resp, http.StatusBadRequest)
	assertText(t, resp, "at least 8 characters")
	resp = reset.post(t, "/auth/rp", resetBody("ALLUPPER123", token))
	assertStatus(t, resp, http.StatusBadRequest)
	assertText(t, resp, "a lower-case letter")

	e.clock.Advance(time.Millisecond)
	assertCode(t, reset.post(t, "/auth/rp", resetBody("Difference2", token)), codeSuccess)
	assertCode(t, reset.post(t, "/auth/rp", resetBody("Difference3", token)), codeInvalid)

	stored := e.user(t, u.ID)
	if !stored.AccountVerified {
		t.Error("a completed reset did not mark the account verified")
	}
	if stored.PasswordUpdatedAt == nil || !stored.PasswordUpdatedAt.Equal(e.clock.Now()) {
		t.Errorf("PasswordUpdatedAt = %v, want %v", stored.PasswordUpdatedAt, e.clock.Now())
	}

	// The old session is dead: its access token and its refresh token.
	assertStatus(t, b.get(t, "/auth/luroles"), StatusSessionRevoked)
	stale := e.browser(t)
	stale.setCookieValue(t, oldCookie)
	assertStatus(t, stale.refresh(t), http.StatusUnauthorized)

	e.clock.Advance(time.Millisecond)
	assertStatus(t, e.browser(t).login(t, "ada", adaPassword), http.StatusBadRequest)
	fresh := e.browser(t)
	assertStatus(t, fresh.login(t, "ada", "Difference2"), http.StatusOK)
	assertStatus(t, fresh.get(t, "/auth/luroles"), http.StatusOK)
}

func TestPasswordResetUnlocksAccount(t *testing.T) {
	e := newEnv(t)
	e.createUser(t, "ada", "ada@example.com", adaPassword)
	b := e.browser(t)
	for i := 0; i < lockoutLimit; i++ {
		b.login(t, "ada", "Wrong12345")
	}
	assertCode(t, b.post(t, "/auth/rrp", emailBody("ada@example.com")), codeSuccess)
	token := e.nextEmail(t).linkToken(t, "rpt")
	assertCode(t, b.post(t, "/auth/rp", resetBody("Difference2", token)), codeSuccess)

	e.clock.Advance(time.Millisecond)
	assertStatus(t, b.login(t, "ada", "Difference2"), http.StatusOK)
}

func TestPasswordResetRequestUnknownEmail(t *testing.T) {
	e := newEnv(t)
	e.createUser(t, "ada", "ada@example.com", adaPassword)
	b := e.browser(t)

	assertCode(t, b.post(t, "/auth/rrp", emailBody("nobody@example.com")), codeSuccess)
	e.waitBackground()
	e.noEmail(t)
	if len(e.logs.FilterMessage("password reset requested for an unregistered email").All()) != 1 {
		t.Error("the unknown email was not logged")
	}

	resp := b.post(t, "/auth/rrp", map[string]any{"email": 7})
	assertStatus(t, resp, http.StatusBadRequest)
	assertText(t, resp, "email must be a string")
	resp = b.post(t, "/auth/rrp", map[string]any{})
	assertStatus(t, resp, http.StatusBadRequest)
	assertText(t, resp, "email is required")
}

func TestPasswordResetRequestLimit(t *testing.T) {
	e := newEnv(t)
	u := e.createUser(t, "ada", "ada@example.com", adaPassword)
	b := e.browser(t)
	for i := 0; i < maxOutstandingResets+2; i++ {
		assertCode(t, b.post(t, "/auth/rrp", emailBody("ada@example.com")), codeSuccess)
		e.waitBackground()
	}
	for i := 0; i < maxOutstandingResets; i++ {
		e.nextEmail(t)
	}
	n, err := e.adapter.oneTime.outstanding(context.Background(), kindResetPassword, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n != maxOutstandingResets {
		t.Errorf("outstanding reset links = %d, want %d", n, maxOutstandingResets)
	}
	e.noEmail(t)
}

func TestAccountLinksExpire(t *testing.T) {
	e := newEnv(t)
	e.createUser(t, "ada", "ada@example.com", adaPassword)
	b := e.browser(t)
	assertCode(t, b.post(t, "/auth/rrp", emailBody("ada@example.com")), codeSuccess)
	resetToken := e.nextEmail(t).linkToken(t, "rpt")
	assertStatus(t, b.post(t, "/auth/register", registrationForm()), http.StatusCreated)
	verifyToken := e.nextEmail(t).linkToken(t, "vt")

	e.clock.Advance(time.Hour)
	assertCode(t, b.post(t, "/auth/rp", resetBody("Difference2", resetToken)), codeInvalid)
	e.clock.Advance(23 * time.Hour)
	assertCode(t, b.post(t, "/auth/vaccount", map[string]string{"token": verifyToken}), codeInvalid)

	e.clock.Advance(time.Second)
	n, err := e.store.Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n < 2 {
		t.Errorf("sweep removed %d documents, want the 2 expired tokens", n)
	}
}

func TestAccountTokensAreNotInterchangeable(t *testing.T) {
	e := newEnv(t)
	b := e.browser(t)
	assertStatus(t, b.post(t, "/auth/register", registrationForm()), http.StatusCreated)
	verifyToken := e.nextEmail(t).linkToken(t, "vt")

	assertCode(t, b.post(t, "/auth/rp", resetBody("Difference2", verifyToken)), codeInvalid)
	assertCode(t, b.post(t, "/auth/vaccount", map[string]string{"token": ""}), codeInvalid)
	assertCode(t, b.post(t, "/auth/vaccount", map[string]string{"token": "forged"}), codeInvalid)
	assertCode(t, b.post(t, "/auth/vaccount/", map[string]string{"token": verifyToken}), codeSuccess)

	var docs []oneTimeToken
	coll := e.store.Database().Collection(oneTimeCollection)
	cur, err := coll.Find(context.Background(), map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	if err := cur.All(context.Background(), &docs); err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		if strings.Contains(d.ID, verifyToken) {
			t.Error("a token is stored in clear")
		}
	}
}

func TestOneTimeTokenSingleUseUnderConcurrency(t *testing.T) {
	e := newEnv(t)
	u := e.createUser(t, "ada", "ada@example.com", adaPassword)
	ctx := context.Background()
	token, err := e.adapter.oneTime.issue(ctx, kindVerifyAccount, u.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	const n = 50
	var wins, invalid atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			doc, err := e.adapter.oneTime.consume(ctx, kindVerifyAccount, token)
			switch {
			case err == nil && doc.UserID == u.ID:
				wins.Add(1)
			case err == errTokenInvalid:
				invalid.Add(1)
			default:
				t.Errorf("consume: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("successful uses = %d, want exactly 1", wins.Load())
	}
	if invalid.Load() != n-1 {
		t.Errorf("rejected uses = %d, want %d", invalid.Load(), n-1)
	}
}

func TestVerifyAccountConcurrentRequests(t *testing.T) {
	e := newEnv(t)
	b := e.browser(t)
	assertStatus(t, b.post(t, "/auth/register", registrationForm()), http.StatusCreated)
	token := e.nextEmail(t).linkToken(t, "vt")

	const n = 20
	codes := make(chan float64, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := b.post(t, "/auth/vaccount", map[string]string{"token": token})
			if resp.StatusCode == http.StatusOK {
				codes <- resp.json(t)["code"].(float64)
			}
		}()
	}
	wg.Wait()
	close(codes)
	counts := map[float64]int{}
	for c := range codes {
		counts[c]++
	}
	if counts[codeSuccess] != 1 || counts[codeInvalid] != n-1 {
		t.Errorf("codes = %v, want one 1 and %d times -1", counts, n-1)
	}
}

func TestAvailabilityChecks(t *testing.T) {
	e := newEnv(t)
	e.createUser(t, "ada", "ada@example.com", adaPassword)
	b := e.browser(t)

	cases := []struct {
		path string
		want bool
	}{
		{"/auth/users/ada?filter={%20%22userName%22:%22ada%22%20}&compositekeys=createdBy%20updatedBy%20roles", true},
		{"/auth/users/ADA", true},
		{"/auth/users/ada/", true},
		{"/auth/users/grace", false},
		{"/auth/users/email/ada@example.com", true},
		{"/auth/users/email/Ada@Example.com/", true},
		{"/auth/users/email/ada%2Bx@example.com", false},
		{"/auth/users/email/grace@example.com", false},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			resp := b.get(t, tc.path, "inline-loading", "true")
			assertStatus(t, resp, http.StatusOK)
			body := resp.json(t)
			if len(body) != 1 || body["exists"] != tc.want {
				t.Errorf("body = %v, want only exists=%v", body, tc.want)
			}
		})
	}
}

func TestAvailabilityRateLimit(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.AvailabilityRateLimit = 3 })
	b := e.browser(t)
	for i := 0; i < 3; i++ {
		assertStatus(t, b.send(t, http.MethodGet, "/auth/users/u"+strconv.Itoa(i), nil), http.StatusOK)
	}

	resp := b.get(t, "/auth/users/email/x@example.com")
	assertStatus(t, resp, http.StatusTooManyRequests)
	assertText(t, resp, "too many availability checks")
	retry, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || retry < 1 || retry > 20 {
		t.Errorf("Retry-After = %q, want 1 to 20 seconds", resp.Header.Get("Retry-After"))
	}

	e.clock.Advance(time.Duration(retry) * time.Second)
	assertStatus(t, b.get(t, "/auth/users/again"), http.StatusOK)
	assertStatus(t, b.get(t, "/auth/users/again"), http.StatusTooManyRequests)

	// Logins are not counted.
	e.createUser(t, "ada", "ada@example.com", adaPassword)
	assertStatus(t, b.login(t, "ada", adaPassword), http.StatusOK)
}

func TestDisabledUserGetsNoResetLink(t *testing.T) {
	e := newEnv(t)
	u := e.createUser(t, "ada", "ada@example.com", adaPassword)
	if _, err := e.store.Users.Update(context.Background(), u.ID, func(u *storage.User) error {
		u.Disabled = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	assertCode(t, e.browser(t).post(t, "/auth/rrp", emailBody("ada@example.com")), codeSuccess)
	e.waitBackground()
	e.noEmail(t)
}

func TestEmailTemplateOverride(t *testing.T) {
	dir := t.TempDir()
	err := os.WriteFile(filepath.Join(dir, "verify-account.subject.tmpl"), []byte("Welcome {{.UserName}}"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(o *Options) { o.SMTP.TemplatesDir = dir })
	assertStatus(t, e.browser(t).post(t, "/auth/register", registrationForm()), http.StatusCreated)

	msg := e.nextEmail(t)
	if msg.subject != "Welcome grace" {
		t.Errorf("subject = %q, want the override", msg.subject)
	}
	// The parts without an override stay the built-in ones.
	msg.linkToken(t, "vt")
}
