package cli

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tessera-id/tessera/internal/adminapi"
	"github.com/tessera-id/tessera/internal/directory"
)

func newAdminTenantCmd(o *adminOptions) *cobra.Command {
	var spec directory.TenantSpec
	var createOut, listOut, showOut output
	create := adminLeaf("create", "Create a tenant with its admin API (home tenant administrators)",
		`  tessera admin tenant create --domain contoso.example --display-name Contoso`)
	create.Flags().StringVar(&spec.Domain, "domain", "", "the tenant's domain name, used in URLs in place of its id (required)")
	create.Flags().StringVar(&spec.DisplayName, "display-name", "", "display name (default the domain)")
	create.Flags().StringVar(&spec.ID, "id", "", "choose the tenant id (a GUID), e.g. when moving a tenant")
	createOut.addFlags(create)
	create.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := requireFlags(cmd, "domain"); err != nil {
			return err
		}
		return adminRun(cmd, o, "", &createOut, func(ctx context.Context, b adminBackend) (any, error) {
			return b.CreateTenant(ctx, spec)
		})
	}

	list := adminLeaf("list", "List every tenant (home tenant administrators)", `  tessera admin tenant list -o table`)
	listOut.addFlags(list)
	list.RunE = func(cmd *cobra.Command, _ []string) error {
		return adminRun(cmd, o, "", &listOut, func(ctx context.Context, b adminBackend) (any, error) {
			return b.ListTenants(ctx)
		})
	}

	var tenant string
	show := adminLeaf("show", "Show a tenant and the policy in force", `  tessera admin tenant show --tenant contoso.example --query id -o tsv
  tessera admin tenant show --query policy`)
	addTenantFlag(show, &tenant)
	showOut.addFlags(show)
	show.RunE = func(cmd *cobra.Command, _ []string) error {
		return adminRun(cmd, o, tenant, &showOut, func(ctx context.Context, b adminBackend) (any, error) {
			return b.GetTenant(ctx, tenant)
		})
	}
	return adminGroup("tenant", "Manage tenants and their sign-in and token policy", `  tessera admin tenant create --domain contoso.example
  tessera admin tenant list
  tessera admin tenant set-policy --tenant contoso.example --refresh-grace off
  tessera admin tenant domain add --tenant contoso.example --domain contoso.com`, create, list, show, newTenantSetPolicyCmd(o), newTenantDomainCmd(o))
}

// policyDuration is a duration flag that also takes whole days ("90d"),
// the unit refresh-token lifetimes are thought in.
type policyDuration struct{ d time.Duration }

func (p *policyDuration) String() string {
	if p.d == 0 {
		return ""
	}
	return p.d.String()
}

func (p *policyDuration) Set(s string) error {
	if days, ok := strings.CutSuffix(strings.TrimSpace(s), "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 || n > 36500 {
			return errors.New("write whole days as 90d, or a duration such as 2160h or 15m")
		}
		p.d = time.Duration(n) * 24 * time.Hour
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("write a duration such as 8h, 15m or 90d")
	}
	if d <= 0 || d%time.Second != 0 {
		return errors.New("a policy duration is a positive number of whole seconds")
	}
	p.d = d
	return nil
}

func (p *policyDuration) Type() string { return "duration" }

func (p *policyDuration) seconds() *int64 {
	s := int64(p.d / time.Second)
	return &s
}

