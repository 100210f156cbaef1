// Package configs defines the configuration of averos-auth and builds it from its sources.
//
// Every option has a yaml path such as tokens.access-token-lifetime. The sources, in
// rising precedence, are:
//
//   - Default, the built-in values;
//   - the YAML file named by --config or AVEROS_AUTH_CONFIG, where an unknown key is an
//     error;
//   - environment variables, named AVEROS_AUTH_ plus the path in upper case with dots
//     and dashes turned into underscores (AVEROS_AUTH_TOKENS_ACCESS_TOKEN_LIFETIME), and
//     MONGODB_URI for mongodb-uri;
//   - command-line flags named by the path (--tokens.access-token-lifetime).
//
// Durations use Go syntax ("15m", "720h"). Lists are comma-separated in the environment
// and in flags. averos-auth.example.yaml documents every option with its default.
//
// Files:
//
//   - config.go: the Config type and Default.
//   - options.go: the option list derived from the yaml tags, and text parsing.
//   - load.go: BindFlags and Load, which merge the sources.
//   - validate.go: Validate and ValidationError, which report every problem at once.
//   - secret.go: EnsureSystemSecret and ReadSystemSecret, the system secret's sources for
//     messages, Dev and DevReasons.
//   - redact.go: Redacted and String, the forms of Config that are safe to log.
package configs
