// What every case checks of the access token it got: its signature
// against tessera's published keys, its issuer, audience, tenant and
// permissions (with jose, as a Node resource server would), and that the
// example studies API, behind the Go guard, serves it.
import assert from "node:assert/strict";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { fx, HTTP_TIMEOUT_MS } from "./fixture.js";

const jwks = createRemoteJWKSet(new URL(fx.jwksUri), { timeoutDuration: HTTP_TIMEOUT_MS });

// verifyAccessToken verifies token and returns its claims. want names the
// audience (an appId: v2 tokens carry it, not the identifier URI) and the
// app roles (roles) or delegated scopes (scp) the token must carry.
export async function verifyAccessToken(token, want) {
  assert.equal(typeof token, "string", "no access token");
  const { payload } = await jwtVerify(token, jwks, {
    issuer: fx.issuer,
    audience: want.aud,
    algorithms: ["RS256", "ES256"],
    requiredClaims: ["exp", "iat", "nbf", "tid"],
  });
  const header = decodeProtectedHeader(token);
  assert.ok(header.kid, "the token's header names no kid");
  assert.equal(payload.tid, fx.tenantId, "tid");
  assert.equal(payload.ver, "2.0", "ver");
  if (want.roles) assert.deepEqual([...(payload.roles ?? [])].sort(), [...want.roles].sort(), "roles");
  if (want.scp) assert.deepEqual((payload.scp ?? "").split(" ").filter(Boolean).sort(), [...want.scp].sort(), "scp");
  if (want.scp === undefined) assert.equal(payload.scp, undefined, "an app token carries no scp");
  if (want.azp) assert.equal(payload.azp, want.azp, "azp");
  if (want.oid) assert.equal(payload.oid, want.oid, "oid");
  return payload;
}

// callStudies calls the example API with token and returns the response.
export async function callStudies(token) {
  return fetch(`${fx.apiUrl}/api/v1/as-user/studies?offset=0&limit=2`, {
    headers: { Authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
  });
}

// assertStudiesServe asserts that the example API answers token with a
// page of the ODM list shape.
export async function assertStudiesServe(token) {
  const res = await callStudies(token);
  const body = await res.text();
  assert.equal(res.status, 200, `the studies API answered ${res.status} ${res.headers.get("www-authenticate") ?? ""} ${body}`);
  const page = JSON.parse(body);
  assert.deepEqual(page.meta.pagination, { count: 2, total: 2345, offset: 0, limit: 2 });
  assert.equal(page.data.length, 2);
  for (const s of page.data) {
    assert.match(s.oid, /^S_[0-9A-F]{12}$/);
    for (const k of ["name", "protocolName", "status", "createdAt"]) assert.equal(typeof s[k], "string", k);
  }
}

// checkAppToken checks a token for the studies API from a client that
// holds the Reader role itself, and calls the API with it.
export async function checkAppToken(token, clientId) {
  const claims = await verifyAccessToken(token, { aud: fx.studies.appId, roles: ["Reader"], azp: clientId });
  assert.equal(claims.idtyp, "app", "idtyp");
  await assertStudiesServe(token);
  return claims;
}

// checkUserToken checks alice's token for the studies API, obtained by
// clientId, and calls the API with it.
export async function checkUserToken(token, clientId) {
  const claims = await verifyAccessToken(token, {
    aud: fx.studies.appId, scp: ["Studies.Read"], roles: ["Reader"], azp: clientId, oid: fx.user.objectId,
  });
  await assertStudiesServe(token);
  return claims;
}
