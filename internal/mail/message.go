package mail

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
)

// buildMessage returns the RFC 5322 message with CRLF line endings: the
// headers and a multipart/alternative body with a text part and an HTML
// part, both UTF-8 in quoted-printable.
func buildMessage(from, to *mail.Address, c Content, date time.Time) ([]byte, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	parts := []struct{ contentType, text string }{
		{"text/plain; charset=utf-8", c.Text},
		{"text/html; charset=utf-8", c.HTML},
	}
	for _, p := range parts {
		header := textproto.MIMEHeader{}
		header.Set("Content-Type", p.contentType)
		header.Set("Content-Transfer-Encoding", "quoted-printable")
		w, err := mw.CreatePart(header)
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write([]byte(p.text)); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}

	var msg bytes.Buffer
	writeHeader := func(name, value string) {
		msg.WriteString(name + ": " + value + "\r\n")
	}
	writeHeader("From", from.String())
	writeHeader("To", to.String())
	writeHeader("Subject", mime.QEncoding.Encode("utf-8", c.Subject))
	writeHeader("Date", date.Format(time.RFC1123Z))
	writeHeader("Message-ID", messageID(from.Address))
	writeHeader("MIME-Version", "1.0")
	writeHeader("Content-Type", "multipart/alternative; boundary=\""+mw.Boundary()+"\"")
	msg.WriteString("\r\n")
	msg.Write(body.Bytes())
	return msg.Bytes(), nil
}

// messageID returns a unique Message-ID in the sender's domain.
func messageID(sender string) string {
	domain := "localhost"
	if _, d, ok := strings.Cut(sender, "@"); ok && d != "" {
		domain = d
	}
	return fmt.Sprintf("<%s@%s>", strings.ToLower(rand.Text()), domain)
}
