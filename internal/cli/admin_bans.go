package cli

import (
	"context"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/tessera-id/tessera/internal/adminapi"
)

func (c *apiClient) ListBans(ctx context.Context, tenant string, query url.Values) (adminapi.BanList, error) {
	path := adminTenantPath(tenant) + "/bans"
	if len(query) > 0 {
		path += "?" + query.Encode()
	}
	return apiCall[adminapi.BanList](ctx, c, "GET", path, nil)
}

func (c *apiClient) LiftLockout(ctx context.Context, tenant, user string) error {
	return c.do(ctx, "DELETE", adminTenantPath(tenant)+"/bans/users"+pathSeg(user), nil, nil)
}

// LiftAddressBan: pathSeg escapes the slash of an IPv6 /64 as %2F, so the
// prefix stays one path segment.
func (c *apiClient) LiftAddressBan(ctx context.Context, tenant, address string) error {
	return c.do(ctx, "DELETE", adminTenantPath(tenant)+"/bans/addresses"+pathSeg(address), nil, nil)
}

// banPage is the most entries asked for in one call: the API's limit.
const banPage = 1000

func newAdminBansCmd(o *adminOptions) *cobra.Command {
	return adminGroup("bans", "List and lift lockouts (per user) and address bans (per client address)",
		`  tessera admin bans list -o table
  tessera admin bans remove --address 203.0.113.7`,
		newBansListCmd(o), newBansRemoveCmd(o))
}

func newBansListCmd(o *adminOptions) *cobra.Command {
	var tenant string
	var out output
	cmd := adminLeaf("list", "List the users locked out and the addresses banned in a tenant now",
		`  tessera admin bans list -o table
  tessera admin bans list --tenant contoso --query "[?type=='address'].address" -o tsv`)
	cmd.Long = `List the users locked out and the client addresses banned in a tenant, as
they stand now: first the users (type user: objectId, userPrincipalName,
failedSignIns, lockedUntil), then the addresses (type address: address,
failures, firstFailureAt, bannedUntil). Every entry has every field.

A user is locked after the tenant's --lockout-threshold wrong passwords
(tessera admin tenant set-policy). An address is banned from the tenant after
the server's --ban-address-failures failed sign-ins from it within
--ban-address-window; IPv6 addresses are counted by their /64. Both are kept
in the database, so they hold on every instance.`
	addTenantFlag(cmd, &tenant)
	out.addFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return adminRun(cmd, o, tenant, &out, func(ctx context.Context, b adminBackend) (any, error) {
			bans := []adminapi.Ban{}
			q := url.Values{"limit": {strconv.Itoa(banPage)}}
			for {
				page, err := b.ListBans(ctx, tenant, q)
				if err != nil {
					return nil, err
				}
				bans = append(bans, page.Value...)
				if page.Next == "" {
					return bans, nil
				}
				q.Set("cursor", page.Next)
			}
		})
	}
	return cmd
}

func newBansRemoveCmd(o *adminOptions) *cobra.Command {
	var tenant, user, address string
	cmd := adminLeaf("remove", "Lift a user's lockout (--user) or an address's ban (--address)",
		`  tessera admin bans remove --user alice@default
  tessera admin bans remove --address 203.0.113.7 --tenant contoso
  tessera admin bans remove --address 2001:db8:1:2::/64`)
	cmd.Long = `Lift a lockout or a ban at once instead of waiting for it to end.

--user (a user principal name or object id) clears the user's failed
sign-ins and lock; the password stays as it is (set-password also lifts a
lockout, with a new password). --address (an IP address, or an IPv6 /64 as
the list shows it) lifts the address's ban and forgets its failures. Pass
exactly one. Exits 3 when there is nothing to lift. Each lift is recorded in
the audit log (admin.ban.remove).`
	cmd.Flags().StringVar(&user, "user", "", "the user whose lockout to lift: user principal name or object id")
	cmd.Flags().StringVar(&address, "address", "", "the client address whose ban to lift: an IP address or an IPv6 /64")
	addTenantFlag(cmd, &tenant)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if (user == "") == (address == "") {
			return usageErrorf("pass exactly one of --user and --address: see `%s --help`", cmd.CommandPath())
		}
		return adminRun(cmd, o, tenant, nil, func(ctx context.Context, b adminBackend) (any, error) {
			if user != "" {
				return nil, b.LiftLockout(ctx, tenant, user)
			}
			return nil, b.LiftAddressBan(ctx, tenant, address)
		})
	}
	return cmd
}
