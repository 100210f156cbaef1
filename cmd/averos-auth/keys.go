package main

import "context"

func keysList(ctx context.Context, args []string, e env) error {
	return usagef("keys list: not available yet")
}

func keysRotate(ctx context.Context, args []string, e env) error {
	return usagef("keys rotate: not available yet")
}
