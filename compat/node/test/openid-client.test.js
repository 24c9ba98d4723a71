// openid-client v6 (the OpenID Foundation-certified client for Node) as
// any OIDC relying party uses it: discovery from the issuer, client
// credentials with client_secret_post and client_secret_basic, the
// authorization code flow with PKCE, the device flow (RFC 8628), refresh
// with rotation (RFC 9700 §4.14.2), revocation (RFC 7009) and
// introspection (RFC 7662) by the resource server.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as oidc from "openid-client";
import { fx, HTTP_TIMEOUT_MS } from "../lib/fixture.js";
import { checkAppToken, checkUserToken } from "../lib/check.js";
import { approveDevice, authorize } from "../lib/pages.js";

// Discover at the tenant's id: at the domain form (/default/v2.0) the
// issuer is still the id's, as at Entra, and openid-client rightly
// refuses an issuer that is not the URL it asked (OpenID Connect
// Discovery §4.3).
const issuer = new URL(`${fx.url}/${fx.tenantId}/v2.0`);
const options = { timeout: HTTP_TIMEOUT_MS / 1000 };
const userScope = `openid profile offline_access ${fx.studies.uri}/Studies.Read`;

const webClient = (auth = oidc.ClientSecretBasic(fx.web.secret)) =>
  oidc.discovery(issuer, fx.web.appId, { redirect_uris: [fx.web.redirectUri] }, auth, options);
const desktopClient = () => oidc.discovery(issuer, fx.desktop.appId, {}, oidc.None(), options);
// The studies API introspects with credentials of its own.
const resourceServer = () => oidc.discovery(issuer, fx.studies.appId, {}, oidc.ClientSecretPost(fx.studies.secret), options);

// signIn runs the web app's authorization code flow with PKCE through
// the pages and returns the tokens openid-client accepted.
async function signIn(config) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: fx.web.redirectUri, scope: userScope, state, nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: "S256",
  });
  const { redirect, consented } = await authorize(url.href);
  const tokens = await oidc.authorizationCodeGrant(config, redirect, {
    pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
  });
  return { tokens, consented };
}

// assertInvalidGrant expects the token endpoint's RFC 6749 §5.2 refusal.
async function assertInvalidGrant(promise, what) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof oidc.ResponseBodyError, `${what}: ${err}`);
    assert.equal(err.error, "invalid_grant", what);
    assert.equal(err.status, 400, what);
    return true;
  }, what);
}

test("openid-client: discovery", { timeout: 60_000 }, async () => {
  const config = await webClient();
  const meta = config.serverMetadata();
  assert.equal(meta.issuer, fx.issuer);
  assert.equal(meta.issuer, issuer.href);
  assert.equal(meta.jwks_uri, fx.jwksUri);
  for (const k of ["authorization_endpoint", "token_endpoint", "device_authorization_endpoint", "revocation_endpoint", "introspection_endpoint", "end_session_endpoint"]) {
    assert.ok(meta[k]?.startsWith(`${fx.url}/${fx.tenantId}/`), `${k}: ${meta[k]}`);
  }
  assert.ok(meta.supportsPKCE("S256"));
  assert.equal(meta.authorization_response_iss_parameter_supported, true);
  await assert.rejects(oidc.discovery(new URL(`${fx.url}/${fx.domain}/v2.0`), fx.web.appId, fx.web.secret, undefined, options),
    (err) => err.code === "OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED", "the domain form's issuer is the tenant id's");
});

test("openid-client: client credentials with client_secret_post", { timeout: 60_000 }, async () => {
  const config = await webClient(oidc.ClientSecretPost(fx.web.secret));
  const tokens = await oidc.clientCredentialsGrant(config, { scope: `${fx.studies.uri}/.default` });
  assert.equal(tokens.token_type.toLowerCase(), "bearer");
  assert.ok(tokens.expiresIn() > 300);
  await checkAppToken(tokens.access_token, fx.web.appId);
});

test("openid-client: client credentials with client_secret_basic", { timeout: 60_000 }, async () => {
  const config = await oidc.discovery(issuer, fx.worker.appId, {}, oidc.ClientSecretBasic(fx.worker.secret), options);
  const tokens = await oidc.clientCredentialsGrant(config, { scope: `${fx.studies.uri}/.default` });
  await checkAppToken(tokens.access_token, fx.worker.appId);
});

