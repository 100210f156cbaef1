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
}

func newCommand(name, summary string, stderr io.Writer) *command {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &command{name: name, fs: fs}
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: averos-auth %s [flags]\n\n%s\n", name, summary)
		if len(c.own) > 0 {
			fmt.Fprintln(out, "\nFlags:")
			for _, n := range c.own {
				printFlag(out, fs.Lookup(n))
			}
		}
		fmt.Fprintln(out, "\nConfiguration flags (the same as serve; also from --config FILE and AVEROS_AUTH_* variables):")
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
	var items []string
	c.fs.Func(name, usage, func(s string) error {
		for _, it := range strings.Split(s, ",") {
			if it = strings.TrimSpace(it); it != "" {
				items = append(items, it)
			}
		}
		return nil
	})
	return &items
}

// parse parses args and loads the configuration; it binds the configuration
// flags last so the subcommand's own flags come first in the help.
func (c *command) parse(args []string, environ []string) (*configs.Config, error) {
	c.flags = configs.BindFlags(c.fs)
	// The flag package prints the whole usage on any parse error; only a
	// request for help gets it, and an error gets one line.
	out := c.fs.Output()
	c.fs.SetOutput(io.Discard)
	err := c.fs.Parse(args)
	c.fs.SetOutput(out)
	if errors.Is(err, flag.ErrHelp) {
		c.fs.Usage()
		return nil, errHelp
	}
	if err != nil {
		return nil, usagef("%s: %v (see averos-auth %s --help)", c.name, err, c.name)
	}
	if c.fs.NArg() > 0 {
		return nil, usagef("%s: unexpected argument %q", c.name, c.fs.Arg(0))
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

// printFlag writes one flag of a help text, with its default when it has one.
func printFlag(out io.Writer, f *flag.Flag) {
	fmt.Fprintf(out, "  --%s\n    \t%s", f.Name, f.Usage)
	switch f.DefValue {
	case "", "false", "0", "0s", "[]":
	default:
		fmt.Fprintf(out, " (default %s)", f.DefValue)
	}
	fmt.Fprintln(out)
}
