// Enrolment codes are shown as XXXXX-XXXXX (Crockford base32 letters); the server forgives case,
// spaces and dashes, and reads O as 0 and I, L as 1. The UI forgives the same things.

/** The ten characters of a typed code, upper case, without spaces or dashes; O→0, I/L→1. */
export function codeChars(typed: string): string {
  return typed
    .replace(/[\s\-–—_.]/g, "")
    .toUpperCase()
    .replace(/O/g, "0")
    .replace(/[IL]/g, "1");
}

/** The code as shown (XXXXX-XXXXX) when it has ten letters or digits, else null. */
export function normaliseCode(typed: string): string | null {
  const c = codeChars(typed);
  if (!/^[0-9A-Z]{10}$/.test(c)) return null;
  return `${c.slice(0, 5)}-${c.slice(5)}`;
}

/** What a QR image held: the code alone, or a link carrying `code=` (and perhaps `server=`). */
export function parseQrText(text: string): { code: string; server: string | null; ca: string | null } {
  const s = text.trim();
  const q = s.indexOf("?");
  if (q >= 0) {
    // The link's query, as the server's cards write it (form encoding: "+" is a space).
    const params = new URLSearchParams(s.slice(q + 1).split("#")[0]);
    const code = params.get("code");
    if (code) {
      const ca = params.get("ca");
      return { code, server: params.get("server"), ca: ca && ca.includes("-----BEGIN CERTIFICATE-----") ? ca : null };
    }
  }
  return { code: s, server: null, ca: null };
}
