// npm test: start a real tessera and the example studies API on loopback,
// register the apps and the person the cases need with the tessera CLI,
// then run the cases with node's test runner. NODE_EXTRA_CA_CERTS is only
// read when node starts, so the cases run in a child node that trusts
// tessera's local CA from its first line, as a user's program would.
//
// TESSERA_BIN and STUDIES_API_BIN use prebuilt binaries instead of
// `go build`. Everything started here is stopped on the way out.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { selfSigned } from "./lib/cert.js";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../..");
const tmp = mkdtempSync(join(tmpdir(), "tessera-compat-node-"));
const children = new Set();
const SUITE_TIMEOUT_MS = 150_000;

// The person's password (tessera wants 12 characters or more).
const PASSWORD = "correct horse battery staple";

const running = (c) => c.exitCode === null && c.signalCode === null;

// stop ends every child with SIGTERM and waits for them to exit (tessera
// shuts down gracefully), with SIGKILL for any still there after 10 s.
async function stop() {
  await Promise.all([...children].filter(running).map((c) => new Promise((ok) => {
    const kill = setTimeout(() => c.kill("SIGKILL"), 10_000);
    c.on("exit", () => { clearTimeout(kill); ok(); });
    c.kill("SIGTERM");
  })));
}
// On any other way out, nothing is left running.
process.on("exit", () => {
  for (const c of children) if (running(c)) c.kill("SIGKILL");
  if (!process.env.KEEP_TMP) rmSync(tmp, { recursive: true, force: true });
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => stop().then(() => process.exit(130)));

// fail ends the run during setup, with the end of each child's output.
function fail(msg) {
  for (const c of children) if (c.output) console.error(`--- ${c.logFile}\n${c.output.split("\n").slice(-30).join("\n")}`);
  console.error(`compat/node: ${msg}`);
  process.exit(1);
}

function freePort() {
  return new Promise((ok, bad) => {
    const s = createServer();
    s.on("error", bad);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

function withTimeout(promise, ms, what) {
  let timer;
  const t = new Promise((_, bad) => { timer = setTimeout(() => bad(new Error(`${what}: no answer within ${ms / 1000}s`)), ms); });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

// start spawns a long-running child whose output goes to a log file in
// the temporary folder, shown if the suite fails to set up.
function start(name, cmd, args, env) {
  const log = join(tmp, `${name}.log`);
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  child.logFile = log;
  child.output = "";
  const collect = (b) => { child.output += b; writeFileSync(log, child.output); };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  return child;
}

// waitForLine resolves with the first match of re in the child's output.
function waitForLine(child, re, ms, what) {
  return withTimeout(new Promise((ok, bad) => {
    const check = () => {
      const m = child.output.match(re);
      if (m) { child.stdout.off("data", check); child.stderr.off("data", check); ok(m); }
    };
    child.stdout.on("data", check);
    child.stderr.on("data", check);
    child.on("exit", (code) => bad(new Error(`${what}: exited ${code} before it was ready:\n${child.output}`)));
    check();
  }), ms, what);
}

// build compiles tessera and the example API once, unless TESSERA_BIN
// and STUDIES_API_BIN name binaries already built.
function build() {
  const out = join(tmp, "bin");
  mkdirSync(out);
  const want = { tessera: process.env.TESSERA_BIN, studiesApi: process.env.STUDIES_API_BIN };
  const pkgs = [];
  if (!want.tessera) { want.tessera = join(out, "tessera"); pkgs.push("./cmd/tessera"); }
  if (!want.studiesApi) { want.studiesApi = join(out, "studies-api"); pkgs.push("./examples/studies/cmd/studies-api"); }
  if (pkgs.length) {
    const r = spawnSync("go", ["build", "-o", out + "/", ...pkgs], { cwd: repo, stdio: ["ignore", "inherit", "inherit"], timeout: 240_000 });
    if (r.status !== 0) fail(`go build ${pkgs.join(" ")} failed (${r.error ?? `exit ${r.status}`})`);
  }
  return want;
}

// postForm sends a form over HTTPS trusting only tessera's CA.
function postForm(url, form, ca) {
  return withTimeout(new Promise((ok, bad) => {
    const body = new URLSearchParams(form).toString();
    const req = request(url, { method: "POST", ca, headers: { "Content-Type": "application/x-www-form-urlencoded" } }, (res) => {
      let text = "";
      res.on("data", (b) => { text += b; });
      res.on("end", () => ok({ status: res.statusCode, json: JSON.parse(text) }));
    });
    req.on("error", bad);
    req.end(body);
  }), 10_000, `POST ${url}`);
}

async function main() {
  const bin = build();
  const port = await freePort();
  const data = join(tmp, "data");
  const server = start("tessera", bin.tessera, ["serve", "--data", data, "--addr", `127.0.0.1:${port}`, "--log-level", "debug"]);
  const [, url, domain, issuer] = await waitForLine(server, /Serving (https:\/\/\S+) \(tenant (\S+): (\S+)\)/, 30_000, "tessera serve");
  const caFile = server.output.match(/export NODE_EXTRA_CA_CERTS=(\S+)/)[1];
  // The first start writes its admin client to the data folder (0600);
  // with stdout a pipe the secret is nowhere in the output.
  const boot = JSON.parse(readFileSync(join(data, "bootstrap-admin.json"), "utf8"));
  const { tenantId, clientId: bootstrapId, clientSecret: bootstrapSecret } = boot;
  const ca = readFileSync(caFile);

  // The admin API, as an operator elsewhere would use it: a token for
  // api://tessera-admin by client credentials with the bootstrap client.
  const admin = await postForm(`${url}/${tenantId}/oauth2/v2.0/token`, {
    grant_type: "client_credentials", client_id: bootstrapId, client_secret: bootstrapSecret,
    scope: "api://tessera-admin/.default",
  }, ca);
  if (admin.status !== 200) fail(`admin token: ${admin.status} ${JSON.stringify(admin.json)}`);
  const cli = (args, input) => {
    const r = spawnSync(bin.tessera, ["admin", ...args, "--server", url, "--ca-file", caFile, "-o", "json"], {
      input, encoding: "utf8", timeout: 30_000,
      env: { ...process.env, TESSERA_ADMIN_TOKEN: admin.json.access_token, TESSERA_CONFIG_DIR: join(tmp, "config") },
    });
    if (r.status !== 0) fail(`tessera admin ${args.join(" ")}: exit ${r.status}\n${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  const app = (...args) => {
    const a = cli(["app", "create", ...args]);
    cli(["sp", "create", "--id", a.appId]);
    return a;
  };
  const secret = (appId) => cli(["secret", "add", "--id", appId, "--display-name", "compat"]).secretText;

  // A native app: public, with a loopback redirect nobody listens on —
  // the cases read the code from the redirect instead of following it.
  const desktopRedirect = "http://localhost:8400/callback";
  const desktop = app("--display-name", "Studies desktop", "--public-client", "--redirect-uri", desktopRedirect);
  // Two APIs the person may use; both let the native app use their
  // delegated scope without asking (Entra's preAuthorizedApplications).
  // The studies API introspects tokens, so it has a secret.
  const studies = app("--display-name", "Studies API", "--identifier-uri", "api://studies",
    "--app-role", "Reader", "--scope", "Studies.Read", "--pre-authorize", `${desktop.appId}=Studies.Read`);
  const studiesSecret = secret(studies.appId);
  const ledger = app("--display-name", "Ledger API", "--identifier-uri", "api://ledger",
    "--scope", "Ledger.Read", "--pre-authorize", `${desktop.appId}=Ledger.Read`);
  // The person signs in to the native app without a consent page for the
  // OpenID Connect scopes too: the password grant has no page to ask on.
  cli(["consent", "grant", "--client", desktop.appId, "--resource", "openid",
    "--scope", "openid", "--scope", "profile", "--scope", "offline_access"]);

  // A daemon: a secret and a certificate, and the Reader role.
  const worker = app("--display-name", "Studies worker");
  const workerSecret = secret(worker.appId);
  const cert = selfSigned("studies-worker");
  writeFileSync(join(tmp, "worker.pem"), cert.certPem);
  cli(["cert", "add", "--id", worker.appId, "--cert", join(tmp, "worker.pem")]);
  cli(["role", "assign", "--assignee", worker.appId, "--resource", "api://studies", "--role", "Reader"]);

  // A web app: confidential, signs people in, and has the Reader role
  // itself. Nothing is consented for it, so people see the consent page.
  const webRedirect = "http://localhost:8401/callback";
  const web = app("--display-name", "Studies web", "--redirect-uri", webRedirect);
  const webSecret = secret(web.appId);
  cli(["role", "assign", "--assignee", web.appId, "--resource", "api://studies", "--role", "Reader"]);

  const alice = cli(["user", "create", "--upn", "alice", "--display-name", "Alice", "--mail", "alice@example.com", "--password-stdin"], PASSWORD);
  cli(["role", "assign", "--assignee", alice.id, "--resource", "api://studies", "--role", "Reader"]);
  // RFC 9700 §4.14.2 strictly: a rotated refresh token fails at once.
  cli(["tenant", "set-policy", "--refresh-grace", "off"]);

  // v2 access tokens name the API by its appId, as Entra's do; a resource
  // server accepts that and the identifier URI (v1 tokens carry the one
  // requested).
  const apiPort = await freePort();
  const api = start("studies-api", bin.studiesApi, ["--addr", `127.0.0.1:${apiPort}`,
    "--authority", `${url}/${domain}/v2.0`, "--audience", "api://studies", "--audience", studies.appId], { SSL_CERT_FILE: caFile });
  await waitForLine(api, /studies-api listening/, 30_000, "studies-api");

  const fixture = {
    url, port, tenantId, domain, issuer, caFile,
    jwksUri: `${url}/${tenantId}/discovery/v2.0/keys`,
    apiUrl: `http://127.0.0.1:${apiPort}`,
    desktop: { appId: desktop.appId, redirectUri: desktopRedirect },
    studies: { appId: studies.appId, uri: "api://studies", secret: studiesSecret },
    ledger: { appId: ledger.appId, uri: "api://ledger" },
    worker: { appId: worker.appId, secret: workerSecret, ...cert },
    web: { appId: web.appId, secret: webSecret, redirectUri: webRedirect },
    user: { username: alice.userPrincipalName, objectId: alice.id, password: PASSWORD },
  };
  const fixtureFile = join(tmp, "fixture.json");
  writeFileSync(fixtureFile, JSON.stringify(fixture, null, 2), { mode: 0o600 });

  // Test files run side by side: most of a device flow is waiting for
  // the person, and the machine has two cores.
  const files = readdirSync(join(here, "test")).filter((f) => f.endsWith(".test.js")).sort().map((f) => join("test", f));
  const only = process.argv.slice(2);
  const runner = spawn(process.execPath, ["--test", "--test-reporter=spec", "--test-concurrency=4", ...(only.length ? only : files)], {
    cwd: here, stdio: "inherit",
    env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile, TESSERA_COMPAT_FIXTURE: fixtureFile },
  });
  children.add(runner);
  let code = await withTimeout(new Promise((ok) => runner.on("exit", (c, s) => ok(c ?? (s ? 1 : 0)))), SUITE_TIMEOUT_MS, "node --test")
    .catch((err) => { console.error(`compat/node: ${err.message}`); return 1; });
  await stop();

  // Whatever the clients sent, the server's log holds no password or
  // client secret.
  const secrets = { "alice's password": PASSWORD, "the worker's secret": workerSecret, "the web app's secret": webSecret,
    "the studies API's secret": studiesSecret, "the bootstrap secret": bootstrapSecret, "the admin token": admin.json.access_token.split(".")[2] };
  const [, log] = server.output.split(/^Serving .*$/m);
  for (const [what, value] of Object.entries(secrets)) {
    if (log.includes(value)) { console.error(`compat/node: tessera logged ${what}`); code = 1; }
  }
  const problems = log.split("\n").filter((l) => /level=(WARN|ERROR)/.test(l));
  if (code !== 0 && problems.length) console.error(`compat/node: tessera's warnings and errors:\n${problems.join("\n")}`);
  process.exit(code);
}

main().catch((err) => fail(err.stack ?? err));
