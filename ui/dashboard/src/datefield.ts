// A date field that shows and takes dd/mm/yyyy in every browser (issue 19, item 7): the native
// <input type=date> shows the browser's own order (mm/dd/yyyy in an English Chrome) next to our
// dd/mm/yyyy tables. A text input with the numeric keypad; digits typed without slashes are
// spaced as they come ("04082020" → "04/08/2020", the keypad of inputmode=numeric has no "/").
// The value given to the code stays "YYYY-MM-DD" (the API's), in `data-iso`.

import { h } from "./dom";
import { fmtDay, t } from "./i18n";

/** "YYYY-MM-DD" for a real calendar day, or null. */
function isoOf(y: number, m: number, d: number): string | null {
  if (y < 1900 || y > 2200 || m < 1 || m > 12 || d < 1) return null;
  const days = new Date(Date.UTC(y, m, 0)).getUTCDate();
  if (d > days) return null;
  return `${String(y).padStart(4, "0")}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

/**
 * What was typed, as "YYYY-MM-DD": "" for an empty field, null for something that is not a day.
 * Takes dd/mm/yyyy (also with ".", "-" or spaces, one-digit days and months, a two-digit year
 * read as 20yy), eight digits ddmmyyyy, and yyyy-mm-dd (pasted from a file or the API).
 */
export function parseDay(text: string): string | null {
  const s = text.trim();
  if (s === "") return "";
  let m = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(s);
  if (m) return isoOf(Number(m[1]), Number(m[2]), Number(m[3]));
  m = /^(\d{1,2})\s*[/.\-\s]\s*(\d{1,2})\s*[/.\-\s]\s*(\d{4}|\d{2})$/.exec(s);
  if (m) {
    const y = m[3].length === 2 ? 2000 + Number(m[3]) : Number(m[3]);
    return isoOf(y, Number(m[2]), Number(m[1]));
  }
  m = /^(\d{2})(\d{2})(\d{4})$/.exec(s);
  if (m) return isoOf(Number(m[3]), Number(m[2]), Number(m[1]));
  return null;
}

/** Digits typed one after another, spaced as dd/mm/yyyy ("0408" → "04/08"). Anything else as is. */
export function spaceDigits(text: string): string {
  if (!/^\d{3,8}$/.test(text)) return text;
  return [text.slice(0, 2), text.slice(2, 4), text.slice(4)].filter(Boolean).join("/");
}

export type DateField = {
  /** The input; its `data-iso` holds the day it shows ("" when empty or not a day). */
  input: HTMLInputElement;
  /** The message under it when what was typed is not a day (hidden otherwise). */
  error: HTMLElement;
  /** The day shown ("YYYY-MM-DD" or ""), or null while what is typed is not a day. */
  value(): string | null;
  /** The same, showing the message when it is not a day (before acting on it: a download). */
  check(): string | null;
};

export type DateFieldOptions = {
  id: string;
  testid: string;
  /** "YYYY-MM-DD" or "". */
  value: string;
  /** A valid day (or "" for an emptied field) was entered. */
  onChange?: (iso: string) => void;
};

export function dateField(o: DateFieldOptions): DateField {
  const errorId = `${o.id}-error`;
  const input = h("input", {
    type: "text",
    id: o.id,
    testid: o.testid,
    class: "date",
    inputmode: "numeric",
    autocomplete: "off",
    spellcheck: "false",
    maxlength: "10",
    size: "10",
    placeholder: t("date.placeholder"),
    "aria-describedby": errorId,
    value: o.value ? fmtDay(o.value) : "",
  });
  input.dataset.iso = o.value || "";
  const error = h("p", { class: "error date-error", id: errorId, role: "alert", testid: `${o.testid}-error`, hidden: true }, t("date.invalid"));
  const value = () => parseDay(input.value);
  input.addEventListener("input", () => {
    const spaced = spaceDigits(input.value);
    if (spaced !== input.value) input.value = spaced;
  });
  const check = (): string | null => {
    const iso = value();
    if (iso === null) {
      input.setAttribute("aria-invalid", "true");
      input.dataset.iso = "";
      error.hidden = false;
    }
    return iso;
  };
  input.addEventListener("change", () => {
    const iso = check();
    if (iso === null) return;
    input.removeAttribute("aria-invalid");
    error.hidden = true;
    input.value = iso ? fmtDay(iso) : "";
    input.dataset.iso = iso;
    o.onChange?.(iso);
  });
  return { input, error, value, check };
}
