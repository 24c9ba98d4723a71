package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/tessera-id/tessera/internal/directory"
)

func newAdminSPCmd(o *adminOptions) *cobra.Command {
	return adminGroup("sp", "Manage service principals, an application's identity in a tenant",
		`  tessera admin sp create --id 6a1f2c3d-0000-4000-8000-000000000001
  tessera admin sp update --id api://orders --enabled=false`,
		newSPCreateCmd(o), newSPShowCmd(o), newSPListCmd(o), newSPUpdateCmd(o), newSPDeleteCmd(o))
}

func newSPCreateCmd(o *adminOptions) *cobra.Command {
	var spec directory.ServicePrincipalSpec
	var tenant string
	var out output
	cmd := adminLeaf("create", "Create an application's service principal: it can then get tokens, and be a resource",
		`  tessera admin sp create --id 6a1f2c3d-0000-4000-8000-000000000001
  # a resource only clients holding one of its app roles get tokens for
  tessera admin sp create --id api://orders --assignment-required`)
	cmd.Flags().StringVar(&spec.AppID, "id", "", "the application's appId or identifier URI (required)")
	cmd.Flags().BoolVar(&spec.AppRoleAssignmentRequired, "assignment-required", false, "clients and users need an app role of this resource to get tokens for it")
	addTenantFlag(cmd, &tenant)
	out.addFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := requireFlags(cmd, "id"); err != nil {
			return err
		}
		return adminRun(cmd, o, tenant, &out, func(ctx context.Context, b adminBackend) (any, error) {
			return b.CreateServicePrincipal(ctx, tenant, spec)
		})
	}
	return cmd
}

func newSPShowCmd(o *adminOptions) *cobra.Command {
	return adminByID(o, "show", "Show a service principal", `  tessera admin sp show --id api://orders --query objectId -o tsv`,
		"object id, the application's appId, or an identifier URI (required)", true,
		func(ctx context.Context, b adminBackend, tenant, id string) (any, error) {
			return b.GetServicePrincipal(ctx, tenant, id)
		})
}

func newSPListCmd(o *adminOptions) *cobra.Command {
	var tenant string
	var out output
	cmd := adminLeaf("list", "List service principals", `  tessera admin sp list --tenant contoso.example -o table`)
	addTenantFlag(cmd, &tenant)
	out.addFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return adminRun(cmd, o, tenant, &out, func(ctx context.Context, b adminBackend) (any, error) {
			return b.ListServicePrincipals(ctx, tenant)
		})
	}
	return cmd
}

func newSPUpdateCmd(o *adminOptions) *cobra.Command {
	var id, tenant string
	var enabled, assignReq bool
	var out output
	cmd := adminLeaf("update", "Enable or disable a service principal, or require role assignment",
		`  # stop a client from getting tokens, without deleting anything
  tessera admin sp update --id 6a1f2c3d-0000-4000-8000-000000000001 --enabled=false
  tessera admin sp update --id api://orders --assignment-required`)
	cmd.Flags().StringVar(&id, "id", "", "object id, the application's appId, or an identifier URI (required)")
	cmd.Flags().BoolVar(&enabled, "enabled", true, "whether the service principal may get tokens")
	cmd.Flags().BoolVar(&assignReq, "assignment-required", false, "clients and users need an app role of this resource to get tokens for it")
	addTenantFlag(cmd, &tenant)
	out.addFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := requireFlags(cmd, "id"); err != nil {
			return err
		}
		var p directory.ServicePrincipalPatch
		if cmd.Flags().Changed("enabled") {
			p.Enabled = &enabled
		}
		if cmd.Flags().Changed("assignment-required") {
			p.AppRoleAssignmentRequired = &assignReq
		}
		if p.Enabled == nil && p.AppRoleAssignmentRequired == nil {
			return usageErrorf("nothing to change: pass --enabled or --assignment-required")
		}
		return adminRun(cmd, o, tenant, &out, func(ctx context.Context, b adminBackend) (any, error) {
			return b.UpdateServicePrincipal(ctx, tenant, id, p)
		})
	}
	return cmd
}

func newSPDeleteCmd(o *adminOptions) *cobra.Command {
	return adminByID(o, "delete", "Delete a service principal and its role assignments; the application stays",
		`  tessera admin sp delete --id api://orders`, "object id, the application's appId, or an identifier URI (required)", false,
		func(ctx context.Context, b adminBackend, tenant, id string) (any, error) {
			return nil, b.DeleteServicePrincipal(ctx, tenant, id)
		})
}

func newAdminRoleCmd(o *adminOptions) *cobra.Command {
	var spec directory.AssignmentSpec
	var assignTenant, listTenant, removeTenant string
	var assignOut, listOut output

	assign := adminLeaf("assign", "Grant a service principal or a user an app role of a resource",
		`  tessera admin role assign --assignee 6a1f2c3d-0000-4000-8000-000000000001 --resource api://orders --role Reader
  # a user: the role appears in the roles claim of the user's tokens for the API
  tessera admin role assign --assignee alice@default --resource api://orders --role Reader`)
	assign.Flags().StringVar(&spec.Principal, "assignee", "", "a client (its service principal's object id or its appId) or a user (object id or user principal name) (required)")
	assign.Flags().StringVar(&spec.Resource, "resource", "", "the resource: its appId, identifier URI or service principal object id (required)")
	assign.Flags().StringVar(&spec.Role, "role", "", "the app role's value, e.g. Reader, or id (required)")
	addTenantFlag(assign, &assignTenant)
	assignOut.addFlags(assign)
	assign.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := requireFlags(cmd, "assignee", "resource", "role"); err != nil {
			return err
		}
		return adminRun(cmd, o, assignTenant, &assignOut, func(ctx context.Context, b adminBackend) (any, error) {
			return b.AssignRole(ctx, assignTenant, spec)
		})
	}

	var filter directory.AssignmentFilter
	list := adminLeaf("list", "List app role assignments of a client or user, of a resource, or both",
		`  tessera admin role list --resource api://orders -o table
  tessera admin role list --assignee 6a1f2c3d-0000-4000-8000-000000000001 --query "[].id" -o tsv`)
	list.Flags().StringVar(&filter.Principal, "assignee", "", "a client (its service principal's object id or its appId) or a user (object id or user principal name)")
	list.Flags().StringVar(&filter.Resource, "resource", "", "the resource: its appId, identifier URI or service principal object id")
	addTenantFlag(list, &listTenant)
	listOut.addFlags(list)
	list.RunE = func(cmd *cobra.Command, _ []string) error {
		if filter.Principal == "" && filter.Resource == "" {
			return usageErrorf("pass --assignee, --resource or both")
		}
		return adminRun(cmd, o, listTenant, &listOut, func(ctx context.Context, b adminBackend) (any, error) {
			return b.ListRoleAssignments(ctx, listTenant, filter)
		})
	}

	var id string
	remove := adminLeaf("remove", "Remove an app role assignment",
		`  tessera admin role remove --id 0d2c…  # an id from tessera admin role list`)
	remove.Flags().StringVar(&id, "id", "", "the assignment's id (required)")
	addTenantFlag(remove, &removeTenant)
	remove.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := requireFlags(cmd, "id"); err != nil {
			return err
		}
		return adminRun(cmd, o, removeTenant, nil, func(ctx context.Context, b adminBackend) (any, error) {
			return nil, b.RemoveRoleAssignment(ctx, removeTenant, id)
		})
	}
	return adminGroup("role", "Manage app role assignments",
		`  tessera admin role assign --assignee CLIENT_APPID --resource api://orders --role Reader
  tessera admin role list --resource api://orders`, assign, list, remove)
}
