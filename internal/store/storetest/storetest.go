// Package storetest is the conformance suite of the storage contract
// (store.Store): every engine runs Run against itself and may skip none of
// it. What the suite does not pin down is not part of the contract.
package storetest

import (
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/store"
)

// Run runs the suite. open must return a new, empty store for each call
// and register its cleanup with t.
//
// Values are compared with reflect.DeepEqual, so the fixtures use what the
// contract guarantees to return: times in UTC with microsecond precision,
// and empty (never nil) slices; a nil slice written is read back empty.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"Tenants/RoundTrip", testTenantRoundTrip},
		{"Tenants/Errors", testTenantErrors},
		{"Tenants/ListOrder", testTenantListOrder},
		{"Tenants/TimesReadBackInUTC", testTimesReadBackInUTC},
		{"Tenants/Update", testTenantUpdate},

		{"Applications/RoundTrip", testApplicationRoundTrip},
		{"Applications/NilSlicesReadBackEmpty", testNilSlicesReadBackEmpty},
		{"Applications/Conflicts", testApplicationConflicts},
		{"Applications/UpdateMovesIdentifierURIs", testApplicationUpdateMovesURIs},
		{"Applications/NotFound", testApplicationNotFound},
		{"Applications/ListOrder", testApplicationListOrder},
		{"Applications/DeleteCascades", testDeleteApplicationCascades},
		{"Applications/IDsAcrossTenants", testApplicationIDsAcrossTenants},
		{"Tenants/Domains", testTenantDomains},

		{"ServicePrincipals/RoundTrip", testServicePrincipalRoundTrip},
		{"ServicePrincipals/Errors", testServicePrincipalErrors},
		{"ServicePrincipals/DeleteCascades", testDeleteServicePrincipalCascades},

		{"Credentials/RoundTrip", testCredentialRoundTrip},
		{"Credentials/Errors", testCredentialErrors},

		{"RoleAssignments/RoundTrip", testRoleAssignmentRoundTrip},
		{"RoleAssignments/Errors", testRoleAssignmentErrors},

		{"Users/RoundTrip", testUserRoundTrip},
		{"Users/Errors", testUserErrors},
		{"Users/DeleteCascades", testDeleteUserCascades},
		{"Users/SignInFailures", testSignInFailures},
		{"Users/ListLocked", testListLockedUsers},
		{"Users/Enabled", testUserEnabled},
		{"NameFailures/Count", testNameFailures},
		{"NameFailures/TenancyAndPurge", testNameFailuresTenancyAndPurge},

		{"AddressBans/Count", testAddressFailures},
		{"AddressBans/ListAndLift", testAddressBanListAndLift},
		{"AddressBans/Purge", testPurgeAddressFailures},
		{"Tenancy/AddressBans", testAddressBanTenancy},

		{"Consents/RoundTrip", testConsentRoundTrip},
		{"Consents/Errors", testConsentErrors},

		{"BrowserSessions/RoundTrip", testBrowserSessionRoundTrip},
		{"BrowserSessions/Revoke", testRevokeBrowserSession},

		{"Grants/RoundTrip", testGrantRoundTrip},
		{"Grants/Errors", testGrantErrors},
		{"Grants/Channel", testGrantChannel},
		{"Grants/Revoke", testRevokeGrant},
		{"Grants/RevokeGrantsOf", testRevokeGrantsOf},

		{"Codes/Redeem", testRedeemCode},
		{"Codes/Errors", testCodeErrors},

		{"RefreshTokens/RoundTrip", testRefreshTokenRoundTrip},
		{"RefreshTokens/Rotate", testRotateRefreshToken},
		{"RefreshTokens/Reuse", testRotateReuse},
		{"RefreshTokens/GraceZero", testRotateGraceZero},
		{"RefreshTokens/Errors", testRotateErrors},
		{"RefreshTokens/ForgetSealed", testForgetSealed},
		{"Purge", testPurge},
		{"Purge/Batches", testPurgeBatches},

		{"DeviceCodes/RoundTrip", testDeviceCodeRoundTrip},
		{"DeviceCodes/UserCodeReuse", testDeviceUserCodeReuse},
		{"DeviceCodes/Approve", testApproveDeviceCode},
		{"DeviceCodes/Poll", testPollDeviceCode},
		{"DeviceCodes/PendingLimit", testDevicePendingLimit},

		{"Revocations/Feed", testRevocationFeed},
		{"Revocations/Superseding", testSupersedingFeed},
		{"Revocations/Lookup", testLookupRevocations},

		{"Audit/RoundTrip", testAuditRoundTrip},
		{"Audit/Query", testAuditQuery},
		{"Audit/Purge", testAuditPurge},
		{"Tenancy/Audit", testAuditTenancy},

		{"DirectoryVersion/MovesOnEveryDirectoryWrite", testDirectoryVersion},
		{"DirectoryVersion/UsersEnabledAndDeleted", testDirectoryVersionUsers},

		{"Tenancy/UnknownTenant", testUnknownTenant},
		{"Tenancy/ObjectOfAnotherTenant", testObjectOfAnotherTenant},
		{"Tenancy/Reads", testIsolationReads},
		{"Tenancy/Writes", testIsolationWrites},
		{"Tenancy/ConsumeOnce", testIsolationConsumeOnce},
		{"Tenancy/SessionReads", testIsolationSessionReads},
		{"Tenancy/SessionWrites", testIsolationSessionWrites},
		{"Tenancy/SessionObjectsOfAnotherTenant", testSessionObjectsOfAnotherTenant},

		{"ConsumeOnce/Replay", testConsumeOnceReplay},
		{"ConsumeOnce/Expiry", testConsumeOnceExpiry},

		{"SigningKeys/Init", testInitSigningKeys},
		{"SigningKeys/Rotate", testRotateSigningKeys},

		{"Concurrency/ConsumeOnce", testConcurrentConsumeOnce},
		{"Concurrency/InitSigningKeys", testConcurrentInitSigningKeys},
		{"Concurrency/RotateSigningKeys", testConcurrentRotateSigningKeys},
		{"Concurrency/CreateServicePrincipal", testConcurrentCreateServicePrincipal},
		{"Concurrency/ReadersAndWriters", testConcurrentReadersAndWriters},
		{"Concurrency/RotateRefreshTokenNoGrace", testConcurrentRotateNoGrace},
		{"Concurrency/RotateRefreshTokenInGrace", testConcurrentRotateInGrace},
		{"Concurrency/RedeemCode", testConcurrentRedeemCode},
		{"Concurrency/PollDeviceCode", testConcurrentPollDeviceCode},
		{"Concurrency/ApproveDeviceCode", testConcurrentApproveDeviceCode},
		{"Concurrency/DevicePendingLimit", testConcurrentDevicePendingLimit},
		{"Concurrency/RecordSignInFailure", testConcurrentSignInFailures},
		{"Concurrency/RecordAddressFailure", testConcurrentAddressFailures},
		{"Concurrency/RecordNameFailure", testConcurrentNameFailures},
		{"Concurrency/RevokeGrant", testConcurrentRevokeGrant},
		{"Concurrency/Supersede", testConcurrentSupersede},

		{"Ping", func(t *testing.T, s store.Store) { must(t, s.Ping(t.Context())) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
	// A row for each outcome of each session decision, each on a store
	// of its own.
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, func(*testing.T) store.Store)
	}{
		{"Decisions/Rotation", testRotationOutcomes},
		{"Decisions/Redemption", testRedemptionOutcomes},
		{"Decisions/Device", testDeviceOutcomes},
		// A backup restored on a store of the same engine.
		{"Dump/RoundTrip", func(t *testing.T, open func(*testing.T) store.Store) { testDumpRoundTrip(t, open, open) }},
		{"Dump/Refusals", func(t *testing.T, open func(*testing.T) store.Store) { testDumpRefusals(t, open, open) }},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

// t0 is the suite's reference time: UTC, with microseconds, so it
// round-trips exactly through every engine.
var t0 = time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)

// at is t0 plus i seconds.
func at(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want %v", err, target)
	}
}

func wantEqual[T any](t *testing.T, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n\t%+v\nwant\n\t%+v", got, want)
	}
}

// race runs fn(0) … fn(n-1) on n goroutines released at the same moment
// and returns their errors by index.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// outcomes counts nil errors and errors that are target, and fails the test
// on any other error.
func outcomes(t *testing.T, errs []error, target error) (ok, matched int) {
	t.Helper()
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, target):
			matched++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	return ok, matched
}
