// @azure/msal-node's PublicClientApplication as a desktop or CLI app uses
// it against Entra, with only the authority changed: device code (the
// person approves at the verification page), username and password, the
// cached account's refresh token for the same and a second API, and the
// authorization code flow with PKCE (RFC 7636) through the pages.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CryptoProvider, PublicClientApplication } from "@azure/msal-node";
import { authority, fx } from "../lib/fixture.js";
import { callStudies, checkUserToken, verifyAccessToken } from "../lib/check.js";
import { approveDevice, authorize } from "../lib/pages.js";

const host = new URL(fx.url).host;
const studiesScopes = [`${fx.studies.uri}/Studies.Read`];
const ledgerScopes = [`${fx.ledger.uri}/Ledger.Read`];

const desktopApp = (at = authority) => new PublicClientApplication({
  auth: { clientId: fx.desktop.appId, authority: at, knownAuthorities: [host] },
});

// The account msal builds from the ID token and client_info, as for Entra.
function assertAlice(res) {
  assert.equal(res.tenantId, fx.tenantId, "tenantId");
  assert.equal(res.uniqueId, fx.user.objectId, "uniqueId (oid)");
  assert.equal(res.account?.username, fx.user.username, "account.username");
  assert.equal(res.account?.homeAccountId, `${fx.user.objectId}.${fx.tenantId}`, "account.homeAccountId");
  assert.equal(res.account?.environment, host, "account.environment");
  assert.equal(res.idTokenClaims.aud, fx.desktop.appId, "the ID token's aud");
}

test("msal-node: device code, approved at the verification page", { timeout: 60_000 }, async () => {
  const app = desktopApp();
  let approval;
  const res = await app.acquireTokenByDeviceCode({
    scopes: studiesScopes,
    timeout: 45,
    deviceCodeCallback: (dc) => {
      assert.match(dc.message, new RegExp(dc.userCode));
      approval = approveDevice(dc.verificationUri, dc.userCode);
    },
  });
  await approval;
  assertAlice(res);
  await checkUserToken(res.accessToken, fx.desktop.appId);
});

test("msal-node: username and password, then silent for the same and a second API", { timeout: 60_000 }, async () => {
  const app = desktopApp();
  const res = await app.acquireTokenByUsernamePassword({
    scopes: studiesScopes, username: fx.user.username, password: fx.user.password,
  });
  assertAlice(res);
  await checkUserToken(res.accessToken, fx.desktop.appId);

  const [account] = await app.getTokenCache().getAllAccounts();
  assert.equal(account?.homeAccountId, res.account.homeAccountId);
  const same = await app.acquireTokenSilent({ account, scopes: studiesScopes });
  assert.equal(same.fromCache, true);
  assert.equal(same.accessToken, res.accessToken);
  // forceRefresh redeems the refresh token for the same API.
  const fresh = await app.acquireTokenSilent({ account, scopes: studiesScopes, forceRefresh: true });
  assert.equal(fresh.fromCache, false);
  assert.notEqual(fresh.accessToken, res.accessToken);
  await checkUserToken(fresh.accessToken, fx.desktop.appId);
  // The refresh token is good for another API the person may use
  // (Entra's multi-resource refresh token).
  const ledger = await app.acquireTokenSilent({ account, scopes: ledgerScopes });
  assert.equal(ledger.fromCache, false);
  await verifyAccessToken(ledger.accessToken, { aud: fx.ledger.appId, scp: ["Ledger.Read"], roles: [], azp: fx.desktop.appId, oid: fx.user.objectId });
  // …and a token for the ledger is no good at the studies API.
  const wrong = await callStudies(ledger.accessToken);
  assert.equal(wrong.status, 401);
  assert.match(wrong.headers.get("www-authenticate"), /error="invalid_token"/);
});

// signInWithCode runs the authorization code flow with PKCE as msal-node
// drives it, the browser part through the pages.
async function signInWithCode(app) {
  const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
  const state = new CryptoProvider().createNewGuid();
  const url = await app.getAuthCodeUrl({
    scopes: studiesScopes, redirectUri: fx.desktop.redirectUri, codeChallenge: challenge, codeChallengeMethod: "S256", state,
  });
  const { redirect, consented } = await authorize(url);
  assert.equal(consented, false, "the desktop app is pre-authorized and admin-consented: no consent page");
  assert.equal(`${redirect.origin}${redirect.pathname}`, fx.desktop.redirectUri);
  assert.equal(redirect.searchParams.get("state"), state);
  assert.equal(redirect.searchParams.get("iss"), fx.issuer, "RFC 9207 iss");
  const code = redirect.searchParams.get("code");
  assert.ok(code, `no code in ${redirect}`);
  return app.acquireTokenByCode({ code, scopes: studiesScopes, redirectUri: fx.desktop.redirectUri, codeVerifier: verifier });
}

test("msal-node: authorization code with PKCE through the pages", { timeout: 60_000 }, async () => {
  const res = await signInWithCode(desktopApp());
  assertAlice(res);
  await checkUserToken(res.accessToken, fx.desktop.appId);
});

// A CLI does not know its user's tenant before sign-in (az login): the
// tenant is decided at the pages, and the account is the home tenant's.
test("msal-node: authorization code at the organizations authority", { timeout: 60_000 }, async () => {
  const app = desktopApp(`${fx.url}/organizations`);
  const res = await signInWithCode(app);
  assertAlice(res);
  await checkUserToken(res.accessToken, fx.desktop.appId);
  const [account] = await app.getTokenCache().getAllAccounts();
  const ledger = await app.acquireTokenSilent({ account, scopes: ledgerScopes });
  await verifyAccessToken(ledger.accessToken, { aud: fx.ledger.appId, scp: ["Ledger.Read"], roles: [], azp: fx.desktop.appId, oid: fx.user.objectId });
});
