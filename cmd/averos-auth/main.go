// Command averos-auth is an OAuth 2.0 and OpenID Connect authorization
// server that also serves the endpoints Averos web applications expect.
//
//	averos-auth serve            run the server
//	averos-auth users create     create a user (password from standard input)
//	averos-auth roles create     create a role
//	averos-auth clients create   register an OAuth client and print its secret once
//	averos-auth keys list|rotate show or rotate the signing keys
//	averos-auth version          print the version
//
// Every subcommand reads the same configuration as serve (file, environment,
// flags). Exit status: 0 on success, 2 for invalid usage or configuration,
// 1 for any other failure.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// usageError marks an error caused by the command line or the
// configuration; it exits with status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// env holds the standard streams and the environment of a subcommand.
type env struct {
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
	environ []string
}

const topUsage = `Usage: averos-auth <command> [flags]

Commands:
  serve            run the authorization server
  users create     create a user; the password is read from standard input
  roles create     create a role
  clients create   register an OAuth client and print its secret once
  keys list        list the signing keys
  keys rotate      add a new signing key that starts signing after the lead time
  version          print the version

Run "averos-auth <command> --help" for the flags of a command.
`

// groupUsage returns the lines of topUsage for the subcommands of group,
// such as "users create" for "users".
func groupUsage(group string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: averos-auth %s <subcommand> [flags]\n\nSubcommands:\n", group)
	for _, line := range strings.Split(topUsage, "\n") {
		if strings.HasPrefix(line, "  "+group+" ") {
			b.WriteString(line + "\n")
		}
	}
	fmt.Fprintf(&b, "\nRun \"averos-auth %s <subcommand> --help\" for its flags.\n", group)
	return b.String()
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, environ: os.Environ()})
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, e env) int {
	err := dispatch(ctx, args, e)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintf(e.stderr, "averos-auth: %v\n", err)
		return 2
	default:
		fmt.Fprintf(e.stderr, "averos-auth: %v\n", err)
		return 1
	}
}

// errHelp reports that help was printed on request.
var errHelp = errors.New("help requested")

func dispatch(ctx context.Context, args []string, e env) error {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, topUsage)
		return usagef("missing command")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, rest, e)
	case "version", "--version":
		fmt.Fprintf(e.stdout, "averos-auth %s\n", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, topUsage)
		return nil
	case "users", "roles", "clients", "keys":
		if len(rest) == 0 {
			fmt.Fprint(e.stderr, groupUsage(cmd))
			return usagef("missing subcommand of %s", cmd)
		}
		switch rest[0] {
		case "help", "-h", "--help":
			fmt.Fprint(e.stdout, groupUsage(cmd))
			return errHelp
		}
		sub := cmd + " " + rest[0]
		switch sub {
		case "users create":
			return usersCreate(ctx, rest[1:], e)
		case "roles create":
			return rolesCreate(ctx, rest[1:], e)
		case "clients create":
			return clientsCreate(ctx, rest[1:], e)
		case "keys list":
			return keysList(ctx, rest[1:], e)
		case "keys rotate":
			return keysRotate(ctx, rest[1:], e)
		}
		return usagef("unknown command %q (see averos-auth --help)", sub)
	}
	fmt.Fprint(e.stderr, topUsage)
	return usagef("unknown command %q", cmd)
}
