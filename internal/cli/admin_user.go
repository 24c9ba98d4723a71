package cli

import (
	"context"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tessera-id/tessera/internal/adminapi"
)

// passwordFlags are --password-stdin and --password. Stdin is the one to
// use: a password on the command line stays in the shell's history and is
// visible to every user of the host in the process list.
type passwordFlags struct {
	value     string
	fromStdin bool
}

func (p *passwordFlags) add(cmd *cobra.Command, what string) {
	cmd.Flags().BoolVar(&p.fromStdin, "password-stdin", false, "read the "+what+" from standard input (preferred: it stays out of shell history and the process list)")
	cmd.Flags().StringVar(&p.value, "password", "", "the "+what+" (avoid: it lands in shell history and the process list; use --password-stdin)")
}

// maxPasswordInput bounds what --password-stdin reads; the directory
// accepts at most 256 bytes, so anything near this is not a password.
const maxPasswordInput = 4096

// read returns the password, or "" when neither flag was given. One
// trailing newline from stdin is dropped (echo and here-strings add one).
func (p *passwordFlags) read(cmd *cobra.Command) (string, error) {
	given := cmd.Flags().Changed("password")
	switch {
	case given && p.fromStdin:
		return "", usageErrorf("pass --password-stdin or --password, not both")
	case given && p.value == "":
		return "", usageErrorf("--password is empty; to read it from standard input use --password-stdin")
	case given:
		return p.value, nil
	case !p.fromStdin:
		return "", nil
	}
	raw, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), maxPasswordInput+1))
	if err != nil {
		return "", usageErrorf("--password-stdin: reading standard input: %v", err)
	}
	if len(raw) > maxPasswordInput {
		return "", usageErrorf("--password-stdin: standard input holds more than %d bytes; pipe only the password", maxPasswordInput)
	}
	pw := strings.TrimSuffix(strings.TrimSuffix(string(raw), "\n"), "\r")
	if pw == "" {
		return "", usageErrorf("--password-stdin: standard input is empty; pipe the password, e.g. printf '%%s' \"$PW\" | tessera admin …")
	}
	return pw, nil
}

func newAdminUserCmd(o *adminOptions) *cobra.Command {
	return adminGroup("user", "Manage users: create, list, show, update, set-password, disable, enable, delete",
		`  printf '%s' "$PW" | tessera admin user create --upn alice --display-name "Alice Liddell" --password-stdin
  tessera admin user disable --id alice@default`,
		newUserCreateCmd(o), newUserListCmd(o), newUserShowCmd(o), newUserUpdateCmd(o), newUserSetPasswordCmd(o),
		newUserEnableCmd(o, "disable", false), newUserEnableCmd(o, "enable", true), newUserDeleteCmd(o))
}

func newUserCreateCmd(o *adminOptions) *cobra.Command {
	var body adminapi.UserCreate
	var pw passwordFlags
	var disabled bool
	var tenant string
	var out output
	cmd := adminLeaf("create", "Create a user", `  # the password from a secret store, never on the command line
  printf '%s' "$PW" | tessera admin user create --upn alice --display-name "Alice Liddell" --password-stdin
  # a user who signs in only once a password is set
  tessera admin user create --upn bob@contoso.example --tenant contoso.example --disabled`)
	cmd.Long = `Create a user. The user principal name is the sign-in name; it must end in
one of the tenant's domains (tessera admin tenant domain list), and a bare name
gets the tenant's own domain (alice becomes alice@default). The e-mail address
is sent to applications (the email claim) only with --mail-verified, by which
you vouch that it is the user's. Give the password on
standard input with --password-stdin: --password puts it in your shell
history and the process list. It needs at least 12 characters and is stored
only as an argon2id hash. Without a password the user cannot sign in with one
until tessera admin user set-password gives it one.`
	cmd.Flags().StringVar(&body.UserPrincipalName, "upn", "", "user principal name, name@domain or a bare name (required)")
	cmd.Flags().StringVar(&body.DisplayName, "display-name", "", "display name (default the name before the @)")
	cmd.Flags().StringVar(&body.Mail, "mail", "", "e-mail address")
	cmd.Flags().BoolVar(&body.MailVerified, "mail-verified", false, "vouch that --mail is the user's: only then do tokens carry it")
	cmd.Flags().BoolVar(&disabled, "disabled", false, "create the user disabled: it cannot sign in until enabled")
	pw.add(cmd, "password")
	addTenantFlag(cmd, &tenant)
	out.addFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := requireFlags(cmd, "upn"); err != nil {
			return err
		}
		password, err := pw.read(cmd)
		if err != nil {
			return err
		}
		body.Password = password
		if disabled {
			off := false
			body.AccountEnabled = &off
		}
		return adminRun(cmd, o, tenant, &out, func(ctx context.Context, b adminBackend) (any, error) {
			return b.CreateUser(ctx, tenant, body)
		})
	}
	return cmd
}

