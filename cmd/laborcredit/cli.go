package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Exit statuses: 0 success, 1 failure, 2 bad usage.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError marks a command line that could not be understood (exit 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// errSilent is a failure that has already been reported on stderr.
var errSilent = errors.New("failed")

// command is one node of the command tree.
type command struct {
	name  string
	short string
	run   func(ctx context.Context, e *env, args []string) error
	subs  []*command
}

// env is what a command reads and writes.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

func rootCommand() *command {
	return &command{
		name:  "laborcredit",
		short: "rate employers' labor-law integrity (劳动保障守法诚信等级评价)",
		subs: []*command{
			serveCommand(),
			demoCommand(),
			migrateCommand(),
			rateCommand(),
			rulesCommand(),
			importCommand(),
			generateCommand(),
			workflowCommand(),
			userCommand(),
			apikeyCommand(),
			auditCommand(),
			backupCommand(),
		},
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	err := dispatch(ctx, e, rootCommand(), nil, args)
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "laborcredit: %s\nRun with --help for usage.\n", ue.msg)
		return exitUsage
	case errors.Is(err, errSilent):
		return exitFailure
	default:
		fmt.Fprintf(stderr, "laborcredit: %v\n", err)
		return exitFailure
	}
}

func dispatch(ctx context.Context, e *env, c *command, path []string, args []string) error {
	path = append(path, c.name)
	if c.run != nil {
		return c.run(ctx, e, args)
	}
	if len(args) == 0 {
		printGroupHelp(e.stderr, c, path)
		return usagef("%s needs a subcommand", strings.Join(path, " "))
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printGroupHelp(e.stdout, c, path)
		return flag.ErrHelp
	}
	for _, s := range c.subs {
		if s.name == args[0] {
			return dispatch(ctx, e, s, path, args[1:])
		}
	}
	return usagef("unknown command %q for %s", args[0], strings.Join(path, " "))
}

func printGroupHelp(w io.Writer, c *command, path []string) {
	fmt.Fprintf(w, "%s — %s\n\nUsage: %s <command> [flags] [args]\n\nCommands:\n", strings.Join(path, " "), c.short, strings.Join(path, " "))
	for _, s := range c.subs {
		fmt.Fprintf(w, "  %-10s %s\n", s.name, s.short)
	}
	fmt.Fprintf(w, "\nRun '%s <command> --help' for a command's flags.\n", strings.Join(path, " "))
}

// flagSet is a flag set with the usage line of its command.
type flagSet struct {
	*flag.FlagSet
	usage string
	out   io.Writer
}

// newFlags makes a flag set; --help prints the usage and the flags to
// stdout, a bad flag only a short error (parseFlags).
func newFlags(e *env, name, usage string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // flag calls it on every error; help is printed once, by parseFlags
	return &flagSet{FlagSet: fs, usage: usage, out: e.stdout}
}

func (fs *flagSet) printHelp() {
	fmt.Fprintf(fs.out, "Usage: %s\n\nFlags:\n", fs.usage)
	fs.SetOutput(fs.out)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// parseFlags parses flags anywhere among the arguments (before or after
// positional ones) and returns the positional arguments. Everything after
// "--" is positional.
func parseFlags(fs *flagSet, args []string) ([]string, error) {
	var pos []string
	for {
		rest := args
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.printHelp()
				return nil, err
			}
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		// flag stops at "--" (consuming it) or at the first positional argument.
		if consumed := len(rest) - len(args); consumed > 0 && rest[consumed-1] == "--" {
			return append(pos, args...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
