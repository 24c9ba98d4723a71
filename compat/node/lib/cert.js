// A self-signed X.509 certificate made with node:crypto alone: node can
// parse certificates (X509Certificate) but not issue them, so the few DER
// structures of RFC 5280 §4.1 are written here by hand.
import { createHash, generateKeyPairSync, randomBytes, sign, X509Certificate } from "node:crypto";

function len(n) {
  if (n < 0x80) return Buffer.from([n]);
  const bytes = [];
  for (; n > 0; n >>= 8) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const tlv = (tag, ...parts) => {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
};
const seq = (...parts) => tlv(0x30, ...parts);
const set = (...parts) => tlv(0x31, ...parts);
const utf8 = (s) => tlv(0x0c, Buffer.from(s, "utf8"));
const nul = () => Buffer.from([0x05, 0x00]);

function oid(dotted) {
  const [a, b, ...rest] = dotted.split(".").map(Number);
  const out = [40 * a + b];
  for (let v of rest) {
    const chunk = [v & 0x7f];
    for (v >>= 7; v > 0; v >>= 7) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

// UTCTime for dates before 2050, as RFC 5280 §4.1.2.5 requires.
function time(d) {
  const s = d.toISOString().replace(/[-:T]/g, "").slice(2, 14) + "Z";
  return tlv(0x17, Buffer.from(s, "ascii"));
}

const sha256WithRSA = seq(oid("1.2.840.113549.1.1.11"), nul());

// selfSigned returns an RSA key and a certificate for CN=commonName that
// is valid from an hour ago for a day, as PEM, with the certificate's
// SHA-256 and SHA-1 thumbprints in hex.
export function selfSigned(commonName) {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const name = seq(set(seq(oid("2.5.4.3"), utf8(commonName))));
  const serial = randomBytes(16);
  // A positive INTEGER in its shortest form (X.690 §8.3.2): the first
  // byte neither 0 (a padding byte DER forbids, which node then refuses,
  // 1 run in 128) nor with its high bit set (negative).
  serial[0] = (serial[0] & 0x3f) | 0x40;
  const now = Date.now();
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))), // version v3
    tlv(0x02, serial),
    sha256WithRSA,
    name,
    seq(time(new Date(now - 3600e3)), time(new Date(now + 86400e3))),
    name,
    publicKey.export({ type: "spki", format: "der" }),
  );
  const signature = sign("sha256", tbs, privateKey);
  const der = seq(tbs, sha256WithRSA, tlv(0x03, Buffer.from([0]), signature));
  const certPem = `-----BEGIN CERTIFICATE-----\n${der.toString("base64").match(/.{1,64}/g).join("\n")}\n-----END CERTIFICATE-----\n`;
  const cert = new X509Certificate(certPem); // throws if the DER is wrong
  if (!cert.verify(publicKey)) throw new Error("the self-signed certificate does not verify");
  return {
    keyPem: privateKey.export({ type: "pkcs8", format: "pem" }),
    certPem,
    thumbprintSha256: createHash("sha256").update(der).digest("hex"),
    thumbprintSha1: createHash("sha1").update(der).digest("hex"),
  };
}
