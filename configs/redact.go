package configs

import (
	"reflect"
	"strconv"
	"strings"
)

// redactedMark replaces a secret value in redacted output and error messages.
const redactedMark = "[redacted]"

// Redacted returns the options as a map from yaml path to value, for logging the effective
// configuration. A secret that is set becomes "[redacted]", and the password inside
// mongodb-uri becomes "xxxxx". Durations are strings such as "15m", and lists are []string.
func (c Config) Redacted() map[string]any {
	root := reflect.ValueOf(&c)
	out := make(map[string]any, len(allOptions()))
	for _, o := range allOptions() {
		out[o.path] = redactedValue(o, o.field(root))
	}
	return out
}

func redactedValue(o option, field reflect.Value) any {
	switch {
	case o.secret == secretValue:
		if field.String() == "" {
			return ""
		}
		return redactedMark
	case o.secret == secretURI:
		return redactURI(field.String())
	case field.Type() == durationType:
		return formatText(field)
	case field.Kind() == reflect.Slice:
		return append([]string{}, field.Interface().([]string)...)
	default:
		return field.Interface()
	}
}

// String returns the options on one line as path=value pairs, with secrets redacted as in
// Redacted. It makes fmt and zap.Any print a Config without its secrets.
func (c Config) String() string {
	root := reflect.ValueOf(&c)
	var b strings.Builder
	for i, o := range allOptions() {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(o.path)
		b.WriteByte('=')

		var text string
		switch value := redactedValue(o, o.field(root)).(type) {
		case string:
			text = value
		case []string:
			text = strings.Join(value, ",")
		default:
			text = formatText(reflect.ValueOf(value))
		}
		if text == "" || strings.ContainsAny(text, " \t\n\"=") {
			text = strconv.Quote(text)
		}
		b.WriteString(text)
	}
	return b.String()
}

// GoString makes the %#v verb print the redacted form as well.
func (c Config) GoString() string {
	return "configs.Config{" + c.String() + "}"
}

// redactURI replaces the password in the user information of a URI with "xxxxx". It
// treats everything between the first colon and the last "@" after the scheme as the
// password, so a malformed URI is redacted too much rather than too little.
func redactURI(uri string) string {
	start := 0
	if i := strings.Index(uri, "://"); i >= 0 {
		start = i + len("://")
	}
	rest := uri[start:]
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return uri
	}
	colon := strings.Index(rest[:at], ":")
	if colon < 0 {
		return uri // a user name without a password
	}
	return uri[:start] + rest[:colon] + ":xxxxx" + rest[at:]
}
