package cli

import (
	"strings"
	"testing"
)

// A typo is a usage error: exit 2 at every level, with cobra's suggestion
// of the command meant (issue 15: `tessera acount list` exited 1).
func TestMistypedCommandOrFlagExits2(t *testing.T) {
	c := clientEnv(t)
	for _, tc := range []struct {
		args    []string
		suggest string // the command the error must suggest, if any
	}{
		{[]string{"acount", "list"}, "account"},
		{[]string{"account", "shwo"}, "show"},
		{[]string{"admin", "app", "lst"}, "list"},
		{[]string{"migrate", "upp"}, "up"},
		{[]string{"serve", "extra"}, ""},
		{[]string{"version", "extra"}, ""},
		{[]string{"--bogus"}, ""},
		{[]string{"account", "list", "--bogus"}, ""},
	} {
		_, _, err := c.run(tc.args...)
		if ExitCode(err) != ExitUsage {
			t.Errorf("tessera %s: exit %d (%v), want %d", strings.Join(tc.args, " "), ExitCode(err), err, ExitUsage)
			continue
		}
		if tc.suggest != "" && !strings.Contains(err.Error(), "Did you mean this?\n\t"+tc.suggest) {
			t.Errorf("tessera %s: %q does not suggest %q", strings.Join(tc.args, " "), err, tc.suggest)
		}
	}
	// A group alone still prints its help and succeeds.
	for _, args := range [][]string{{}, {"account"}, {"admin"}} {
		if stdout, _, err := c.run(args...); err != nil || !strings.Contains(stdout, "Available Commands") {
			t.Errorf("tessera %s: %v, want its help", strings.Join(args, " "), err)
		}
	}
}
