// @azure/msal-node's ConfidentialClientApplication as a daemon uses it
// against Entra, with only the authority changed: client credentials with
// a secret and with a certificate (RFC 7523 client assertion).
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfidentialClientApplication } from "@azure/msal-node";
import { authority, fx } from "../lib/fixture.js";
import { checkAppToken } from "../lib/check.js";

const host = new URL(fx.url).host;
const scopes = [`${fx.studies.uri}/.default`];

function daemon(credentials) {
  return new ConfidentialClientApplication({
    auth: { clientId: fx.worker.appId, authority, knownAuthorities: [host], ...credentials },
  });
}

test("msal-node: client credentials with a secret", { timeout: 60_000 }, async () => {
  const app = daemon({ clientSecret: fx.worker.secret });
  const res = await app.acquireTokenByClientCredential({ scopes });
  assert.equal(res.tokenType, "Bearer");
  const claims = await checkAppToken(res.accessToken, fx.worker.appId);
  assert.equal(claims.azpacr, "1", "a secret is azpacr 1");
  // A second call is served from msal's cache, as against Entra.
  const again = await app.acquireTokenByClientCredential({ scopes });
  assert.equal(again.accessToken, res.accessToken);
  assert.equal(again.fromCache, true);
});

test("msal-node: client credentials with a certificate", { timeout: 60_000 }, async () => {
  const app = daemon({
    clientCertificate: { thumbprintSha256: fx.worker.thumbprintSha256, privateKey: fx.worker.keyPem, x5c: fx.worker.certPem },
  });
  const res = await app.acquireTokenByClientCredential({ scopes });
  const claims = await checkAppToken(res.accessToken, fx.worker.appId);
  assert.equal(claims.azpacr, "2", "a certificate is azpacr 2");
});

test("msal-node: a wrong secret is refused with Entra's error", { timeout: 60_000 }, async () => {
  const app = daemon({ clientSecret: "tss_not-the-secret" });
  await assert.rejects(app.acquireTokenByClientCredential({ scopes }), (err) => {
    assert.equal(err.errorCode, "invalid_client");
    assert.match(err.errorMessage, /AADSTS\d+/);
    return true;
  });
});

test("msal-node: the tenant's domain name as the authority", { timeout: 60_000 }, async () => {
  const app = new ConfidentialClientApplication({
    auth: { clientId: fx.worker.appId, authority: `${fx.url}/${fx.domain}`, knownAuthorities: [host], clientSecret: fx.worker.secret },
  });
  const res = await app.acquireTokenByClientCredential({ scopes });
  await checkAppToken(res.accessToken, fx.worker.appId);
});
