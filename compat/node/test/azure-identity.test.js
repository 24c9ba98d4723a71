// @azure/identity's credentials, as the Azure SDKs take them, pointed at
// tessera with authorityHost and disableInstanceDiscovery: a secret, a
// certificate, device code approved at the pages, and a password.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ClientCertificateCredential, ClientSecretCredential, DeviceCodeCredential, UsernamePasswordCredential,
} from "@azure/identity";
import { fx } from "../lib/fixture.js";
import { checkAppToken, checkUserToken } from "../lib/check.js";
import { approveDevice } from "../lib/pages.js";

const options = { authorityHost: fx.url, disableInstanceDiscovery: true };
const appScope = `${fx.studies.uri}/.default`;
const userScope = `${fx.studies.uri}/Studies.Read`;

function assertExpiry(token) {
  const left = token.expiresOnTimestamp - Date.now();
  assert.ok(left > 5 * 60e3 && left <= 24 * 3600e3, `expiresOnTimestamp ${token.expiresOnTimestamp} is ${left} ms away`);
}

test("@azure/identity: ClientSecretCredential", { timeout: 60_000 }, async () => {
  const cred = new ClientSecretCredential(fx.tenantId, fx.worker.appId, fx.worker.secret, options);
  const token = await cred.getToken(appScope);
  assertExpiry(token);
  await checkAppToken(token.token, fx.worker.appId);
});

test("@azure/identity: ClientCertificateCredential", { timeout: 60_000 }, async () => {
  const cred = new ClientCertificateCredential(fx.tenantId, fx.worker.appId,
    { certificate: fx.worker.keyPem + fx.worker.certPem }, { ...options, sendCertificateChain: true });
  const token = await cred.getToken(appScope);
  const claims = await checkAppToken(token.token, fx.worker.appId);
  assert.equal(claims.azpacr, "2");
});

test("@azure/identity: DeviceCodeCredential, approved at the verification page", { timeout: 60_000 }, async () => {
  let approval;
  const cred = new DeviceCodeCredential({
    ...options, tenantId: fx.tenantId, clientId: fx.desktop.appId,
    userPromptCallback: (info) => { approval = approveDevice(info.verificationUri, info.userCode); },
  });
  const token = await cred.getToken(userScope);
  await approval;
  assertExpiry(token);
  await checkUserToken(token.token, fx.desktop.appId);
});

test("@azure/identity: UsernamePasswordCredential", { timeout: 60_000 }, async () => {
  const cred = new UsernamePasswordCredential(fx.tenantId, fx.desktop.appId, fx.user.username, fx.user.password, options);
  const token = await cred.getToken(userScope);
  await checkUserToken(token.token, fx.desktop.appId);
});
