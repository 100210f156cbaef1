package configs

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ConfigEnv names the environment variable that gives the configuration file path when
// the --config flag is not set.
const ConfigEnv = EnvPrefix + "CONFIG"

// MongoDBURIEnv is the standard environment variable for a MongoDB connection string.
// AVEROS_AUTH_MONGODB_URI takes precedence over it when both are set.
const MongoDBURIEnv = "MONGODB_URI"

// Flags holds the command-line flags registered by BindFlags. Flag values are parsed into
// a staging Config when the flag set is parsed; Load copies only the flags that were set.
type Flags struct {
	set        *flag.FlagSet
	configPath string
	staged     Config
}

// BindFlags registers on fs one flag per option, named by the option's yaml path
// (--listen, --log.level, --tokens.access-token-lifetime ...), and the --config flag.
// A list flag takes comma-separated items and may be repeated; its items replace the list
// from the other sources.
func BindFlags(fs *flag.FlagSet) *Flags {
	flags := &Flags{set: fs, staged: Default()}
	fs.StringVar(&flags.configPath, "config", "",
		"path of the YAML configuration `file` (env "+ConfigEnv+")")

	root := reflect.ValueOf(&flags.staged)
	for _, o := range allOptions() {
		usage := o.usage + " (env " + o.env() + ")"
		if o.secret != "" {
			usage += "; prefer the file or environment because flags are visible to other users"
		}
		fs.Var(&optionFlag{field: o.field(root), valueName: o.valueName()}, o.path, usage)
	}
	return flags
}

// optionFlag is the flag.Value of one option.
type optionFlag struct {
	field reflect.Value
	// listSet is true once the flag was given, so that a repeated list flag appends to
	// its own items instead of to the default.
	listSet   bool
	valueName string
}

// ValueName returns the name of the flag's value in help text, such as host:port,
// duration or list (ListValueName), and "" for a bool flag.
func (f *optionFlag) ValueName() string { return f.valueName }

func (f *optionFlag) String() string {
	if !f.field.IsValid() {
		return "" // flag.PrintDefaults calls String on a zero optionFlag.
	}
	return formatText(f.field)
}

func (f *optionFlag) Set(text string) error {
	if f.field.Kind() != reflect.Slice {
		return setText(f.field, text)
	}
	items := splitList(text)
	if f.listSet {
		items = append(f.field.Interface().([]string), items...)
	}
	f.field.Set(reflect.ValueOf(items))
	f.listSet = true
	return nil
}

func (f *optionFlag) IsBoolFlag() bool {
	return f.field.IsValid() && f.field.Kind() == reflect.Bool
}

// Load builds the configuration from, in rising precedence, Default, the YAML file named
// by --config (or by the AVEROS_AUTH_CONFIG environment variable), the environment
// variables in environ (os.Environ form), and the flags that were set on the parsed flag
// set. flags may be nil.
//
// When no issuer is configured, Load sets Issuer to http://localhost:PORT, with PORT from
// Listen, and sets IssuerDerived. A configured issuer keeps its bytes, except that one
// trailing slash is removed.
//
// Load returns every problem found in the file, the environment and the validation
// together in one *ValidationError. Other errors, such as an unreadable file or invalid
// YAML syntax, are returned as they occur.
func Load(flags *Flags, environ []string) (*Config, error) {
	cfg := Default()
	env := environMap(environ)

	path, fromFlag := flags.configFile()
	if !fromFlag {
		path = env[ConfigEnv]
	}
	var problems []string
	if path != "" {
		fileProblems, err := loadFile(path, &cfg)
		if err != nil {
			return nil, err
		}
		problems = append(problems, fileProblems...)
		cfg.File = path
	}

	problems = append(problems, applyEnv(&cfg, env)...)
	flags.apply(&cfg)
	cfg.normalizeIssuer()

	problems = append(problems, cfg.problems()...)
	if len(problems) > 0 {
		return nil, &ValidationError{Problems: problems}
	}
	return &cfg, nil
}

// configFile returns the --config value and whether the flag was set.
func (f *Flags) configFile() (string, bool) {
	if f == nil {
		return "", false
	}
	set := false
	f.set.Visit(func(fl *flag.Flag) {
		if fl.Name == "config" {
			set = true
		}
	})
	return f.configPath, set
}

// apply copies the options whose flags were set into cfg.
func (f *Flags) apply(cfg *Config) {
	if f == nil {
		return
	}
	staged := reflect.ValueOf(&f.staged)
	target := reflect.ValueOf(cfg)
	f.set.Visit(func(fl *flag.Flag) {
		o, ok := lookupOption(fl.Name)
		if !ok {
			return // --config, or a flag that another package registered on fs
		}
		o.field(target).Set(o.field(staged))
	})
}

// normalizeIssuer removes one trailing slash from a configured issuer, or derives the
// issuer from the listen port when none is configured and the port is fixed.
func (c *Config) normalizeIssuer() {
	if c.Issuer != "" {
		c.Issuer = strings.TrimSuffix(c.Issuer, "/")
		return
	}
	port, err := listenPort(c.Listen)
	if err != nil || port == 0 {
		return // Validate reports the listen address.
	}
	c.Issuer = "http://localhost:" + strconv.Itoa(port)
	c.IssuerDerived = true
}

// environMap turns os.Environ entries into a map; a later entry wins over an earlier one.
func environMap(environ []string) map[string]string {
	env := make(map[string]string, len(environ))
	for _, entry := range environ {
		name, value, ok := strings.Cut(entry, "=")
		if ok {
			env[name] = value
		}
	}
	return env
}

