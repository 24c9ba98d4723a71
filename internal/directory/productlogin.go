package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// The product login (/api/v1/users/login) is a password sign-in that
// returns one access token and asks no consent, so which resource it may
// mint for is the tenant's decision, never the caller's: the policy names
// the resource (ProductLoginResource), and may allow a few more that a
// request names (ProductLoginResources).

var (
	// ErrProductLoginOff: the tenant's policy names no product-login
	// resource, so the product login issues nothing.
	ErrProductLoginOff = errors.New("product login is not configured")
	// ErrResourceNotAllowed: the request names a resource the policy does
	// not allow, or names none where the policy has no default.
	ErrResourceNotAllowed = errors.New("resource not allowed for product login")
)

// MaxProductLoginResources bounds the allow-list of a tenant's policy.
const MaxProductLoginResources = 20

// ProductLoginResource decides which resource a product login's token is
// for. requested is the resource the request names ("" for none): none
// takes the policy's ProductLoginResource; one must be that resource or
// one of ProductLoginResources, compared as the applications they resolve
// to (an identifier URI, an appId and api://{appId} name the same one).
// A resource that does not exist is refused as one not allowed, so that
// the answer tells an unauthenticated caller nothing about the tenant's
// applications.
func (s *Service) ProductLoginResource(ctx context.Context, tenantID string, p TenantPolicy, requested string) (Resource, error) {
	allowed := p.productLoginResources()
	requested = strings.TrimSpace(requested)
	switch {
	case len(allowed) == 0:
		return Resource{}, ErrProductLoginOff
	case requested == "" && p.ProductLoginResource == "":
		return Resource{}, fmt.Errorf("%w: the request names no resource and the policy names no default", ErrResourceNotAllowed)
	case requested == "":
		return s.ResolveResource(ctx, tenantID, p.ProductLoginResource)
	}
	res, err := s.ResolveResource(ctx, tenantID, requested)
	if errors.Is(err, ErrUnknownResource) {
		return Resource{}, fmt.Errorf("%w: %w", ErrResourceNotAllowed, err)
	}
	if err != nil {
		return Resource{}, err
	}
	for _, ref := range allowed {
		a, err := s.ResolveResource(ctx, tenantID, ref)
		if errors.Is(err, ErrUnknownResource) {
			continue // deleted or disabled since the policy named it
		}
		if err != nil {
			return Resource{}, err
		}
		if a.App.AppID == res.App.AppID {
			return res, nil
		}
	}
	return Resource{}, fmt.Errorf("%w: %q is not in the tenant's policy", ErrResourceNotAllowed, requested)
}

// productLoginResources is every resource the policy allows, the default
// first.
func (p TenantPolicy) productLoginResources() []string {
	var out []string
	if p.ProductLoginResource != "" {
		out = append(out, p.ProductLoginResource)
	}
	for _, r := range p.ProductLoginResources {
		if r = strings.TrimSpace(r); r != "" {
			out = append(out, r)
		}
	}
	return out
}

// checkProductLoginResources refuses a policy naming a product-login
// resource that does not resolve: every product login would fail later,
// far from the typo that caused it.
func (s *Service) checkProductLoginResources(ctx context.Context, tenantID string, p TenantPolicy) error {
	if len(p.ProductLoginResources) > MaxProductLoginResources {
		return invalid("a policy may allow at most %d product-login resources", MaxProductLoginResources)
	}
	for _, ref := range p.productLoginResources() {
		if _, err := s.ResolveResource(ctx, tenantID, ref); err != nil {
			if errors.Is(err, ErrUnknownResource) {
				return invalid("product-login resource %q: no application with an enabled service principal answers to it", ref)
			}
			return err
		}
	}
	return nil
}
