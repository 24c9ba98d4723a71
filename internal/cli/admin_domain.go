package cli

import (
	"context"

	"github.com/spf13/cobra"
)

// newTenantDomainCmd is `tessera admin tenant domain add|list|remove`: the
// domains a tenant's user names may end in, each held by one tenant.
func newTenantDomainCmd(o *adminOptions) *cobra.Command {
	var listTenant, addTenant, addDomain, rmTenant, rmDomain string
	var listOut, addOut output

	list := adminLeaf("list", "List the domains of a tenant, its own first", `  tessera admin tenant domain list --tenant contoso.example -o table`)
	addTenantFlag(list, &listTenant)
	listOut.addFlags(list)
	list.RunE = func(cmd *cobra.Command, _ []string) error {
		return adminRun(cmd, o, listTenant, &listOut, func(ctx context.Context, b adminBackend) (any, error) {
			return b.ListTenantDomains(ctx, listTenant)
		})
	}

	add := adminLeaf("add", "Give a tenant a domain for its user names (home tenant administrators)",
		`  tessera admin tenant domain add --tenant fabrikam --domain fabrikam.example
  tessera admin user create --tenant fabrikam --upn alice@fabrikam.example`)
	add.Long = `Give a tenant a domain: its users may then be named name@domain, and the
domain also names the tenant in URLs. A domain belongs to one tenant only.
tessera does not check DNS: you vouch that the tenant owns the domain, so
only an administrator of the home tenant may add one.`
	add.Flags().StringVar(&addDomain, "domain", "", "the domain, e.g. fabrikam.example (required)")
	addTenantFlag(add, &addTenant)
	addOut.addFlags(add)
	add.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := requireFlags(cmd, "domain"); err != nil {
			return err
		}
		return adminRun(cmd, o, addTenant, &addOut, func(ctx context.Context, b adminBackend) (any, error) {
			return b.AddTenantDomain(ctx, addTenant, addDomain)
		})
	}

	remove := adminLeaf("remove", "Take a domain from a tenant (home tenant administrators)",
		`  tessera admin tenant domain remove --tenant fabrikam --domain fabrikam.example`)
	remove.Long = `Take a domain from a tenant. Refused for the tenant's own domain, and while
users of the tenant are named in it: rename them first
(tessera admin user update --id alice@fabrikam.example --upn alice).`
	remove.Flags().StringVar(&rmDomain, "domain", "", "the domain (required)")
	addTenantFlag(remove, &rmTenant)
	remove.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := requireFlags(cmd, "domain"); err != nil {
			return err
		}
		return adminRun(cmd, o, rmTenant, nil, func(ctx context.Context, b adminBackend) (any, error) {
			return nil, b.RemoveTenantDomain(ctx, rmTenant, rmDomain)
		})
	}
	return adminGroup("domain", "Manage the domains a tenant's user names end in", `  tessera admin tenant domain list
  tessera admin tenant domain add --tenant fabrikam --domain fabrikam.example`, list, add, remove)
}