test("openid-client: authorization code with PKCE, consent at the first sign-in", { timeout: 60_000 }, async () => {
  const { tokens, consented } = await signIn(await webClient());
  assert.equal(consented, true, "nothing is consented for the web app, so alice is asked");
  const id = tokens.claims();
  assert.equal(id.iss, fx.issuer);
  assert.equal(id.aud, fx.web.appId);
  assert.equal(id.oid, fx.user.objectId);
  assert.equal(id.tid, fx.tenantId);
  assert.equal(id.preferred_username, fx.user.username);
  assert.ok(tokens.refresh_token, "offline_access gives a refresh token");
  await checkUserToken(tokens.access_token, fx.web.appId);
});

test("openid-client: device authorization grant", { timeout: 60_000 }, async () => {
  const config = await desktopClient();
  const device = await oidc.initiateDeviceAuthorization(config, { scope: userScope });
  assert.ok(device.verification_uri.startsWith(`${fx.url}/`), device.verification_uri);
  const [tokens] = await Promise.all([
    oidc.pollDeviceAuthorizationGrant(config, device, undefined, { signal: AbortSignal.timeout(45_000) }),
    approveDevice(device.verification_uri, device.user_code),
  ]);
  assert.equal(tokens.claims().oid, fx.user.objectId);
  await checkUserToken(tokens.access_token, fx.desktop.appId);
});

test("openid-client: refresh rotates; the old refresh token then fails", { timeout: 60_000 }, async () => {
  const config = await webClient();
  const { tokens } = await signIn(config);
  const fresh = await oidc.refreshTokenGrant(config, tokens.refresh_token);
  assert.ok(fresh.refresh_token && fresh.refresh_token !== tokens.refresh_token, "a new refresh token");
  assert.notEqual(fresh.access_token, tokens.access_token);
  await checkUserToken(fresh.access_token, fx.web.appId);
  await assertInvalidGrant(oidc.refreshTokenGrant(config, tokens.refresh_token), "the rotated refresh token");
  // Reuse of a rotated token ends the whole sign-in, newest token too.
  await assertInvalidGrant(oidc.refreshTokenGrant(config, fresh.refresh_token), "the newest refresh token after reuse");
});

test("openid-client: revocation (RFC 7009)", { timeout: 60_000 }, async () => {
  const config = await webClient();
  const api = await resourceServer();
  const { tokens } = await signIn(config);
  assert.equal((await oidc.tokenIntrospection(api, tokens.access_token)).active, true);
  await oidc.tokenRevocation(config, tokens.refresh_token, { token_type_hint: "refresh_token" });
  await assertInvalidGrant(oidc.refreshTokenGrant(config, tokens.refresh_token), "a revoked refresh token");
  // Revoking the refresh token ends its sign-in: the access tokens of
  // that sign-in are no longer active either.
  assert.deepEqual(await oidc.tokenIntrospection(api, tokens.access_token), { active: false });
  // An unknown token is no error (RFC 7009 §2.2).
  await oidc.tokenRevocation(config, "tsr_not-a-token");
});

test("openid-client: introspection by the resource server (RFC 7662)", { timeout: 60_000 }, async () => {
  const api = await resourceServer();
  const app = await oidc.clientCredentialsGrant(await webClient(), { scope: `${fx.studies.uri}/.default` });
  const info = await oidc.tokenIntrospection(api, app.access_token);
  assert.equal(info.active, true);
  assert.equal(info.client_id, fx.web.appId);
  assert.equal(info.aud, fx.studies.appId);
  assert.equal(info.iss, fx.issuer);
  assert.equal(info.tid, fx.tenantId);
  assert.deepEqual(info.roles, ["Reader"]);
  assert.ok(info.exp > Date.now() / 1000);

  const { tokens } = await signIn(await webClient());
  const user = await oidc.tokenIntrospection(api, tokens.access_token);
  assert.equal(user.active, true);
  assert.equal(user.scope, "Studies.Read");
  assert.equal(user.username, fx.user.username);
  assert.equal(user.client_id, fx.web.appId);

  assert.deepEqual(await oidc.tokenIntrospection(api, "eyJhbGciOiJub25lIn0.e30."), { active: false });
  // The endpoint is not open: a wrong secret is refused (RFC 7662 §2.1).
  const stranger = await oidc.discovery(issuer, fx.studies.appId, {}, oidc.ClientSecretPost("tss_wrong"), options);
  await assert.rejects(oidc.tokenIntrospection(stranger, app.access_token), (err) => err.error === "invalid_client");
});
