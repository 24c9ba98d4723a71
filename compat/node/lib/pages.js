// A person at tessera's pages, over plain HTTP: a cookie-keeping client
// that reads the forms of the sign-in, account, consent and device pages
// and answers them as someone who accepts. The pages mark what they are
// with <main data-page="…">; their forms carry a hidden csrf_token and,
// inside a sign-in, a sealed flow, which are sent back as they came.
import assert from "node:assert/strict";
import { fx, HTTP_TIMEOUT_MS } from "./fixture.js";

const reForm = /<form\b([^>]*)>([\s\S]*?)<\/form>/g;
const reInput = /<input\b([^>]*)>/g;
const reAttr = /([a-zA-Z_:][-a-zA-Z0-9_:.]*)="([^"]*)"/g;
const reDataPage = /<main\b[^>]*\bdata-page="([^"]*)"/;
const reMessage = /<p\b[^>]*class="message[^"]*"[^>]*>([\s\S]*?)<\/p>/;

const unescape = (s) => s.replace(/&(#39|#34|quot|amp|lt|gt|#x27);/g, (_, e) =>
  ({ "#39": "'", "#34": '"', quot: '"', amp: "&", lt: "<", gt: ">", "#x27": "'" })[e]);

function attrs(s) {
  const out = {};
  for (const m of s.matchAll(reAttr)) out[m[1].toLowerCase()] = unescape(m[2]);
  return out;
}

function parsePage(status, url, body) {
  const forms = [];
  for (const fm of body.matchAll(reForm)) {
    const a = attrs(fm[1]);
    const fields = new URLSearchParams();
    for (const im of fm[2].matchAll(reInput)) {
      const ia = attrs(im[1]);
      if (ia.name) fields.append(ia.name, ia.value ?? "");
    }
    forms.push({ id: a.id, action: new URL(a.action ?? "", url).href, fields });
  }
  const message = body.match(reMessage)?.[1].replace(/<[^>]*>/g, "").trim() ?? "";
  return { status, url, kind: body.match(reDataPage)?.[1], body, forms, message };
}

function formOf(page, id) {
  const f = page.forms.find((f) => f.id === id);
  assert.ok(f, `the ${page.kind} page (status ${page.status}) has no form#${id}: ${page.message}\n${page.body}`);
  return f;
}

// A Browser follows redirects within tessera and stops at any other, so
// that the redirect to a client's redirect URI is returned, not followed.
export class Browser {
  #cookies = new Map(); // name → value; every cookie is tessera's

  async #send(url, init) {
    for (let hops = 0; hops < 10; hops++) {
      const headers = { ...init.headers };
      if (this.#cookies.size) headers.Cookie = [...this.#cookies].map(([k, v]) => `${k}=${v}`).join("; ");
      const res = await fetch(url, { ...init, headers, redirect: "manual", signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
      for (const c of res.headers.getSetCookie()) {
        const [pair, ...attrs] = c.split(";");
        const [name, value] = [pair.slice(0, pair.indexOf("=")).trim(), pair.slice(pair.indexOf("=") + 1).trim()];
        const gone = attrs.some((a) => /^\s*max-age=(0|-)/i.test(a));
        if (gone) this.#cookies.delete(name); else this.#cookies.set(name, value);
      }
      const body = await res.text();
      if (res.status >= 300 && res.status < 400) {
        const next = new URL(res.headers.get("location"), url);
        if (next.origin !== fx.url) return { redirect: next };
        url = next.href;
        init = { method: "GET" };
        continue;
      }
      return { page: parsePage(res.status, url, body) };
    }
    throw new Error(`more than 10 redirects from ${url}`);
  }

  get(url) {
    return this.#send(url, { method: "GET" });
  }

  // submit posts form#id of page with its hidden fields and set.
  submit(page, id, set = {}) {
    const f = formOf(page, id);
    const form = new URLSearchParams(f.fields);
    for (const [k, v] of Object.entries(set)) form.set(k, v);
    return this.#send(f.action, {
      method: "POST", body: form.toString(), headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
  }

  // walk answers the pages of a sign-in as a person who accepts, until
  // tessera redirects away or shows a page that needs no answer.
  async walk(step, user = fx.user) {
    for (let i = 0; i < 10; i++) {
      if (step.redirect) return step;
      const p = step.page;
      switch (p.kind) {
        case "signin":
          step = await this.submit(p, "signin", { username: user.username, password: user.password });
          break;
        case "select_account":
          step = await this.submit(p, "select_account", { account: "continue" });
          break;
        case "consent":
          this.consented = true;
          step = await this.submit(p, "consent", { decision: "accept" });
          break;
        default:
          return step;
      }
    }
    throw new Error(`the sign-in did not end after 10 pages; last ${step.page?.kind}`);
  }
}

// authorize opens an authorization URL in a fresh browser, signs in,
// accepts, and returns the redirect to the client without following it
// and whether a consent page was shown.
export async function authorize(url, user = fx.user) {
  const b = new Browser();
  const step = await b.walk(await b.get(url), user);
  assert.ok(step.redirect, `authorize ended on the ${step.page?.kind} page (status ${step.page?.status}): ${step.page?.message}\n${step.page?.body}`);
  return { redirect: step.redirect, consented: !!b.consented };
}

// approveDevice enters userCode at verificationUri, signs in, accepts,
// and expects the page that tells the person to go back to the device.
export async function approveDevice(verificationUri, userCode, user = fx.user) {
  const b = new Browser();
  const first = await b.get(verificationUri);
  assert.ok(first.page, `the verification URI ${verificationUri} redirected to ${first.redirect}`);
  const step = await b.walk(await b.submit(first.page, "device", { user_code: userCode }), user);
  assert.equal(step.page?.kind, "device_done",
    `device approval ended on ${step.redirect ?? `the ${step.page?.kind} page (status ${step.page?.status}): ${step.page?.message}`}`);
  return { consented: !!b.consented };
}
