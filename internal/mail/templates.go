package mail

import (
	"bytes"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	texttemplate "text/template"
)

// Template file suffixes. A message named "reset-password" is rendered from
// reset-password.subject.tmpl, reset-password.text.tmpl and
// reset-password.html.tmpl. The HTML part uses html/template, so values are
// escaped for HTML; the subject and the text part use text/template.
const (
	subjectSuffix = ".subject.tmpl"
	textSuffix    = ".text.tmpl"
	htmlSuffix    = ".html.tmpl"
)

// Content is a rendered message.
type Content struct {
	Subject string
	Text    string
	HTML    string
}

// Templates holds the parsed templates of every message name.
type Templates struct {
	subject map[string]*texttemplate.Template
	text    map[string]*texttemplate.Template
	html    map[string]*htmltemplate.Template
}

// LoadTemplates parses the three templates of each name. A file of the same
// name in overrideDir (when not empty) replaces the one in builtin, one file
// at a time, so an operator can replace only the HTML part.
func LoadTemplates(builtin fs.FS, overrideDir string, names ...string) (*Templates, error) {
	t := &Templates{
		subject: map[string]*texttemplate.Template{},
		text:    map[string]*texttemplate.Template{},
		html:    map[string]*htmltemplate.Template{},
	}
	for _, name := range names {
		src, err := readTemplate(builtin, overrideDir, name+subjectSuffix)
		if err != nil {
			return nil, err
		}
		if t.subject[name], err = texttemplate.New(name + subjectSuffix).Parse(src); err != nil {
			return nil, fmt.Errorf("mail: parse template %s: %w", name+subjectSuffix, err)
		}
		if src, err = readTemplate(builtin, overrideDir, name+textSuffix); err != nil {
			return nil, err
		}
		if t.text[name], err = texttemplate.New(name + textSuffix).Parse(src); err != nil {
			return nil, fmt.Errorf("mail: parse template %s: %w", name+textSuffix, err)
		}
		if src, err = readTemplate(builtin, overrideDir, name+htmlSuffix); err != nil {
			return nil, err
		}
		if t.html[name], err = htmltemplate.New(name + htmlSuffix).Parse(src); err != nil {
			return nil, fmt.Errorf("mail: parse template %s: %w", name+htmlSuffix, err)
		}
	}
	return t, nil
}

func readTemplate(builtin fs.FS, overrideDir, file string) (string, error) {
	if overrideDir != "" {
		path := filepath.Join(overrideDir, file)
		b, err := os.ReadFile(path)
		if err == nil {
			return string(b), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("mail: read template override %s: %w", path, err)
		}
	}
	b, err := fs.ReadFile(builtin, file)
	if err != nil {
		return "", fmt.Errorf("mail: read built-in template %s: %w", file, err)
	}
	return string(b), nil
}

// Render executes the templates of name with data. Line breaks in the
// subject become spaces, so no value can add a header line.
func (t *Templates) Render(name string, data any) (Content, error) {
	subjectTmpl, ok := t.subject[name]
	if !ok {
		return Content{}, fmt.Errorf("mail: unknown message template %q", name)
	}
	var subject, text, html bytes.Buffer
	if err := subjectTmpl.Execute(&subject, data); err != nil {
		return Content{}, fmt.Errorf("mail: render %s%s: %w", name, subjectSuffix, err)
	}
	if err := t.text[name].Execute(&text, data); err != nil {
		return Content{}, fmt.Errorf("mail: render %s%s: %w", name, textSuffix, err)
	}
	if err := t.html[name].Execute(&html, data); err != nil {
		return Content{}, fmt.Errorf("mail: render %s%s: %w", name, htmlSuffix, err)
	}
	oneLine := strings.Join(strings.Fields(subject.String()), " ")
	return Content{Subject: oneLine, Text: text.String(), HTML: html.String()}, nil
}