// applyEnv sets the options named by AVEROS_AUTH_* variables, and the MongoDB URI from
// MONGODB_URI when AVEROS_AUTH_MONGODB_URI is unset. An AVEROS_AUTH_* variable that
// matches no option is a problem, since it is most likely a misspelled name.
func applyEnv(cfg *Config, env map[string]string) []string {
	var problems []string
	root := reflect.ValueOf(cfg)
	known := map[string]bool{ConfigEnv: true}

	for _, o := range allOptions() {
		name := o.env()
		known[name] = true
		text, ok := env[name]
		if !ok && o.path == "mongodb-uri" {
			text, ok = env[MongoDBURIEnv]
			name = MongoDBURIEnv
		}
		if !ok {
			continue
		}
		if err := setText(o.field(root), text); err != nil {
			problems = append(problems, fmt.Sprintf("environment variable %s: %s: invalid value %s: %v",
				name, o.path, displayValue(o, text), err))
		}
	}

	var unknown []string
	for name := range env {
		if strings.HasPrefix(name, EnvPrefix) && !known[name] {
			unknown = append(unknown, name)
		}
	}
	slices.Sort(unknown)
	for _, name := range unknown {
		problems = append(problems, fmt.Sprintf(
			"environment variable %s: unknown option: no option maps to this name; "+
				"see averos-auth.example.yaml for the option list", name))
	}
	return problems
}

// displayValue returns text quoted for an error message, hidden when the option is secret.
func displayValue(o option, text string) string {
	switch o.secret {
	case secretValue:
		return redactedMark
	case secretURI:
		return strconv.Quote(redactURI(text))
	default:
		return strconv.Quote(text)
	}
}

// loadFile decodes the YAML file at path over cfg, rejecting unknown keys. It returns the
// decoding problems, such as an unknown option or a value of the wrong type, and an error
// when the file cannot be read or is not valid YAML.
func loadFile(path string, cfg *Config) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read configuration file: %w", err)
	}

	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse configuration file %s: %w", path, err)
	}
	lines := make(map[int]lineEntry)
	mapLines(&doc, "", lines)

	decoder := yaml.NewDecoder(bytes.NewReader(data))
	decoder.KnownFields(true)
	err = decoder.Decode(cfg)
	if err == nil || errors.Is(err, io.EOF) {
		return nil, nil
	}
	var typeErr *yaml.TypeError
	if !errors.As(err, &typeErr) {
		return nil, fmt.Errorf("parse configuration file %s: %w", path, err)
	}
	problems := make([]string, 0, len(typeErr.Errors))
	for _, msg := range typeErr.Errors {
		problems = append(problems, describeYAMLError(path, msg, lines))
	}
	return problems, nil
}

// lineEntry is the option path and node found on one line of the configuration file.
type lineEntry struct {
	path string
	node *yaml.Node
}

// mapLines records, for each line of the document, the yaml path of the first option
// value or key on it. Decoding errors name only a line, and this map turns the line back
// into an option path. A value is recorded before its key, so that a key and its scalar
// value on one line map to the value node.
func mapLines(n *yaml.Node, path string, lines map[int]lineEntry) {
	record := func(node *yaml.Node, path string) {
		if _, ok := lines[node.Line]; !ok {
			lines[node.Line] = lineEntry{path: path, node: node}
		}
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, child := range n.Content {
			mapLines(child, path, lines)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, value := n.Content[i], n.Content[i+1]
			childPath := key.Value
			if path != "" {
				childPath = path + "." + key.Value
			}
			_, leaf := lookupOption(childPath)
			switch {
			case leaf && value.Kind == yaml.SequenceNode:
				record(value, childPath)
				for _, item := range value.Content {
					record(item, childPath)
				}
			case leaf || value.Kind == yaml.ScalarNode || value.Kind == yaml.AliasNode:
				record(value, childPath)
			default:
				mapLines(value, childPath, lines)
			}
			record(key, childPath)
		}
	default:
		// A sequence or scalar where a section of options is expected.
		record(n, path)
	}
}

var yamlErrorPattern = regexp.MustCompile(`^line (\d+): (.*)$`)

// describeYAMLError rewrites one yaml.TypeError message so that it names the option path
// and the accepted values instead of Go types.
func describeYAMLError(file, msg string, lines map[int]lineEntry) string {
	m := yamlErrorPattern.FindStringSubmatch(msg)
	if m == nil {
		return fmt.Sprintf("configuration file %s: %s", file, msg)
	}
	line, _ := strconv.Atoi(m[1])
	entry, ok := lines[line]
	if !ok {
		return fmt.Sprintf("configuration file %s: %s", file, msg)
	}
	prefix := fmt.Sprintf("configuration file %s line %d: %s", file, line, entry.path)

	if strings.Contains(m[2], "not found in type") {
		return prefix + ": unknown option; see averos-auth.example.yaml for the option list"
	}
	o, ok := lookupOption(entry.path)
	if !ok {
		// A scalar or list where a section of options is expected.
		return prefix + ": invalid value: expected a mapping of options"
	}
	value := "of YAML kind " + nodeKind(entry.node)
	if entry.node.Kind == yaml.ScalarNode {
		value = displayValue(o, entry.node.Value)
	}
	return fmt.Sprintf("%s: invalid value %s: expected %s", prefix, value, expected(o.typ))
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "sequence"
	case yaml.AliasNode:
		return "alias"
	default:
		return "scalar"
	}
}
