// Package mail renders and delivers the emails the server sends (account
// verification and password reset links).
//
// A message is rendered from three templates, a subject, a text part and an
// HTML part, into one multipart/alternative MIME message when Send is
// called, so a broken template fails the caller at once. Delivery runs on a
// background worker: over SMTP when a host is configured (plain, STARTTLS or
// implicit TLS, with optional AUTH PLAIN), otherwise into an outbox directory
// as one .eml file per message. A delivery that fails with a temporary error
// is retried with exponential backoff; a permanent SMTP error (5xx) is
// logged and dropped.
//
// Files: templates.go loads built-in templates and their overrides;
// message.go builds the MIME message; smtp.go and outbox.go are the two
// transports; mailer.go holds the queue and the retry worker. The mailtest
// package runs an SMTP server for tests.
package mail
