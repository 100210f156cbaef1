package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/averos/averos-auth/configs"
)

// command is a subcommand's flag set plus the configuration flags.
type command struct {
	name  string
	fs    *flag.FlagSet
	flags *configs.Flags
	// own lists the subcommand's own flag names, shown first in its help.
	own []string
	// stdout receives the help when it is requested.
	stdout io.Writer
	// undefinedFlagHints maps a flag name that the command does not define,
	// such as password, to advice added to the parse error.
	undefinedFlagHints map[string]string
}

func newCommand(name, summary string, e env) *command {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	c := &command{name: name, fs: fs, stdout: e.stdout}
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: averos-auth %s [flags]\n\n%s\n", name, summary)
		if len(c.own) > 0 {
			fmt.Fprintln(out, "\nFlags:")
			for _, n := range c.own {
				printFlag(out, fs.Lookup(n))
			}
		}
		if name == "serve" {
			fmt.Fprintln(out, "\nFlags (a flag overrides the same option from --config FILE and from AVEROS_AUTH_* variables):")
		} else {
			fmt.Fprintln(out, "\nConfiguration flags (the same as serve; also from --config FILE and AVEROS_AUTH_* variables):")
		}
		fs.VisitAll(func(f *flag.Flag) {
			for _, n := range c.own {
				if n == f.Name {
					return
				}
			}
			printFlag(out, f)
		})
	}
	return c
}

// ownString registers a subcommand flag.
func (c *command) ownString(name, usage string) *string {
	c.own = append(c.own, name)
	return c.fs.String(name, "", usage)
}

func (c *command) ownBool(name, usage string) *bool {
	c.own = append(c.own, name)
	return c.fs.Bool(name, false, usage)
}

// ownList registers a repeatable flag whose items may also be comma-separated.
func (c *command) ownList(name, usage string) *[]string {
	c.own = append(c.own, name)
	list := &listValue{}
	c.fs.Var(list, name, usage)
	return &list.items
}

// listValue is the flag.Value of ownList.
type listValue struct{ items []string }

func (l *listValue) String() string { return strings.Join(l.items, ",") }

func (l *listValue) Set(s string) error {
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			l.items = append(l.items, item)
		}
	}
	return nil
}

// ValueName returns the name of the value in help text, as for the list flags of configs.
func (l *listValue) ValueName() string { return configs.ListValueName }

// parse parses args and loads the configuration; it binds the configuration
// flags last so the subcommand's own flags come first in the help.
func (c *command) parse(args []string, environ []string) (*configs.Config, error) {
	c.flags = configs.BindFlags(c.fs)
	// The flag package prints the whole usage on any parse error; only a
	// request for help gets it, on stdout, and an error gets one line.
	out := c.fs.Output()
	c.fs.SetOutput(io.Discard)
	err := c.fs.Parse(args)
	c.fs.SetOutput(out)
	if errors.Is(err, flag.ErrHelp) {
		c.fs.SetOutput(c.stdout)
		c.fs.Usage()
		return nil, errHelp
	}
	if err != nil {
		if hint := c.undefinedFlagHint(err); hint != "" {
			return nil, usagef("%s: %v (%s)", c.name, err, hint)
		}
		return nil, usagef("%s: %v (see averos-auth %s --help)", c.name, err, c.name)
	}
	if c.fs.NArg() > 0 {
		return nil, c.unexpectedArgument(args)
	}
	cfg, err := configs.Load(c.flags, environ)
	if err != nil {
		var ve *configs.ValidationError
		if errors.As(err, &ve) {
			return nil, usagef("invalid configuration:\n  %s", strings.Join(ve.Problems, "\n  "))
		}
		return nil, usageError{err}
	}
	return cfg, nil
}

// undefinedFlagHint returns the advice registered for the flag that err
// reports as not defined, or "".
func (c *command) undefinedFlagHint(err error) string {
	// The flag package has no error type for this case, only this message.
	name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: -")
	if !ok {
		return ""
	}
	return c.undefinedFlagHints[name]
}

// unexpectedArgument returns the usage error for the first argument left
// after the flags. When it follows the value of a list flag, as "profile" in
// --scope openid profile, the error suggests separating the values with
// commas.
func (c *command) unexpectedArgument(args []string) error {
	rest := c.fs.Args()
	parsed := args[:len(args)-len(rest)]
	name, value, ok := lastFlag(parsed)
	if ok && isListFlag(c.fs.Lookup(name)) {
		return usagef("%s: unexpected argument %q after --%s %s: separate values with commas, as in --%s %s,%s",
			c.name, rest[0], name, value, name, value, rest[0])
	}
	return usagef("%s: unexpected argument %q (see averos-auth %s --help)", c.name, rest[0], c.name)
}

// lastFlag returns the name and value of the last flag in parsed, the
// arguments that the flag set consumed, when that flag took a value.
func lastFlag(parsed []string) (name, value string, ok bool) {
	n := len(parsed)
	if n == 0 || parsed[n-1] == "--" {
		return "", "", false
	}
	last := parsed[n-1]
	if strings.HasPrefix(last, "-") {
		// --name=value, or a bool flag that takes no value.
		return strings.Cut(strings.TrimLeft(last, "-"), "=")
	}
	if n >= 2 && strings.HasPrefix(parsed[n-2], "-") {
		return strings.TrimLeft(parsed[n-2], "-"), last, true
	}
	return "", "", false
}

// valueNamer is a flag.Value that names its value in help text.
type valueNamer interface{ ValueName() string }

func isListFlag(f *flag.Flag) bool {
	if f == nil {
		return false
	}
	named, ok := f.Value.(valueNamer)
	return ok && named.ValueName() == configs.ListValueName
}

// printFlag writes one flag of a help text in the style of
// flag.PrintDefaults: the name and its value's name, then the usage and the
// default when there is one.
func printFlag(out io.Writer, f *flag.Flag) {
	valueName, usage := flag.UnquoteUsage(f)
	if named, ok := f.Value.(valueNamer); ok {
		valueName = named.ValueName()
	}
	line := "  --" + f.Name
	if valueName != "" {
		line += " " + valueName
	}
	fmt.Fprintf(out, "%s\n    \t%s", line, usage)
	switch f.DefValue {
	case "", "false", "0", "0s", "[]":
	default:
		fmt.Fprintf(out, " (default %s)", f.DefValue)
	}
	fmt.Fprintln(out)
}
