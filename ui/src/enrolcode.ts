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
export function parseQrText(text: string): { code: string; server: string | null } {
  const s = text.trim();
  const m = /[?&#]code=([^&#\s]+)/i.exec(s);
  if (m) {
    const sv = /[?&#]server=([^&#\s]+)/i.exec(s);
    return { code: decodeURIComponent(m[1]), server: sv ? decodeURIComponent(sv[1]) : null };
  }
  return { code: s, server: null };
}