func newUserListCmd(o *adminOptions) *cobra.Command {
	var tenant string
	var out output
	cmd := adminLeaf("list", "List users", `  tessera admin user list --query "[].{upn:userPrincipalName, enabled:accountEnabled}" -o table`)
	addTenantFlag(cmd, &tenant)
	out.addFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return adminRun(cmd, o, tenant, &out, func(ctx context.Context, b adminBackend) (any, error) {
			return b.ListUsers(ctx, tenant)
		})
	}
	return cmd
}

const userIDUsage = "the user's object id or user principal name (required)"

func addUserIDFlag(cmd *cobra.Command, id *string) {
	cmd.Flags().StringVar(id, "id", "", userIDUsage)
}

func newUserShowCmd(o *adminOptions) *cobra.Command {
	return adminByID(o, "show", "Show a user; lockedUntil appears while failed sign-ins keep the account locked",
		`  tessera admin user show --id alice@default
  tessera admin user show --id alice@default --query id -o tsv`, userIDUsage, true,
		func(ctx context.Context, b adminBackend, tenant, id string) (any, error) {
			return b.GetUser(ctx, tenant, id)
		})
}

func newUserUpdateCmd(o *adminOptions) *cobra.Command {
	var id, tenant, upn, displayName, mail string
	var mailVerified bool
	var out output
	cmd := adminLeaf("update", "Rename a user, or change its display name or e-mail address",
		`  # into another domain of the tenant; the object id, password and sign-ins stay
  tessera admin user update --id alice@contoso.com --upn alice@contoso.example
  tessera admin user update --id alice@default --mail alice@mail.example --mail-verified`)
	cmd.Long = `Change a user: only the flags given change. A new name must end in one of the
tenant's domains. A new e-mail address is unverified (not sent to
applications) unless --mail-verified is given too.`
	addUserIDFlag(cmd, &id)
	cmd.Flags().StringVar(&upn, "upn", "", "new user principal name, name@domain or a bare name")
	cmd.Flags().StringVar(&displayName, "display-name", "", "new display name")
	cmd.Flags().StringVar(&mail, "mail", "", "new e-mail address")
	cmd.Flags().BoolVar(&mailVerified, "mail-verified", false, "vouch that the e-mail address is the user's (--mail-verified=false withdraws it)")
	addTenantFlag(cmd, &tenant)
	out.addFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := requireFlags(cmd, "id"); err != nil {
			return err
		}
		var p adminapi.UserPatch
		changed := cmd.Flags().Changed
		if changed("upn") {
			p.UserPrincipalName = &upn
		}
		if changed("display-name") {
			p.DisplayName = &displayName
		}
		if changed("mail") {
			p.Mail = &mail
		}
		if changed("mail-verified") {
			p.MailVerified = &mailVerified
		}
		if p == (adminapi.UserPatch{}) {
			return usageErrorf("nothing to change: pass at least one of --upn, --display-name, --mail, --mail-verified")
		}
		return adminRun(cmd, o, tenant, &out, func(ctx context.Context, b adminBackend) (any, error) {
			return b.UpdateUser(ctx, tenant, id, p)
		})
	}
	return cmd
}

func newUserSetPasswordCmd(o *adminOptions) *cobra.Command {
	var id, tenant string
	var pw passwordFlags
	var out output
	cmd := adminLeaf("set-password", "Set a user's password and lift any lockout",
		`  printf '%s' "$NEW_PW" | tessera admin user set-password --id alice@default --password-stdin`)
	cmd.Long = `Set a user's password (at least 12 characters) and lift any lockout. Give it
on standard input with --password-stdin: --password puts it in your shell
history and the process list. Prints the user, never the password.`
	addUserIDFlag(cmd, &id)
	pw.add(cmd, "new password")
	addTenantFlag(cmd, &tenant)
	out.addFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := requireFlags(cmd, "id"); err != nil {
			return err
		}
		password, err := pw.read(cmd)
		if err != nil {
			return err
		}
		if password == "" {
			return usageErrorf("give the new password with --password-stdin (or --password): see `%s --help`", cmd.CommandPath())
		}
		return adminRun(cmd, o, tenant, &out, func(ctx context.Context, b adminBackend) (any, error) {
			return b.SetPassword(ctx, tenant, id, password)
		})
	}
	return cmd
}

// newUserEnableCmd is `user enable` or `user disable`.
func newUserEnableCmd(o *adminOptions, verb string, enable bool) *cobra.Command {
	short := "Disable a user: it cannot sign in, and every sign-in it holds is revoked at once"
	if enable {
		short = "Enable a user, lifting any lockout"
	}
	return adminByID(o, verb, short, "  tessera admin user "+verb+" --id alice@default", userIDUsage, true,
		func(ctx context.Context, b adminBackend, tenant, id string) (any, error) {
			return b.UpdateUser(ctx, tenant, id, adminapi.UserPatch{AccountEnabled: &enable})
		})
}

func newUserDeleteCmd(o *adminOptions) *cobra.Command {
	return adminByID(o, "delete", "Delete a user with its role assignments and consents, revoking every sign-in it holds",
		`  tessera admin user delete --id alice@default`, userIDUsage, false,
		func(ctx context.Context, b adminBackend, tenant, id string) (any, error) {
			return nil, b.DeleteUser(ctx, tenant, id)
		})
}
