package main

import (
	"context"
	"fmt"

	"laborcredit/ratings"
)

func workflowCommand() *command {
	return &command{
		name:  "workflow",
		short: "run the timed steps of the rating procedure",
		subs: []*command{{name: "tick", short: "publish every rating whose publicity has ended with no objection open (safe to run anywhere, any time)",
			run: runTick}},
	}
}

func runTick(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "workflow tick", "laborcredit workflow tick [--db URL]")
	dbf := dbFlag(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("workflow tick: unexpected argument %q", pos[0])
	}
	svc, closeDB, err := openService(ctx, *dbf, ratings.ServiceParams{})
	if err != nil {
		return err
	}
	defer closeDB()
	n, err := svc.Tick(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "published %s\n", plural(n, "rating"))
	return nil
}
