// The fixture run.js wrote: tessera's address and tenant, and the apps,
// secrets, certificate and person it registered for the cases.
import { readFileSync } from "node:fs";

const file = process.env.TESSERA_COMPAT_FIXTURE;
if (!file) throw new Error("TESSERA_COMPAT_FIXTURE is not set: run the cases with `npm test`, which starts tessera");

export const fx = JSON.parse(readFileSync(file, "utf8"));

// The authority as Microsoft's libraries take it: the host and the tenant.
export const authority = `${fx.url}/${fx.tenantId}`;
// Every wait in the cases is bounded by this.
export const HTTP_TIMEOUT_MS = 10_000;
