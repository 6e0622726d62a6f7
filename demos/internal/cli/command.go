package cli

import "strings"

// valueFlags are the shared flags that take a separate value argument.
var valueFlags = map[string]bool{"--kubeconfig": true, "--context": true, "-n": true, "--namespace": true}

// SplitCommand finds the subcommand in args, so that shared flags may come before it as
// they can with kubectl (`--context x get pods`). It returns the command and the other
// arguments in their order, or "" when no argument is one of commands.
func SplitCommand(args []string, commands ...string) (string, []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if valueFlags[a] {
			i++ // skip the flag's value
			continue
		}
		if strings.HasPrefix(a, "-") {
			continue
		}
		for _, c := range commands {
			if a == c {
				rest := append(append([]string{}, args[:i]...), args[i+1:]...)
				return c, rest
			}
		}
		return "", args
	}
	return "", args
}