func newTenantSetPolicyCmd(o *adminOptions) *cobra.Command {
	var tenant, grace, passwordGrant, productResource string
	var productResources []string
	var inactivity, lifetime, productLifetime, lockoutDuration, sessionLifetime policyDuration
	var threshold int
	var out output
	cmd := adminLeaf("set-policy", "Change a tenant's sign-in and token policy; only the flags given change",
		`  # no grace window for a rotated refresh token presented again
  tessera admin tenant set-policy --refresh-grace off
  # refresh tokens unused for 30 days expire; none lives past a year
  tessera admin tenant set-policy --tenant contoso.example --refresh-inactivity 30d --refresh-lifetime 365d
  tessera admin tenant set-policy --password-grant off --lockout-threshold 5 --lockout-duration 30m
  # product logins get tokens for api://orders; a request may name api://reports instead
  tessera admin tenant set-policy --product-login-resource api://orders --product-login-resources api://reports`)
	cmd.Long = `Change a tenant's sign-in and token policy. Only the flags given change; the
rest of the policy stays as tenant show prints it. Durations are Go durations
(8h, 15m, 2160h) or whole days (90d). Tokens and sessions already issued keep
the lifetime they were issued with. Prints the tenant with its new policy.

The product login (/api/v1/users/login) issues tokens only for the resource
--product-login-resource names (when the request names none) and those
--product-login-resources allows a request to name; with neither set it
issues none.`
	f := cmd.Flags()
	f.StringVar(&grace, "refresh-grace", "", "window in which a client retrying a rotated refresh token gets the same answer, up to 1m, or off (default 5s)")
	f.Var(&inactivity, "refresh-inactivity", "how long an unused refresh token stays valid (default 90d)")
	f.Var(&lifetime, "refresh-lifetime", "absolute lifetime of a sign-in's refresh tokens, however often rotated (default 365d)")
	f.StringVar(&passwordGrant, "password-grant", "", "the resource owner password grant: on or off")
	f.Var(&productLifetime, "product-login-lifetime", "lifetime of product-login tokens, 10m to 24h (default 24h)")
	f.StringVar(&productResource, "product-login-resource", "", `resource of product-login tokens when the request names none: an identifier URI or appId ("" for none)`)
	f.StringArrayVar(&productResources, "product-login-resources", nil, `a further resource a product-login request may name (repeatable; replaces the list, "" clears it)`)
	f.IntVar(&threshold, "lockout-threshold", 0, "consecutive failed sign-ins that lock an account (default 10)")
	f.Var(&lockoutDuration, "lockout-duration", "how long a lockout lasts (default 15m)")
	f.Var(&sessionLifetime, "session-lifetime", "how long a browser sign-in gives single sign-on (default 8h)")
	addTenantFlag(cmd, &tenant)
	out.addFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		changed := cmd.Flags().Changed
		names := []string{"refresh-grace", "refresh-inactivity", "refresh-lifetime", "password-grant", "product-login-lifetime",
			"product-login-resource", "product-login-resources", "lockout-threshold", "lockout-duration", "session-lifetime"}
		given := false
		for _, n := range names {
			given = given || changed(n)
		}
		if !given {
			return usageErrorf("nothing to change: pass at least one of --%s", strings.Join(names, ", --"))
		}
		var graceSecs int64
		if changed("refresh-grace") {
			if strings.EqualFold(grace, "off") {
				graceSecs = -1
			} else {
				d, err := time.ParseDuration(grace)
				if err != nil || d < 0 || d%time.Second != 0 {
					return usageErrorf("--refresh-grace %q must be off or whole seconds such as 5s", grace)
				}
				graceSecs = int64(d / time.Second)
			}
		}
		var disabled bool
		if changed("password-grant") {
			switch strings.ToLower(passwordGrant) {
			case "on":
			case "off":
				disabled = true
			default:
				return usageErrorf("--password-grant must be on or off")
			}
		}
		if changed("lockout-threshold") && threshold < 1 {
			return usageErrorf("--lockout-threshold must be at least 1")
		}
		return adminRun(cmd, o, tenant, &out, func(ctx context.Context, b adminBackend) (any, error) {
			// PUT replaces the whole policy: start from the one in force.
			t, err := b.GetTenant(ctx, tenant)
			if err != nil {
				return nil, err
			}
			p := t.Policy
			u := adminapi.TenantPolicyUpdate{
				RefreshTokenInactivitySeconds: &p.RefreshTokenInactivitySeconds,
				RefreshTokenLifetimeSeconds:   &p.RefreshTokenLifetimeSeconds,
				RefreshGraceSeconds:           &p.RefreshGraceSeconds,
				PasswordGrantDisabled:         p.PasswordGrantDisabled,
				ProductLoginLifetimeSeconds:   &p.ProductLoginLifetimeSeconds,
				ProductLoginResource:          p.ProductLoginResource,
				ProductLoginResources:         p.ProductLoginResources,
				LockoutThreshold:              &p.LockoutThreshold,
				LockoutDurationSeconds:        &p.LockoutDurationSeconds,
				SessionLifetimeSeconds:        &p.SessionLifetimeSeconds,
			}
			if changed("refresh-grace") {
				u.RefreshGraceSeconds = &graceSecs
			}
			if changed("refresh-inactivity") {
				u.RefreshTokenInactivitySeconds = inactivity.seconds()
			}
			if changed("refresh-lifetime") {
				u.RefreshTokenLifetimeSeconds = lifetime.seconds()
			}
			if changed("password-grant") {
				u.PasswordGrantDisabled = disabled
			}
			if changed("product-login-lifetime") {
				u.ProductLoginLifetimeSeconds = productLifetime.seconds()
			}
			if changed("product-login-resource") {
				u.ProductLoginResource = strings.TrimSpace(productResource)
			}
			if changed("product-login-resources") {
				u.ProductLoginResources = nonEmptyValues(productResources)
			}
			if changed("lockout-threshold") {
				u.LockoutThreshold = &threshold
			}
			if changed("lockout-duration") {
				u.LockoutDurationSeconds = lockoutDuration.seconds()
			}
			if changed("session-lifetime") {
				u.SessionLifetimeSeconds = sessionLifetime.seconds()
			}
			return b.SetTenantPolicy(ctx, tenant, u)
		})
	}
	return cmd
}
