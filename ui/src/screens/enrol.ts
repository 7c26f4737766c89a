// Enrolment: the server's address and the one-time code from the team leader: typed, scanned
// live from the card's QR, read from a photo of it, or brought by its link
// (`doorstep://enrol?server=…&code=…`, opened by the system). The form is only filled: the
// volunteer sees the server and taps Enrol. Shown while the phone is not enrolled, and after a
// revocation.

import type { Ctx, View } from "../app";
import { toErrorBody } from "../api";
import { h, fill } from "../dom";
import { normaliseCode, codeChars, parseQrText } from "../enrolcode";
import { fmtDateTime, pick, t, getLang, type Key } from "../i18n";
import { decodeQr, scanCamera, type CameraScan } from "../qr";
import type { EnrolLink, ErrorBody, Lang } from "../types";

// Kept across re-renders (a language switch rebuilds the screen).
const draft = { server: "", code: "", ca: "", touched: false, fromLink: false };

/** Fills the form from an enrolment link the system handed to the app. */
export function takeEnrolLink(link: EnrolLink): void {
  draft.server = link.server;
  draft.code = normaliseCode(link.code) ?? link.code;
  draft.ca = link.ca ?? "";
  draft.touched = true;
  draft.fromLink = true;
}

export function languageSwitch(ctx: Ctx, prefix: string): HTMLElement {
  const btn = (lang: Lang) =>
    h(
      "button",
      {
        type: "button",
        class: `seg${getLang() === lang ? " on" : ""}`,
        testid: `${prefix}-language-${lang}`,
        "aria-pressed": String(getLang() === lang),
        lang,
        onclick: () => void ctx.setLanguage(lang),
      },
      t(lang === "vi" ? "lang.vi" : "lang.en"),
    );
  return h("div", { class: "segmented", role: "group", "aria-label": t("settings.language") }, btn("vi"), btn("en"));
}

export function enrolView(ctx: Ctx): View {
  if (!draft.touched) draft.server = ctx.state.settings?.server ?? ctx.state.status?.server ?? "";
  let error: { local: Key } | { body: ErrorBody } | null = null;
  let scanNote: { key: Key; code?: string } | null = null;
  let busy = false;

  const server = h("input", {
    id: "enrol-server",
    testid: "enrol-server",
    type: "url",
    inputmode: "url",
    autocomplete: "url",
    autocapitalize: "off",
    spellcheck: "false",
    value: draft.server,
    oninput: (e: Event) => {
      draft.server = (e.target as HTMLInputElement).value;
      draft.touched = true;
      clearFixed();
    },
  });
  const code = h("input", {
    id: "enrol-code",
    testid: "enrol-code",
    type: "text",
    class: "code",
    autocomplete: "one-time-code",
    autocapitalize: "characters",
    spellcheck: "false",
    placeholder: "XXXXX-XXXXX",
    maxlength: "24",
    value: draft.code,
    oninput: (e: Event) => {
      draft.code = (e.target as HTMLInputElement).value;
      draft.touched = true;
      clearFixed();
    },
    onblur: () => {
      const n = normaliseCode(code.value);
      if (n) {
        code.value = n;
        draft.code = n;
      }
    },
  });
  // A province's own certificate authority: filled from the card's link, or pasted when IT asks.
  const ca = h("textarea", {
    id: "enrol-ca",
    testid: "enrol-ca",
    rows: "4",
    spellcheck: "false",
    autocapitalize: "off",
    placeholder: "-----BEGIN CERTIFICATE-----",
    value: draft.ca,
    oninput: (e: Event) => {
      draft.ca = (e.target as HTMLTextAreaElement).value;
    },
  }) as HTMLTextAreaElement;
  ca.value = draft.ca;
  const caBox = h(
    "details",
    { class: "advanced", testid: "enrol-ca-box", open: draft.ca ? true : null },
    h("summary", null, t("enrol.ca_more")),
    draft.ca && draft.fromLink ? h("p", { class: "hint", testid: "enrol-ca-from-link" }, t("enrol.ca_from_link")) : null,
    h("label", { for: "enrol-ca" }, t("enrol.ca_label")),
    ca,
    h("p", { class: "hint" }, t("enrol.ca_hint")),
  );
  const errorBox = h("div", { class: "error-slot" });
  const scanBox = h("div", { class: "hint-slot" });
  const submit = h("button", { type: "submit", class: "btn primary big", testid: "enrol-submit" }, t("enrol.submit"));

  const file = h("input", {
    type: "file",
    accept: "image/*",
    class: "visually-hidden",
    id: "enrol-qr",
    testid: "enrol-qr",
    onchange: async () => {
      const f = file.files?.[0];
      if (!f) return;
      scanNote = { key: "enrol.scan_reading" };
      renderNotes();
      const r = await decodeQr(f).catch(() => ({ ok: false as const, reason: "not_found" as const }));
      if (r.ok) {
        useText(r.text);
      } else {
        scanNote = { key: r.reason === "unsupported" ? "enrol.scan_unsupported" : "enrol.scan_failed" };
      }
      file.value = "";
      renderNotes();
    },
  });

  /** What a QR held: the code alone, or the link with the server too. */
  function useText(text: string, said: Key = "enrol.scan_ok") {
    const q = parseQrText(text);
    const n = normaliseCode(q.code) ?? q.code.trim();
    code.value = n;
    draft.code = n;
    if (q.server) {
      server.value = q.server;
      draft.server = q.server;
    }
    if (q.ca) {
      ca.value = q.ca;
      draft.ca = q.ca;
      caBox.setAttribute("open", "");
    }
    draft.touched = true;
    scanNote = { key: said, code: n };
    clearFixed();
  }

  // The camera, live: opened by a tap, closed when a code is read or on Stop.
  let scan: CameraScan | null = null;
  const video = h("video", { class: "scan-video", testid: "enrol-video", autoplay: true, muted: true, playsinline: true }) as HTMLVideoElement;
  const cameraBox = h("div", { class: "scan-box", hidden: true }, video);
  const cameraBtn = h("button", { type: "button", class: "btn secondary", testid: "enrol-camera", onclick: () => void toggleCamera() }, t("enrol.camera"));
  async function toggleCamera() {
    if (scan) {
      scan.stop();
      return;
    }
    cameraBox.hidden = false;
    fill(cameraBtn, t("enrol.camera_stop"));
    scanNote = { key: "enrol.camera_looking" };
    renderNotes();
    const current = scanCamera(video);
    scan = current;
    const r = await current.done;
    if (scan !== current) return;
    scan = null;
    cameraBox.hidden = true;
    fill(cameraBtn, t("enrol.camera"));
    if (r.ok) useText(r.text, "enrol.camera_ok");
    else scanNote = r.reason === "unsupported" ? { key: "enrol.camera_unsupported" } : null;
    renderNotes();
  }

  /** A mistake the volunteer has just put right is no longer shown (the server's word stays
   * until the next try). */
  function clearFixed() {
    if (!error || !("local" in error)) return;
    const fixed =
      error.local === "enrol.server_empty" ? server.value.trim() !== "" : !!normaliseCode(code.value);
    if (fixed) {
      error = null;
      renderNotes();
    }
  }

  function renderNotes() {
    fill(
      errorBox,
      error
        ? h("p", { class: "field-error", testid: "enrol-error", role: "alert" }, "local" in error ? t(error.local) : pick(error.body.messages))
        : null,
    );
    fill(scanBox, scanNote ? h("p", { class: "hint", testid: "enrol-scan-note" }, t(scanNote.key, scanNote.code ? { code: scanNote.code } : undefined)) : null);
    submit.disabled = busy;
    fill(submit, busy ? t("enrol.submitting") : t("enrol.submit"));
  }

  async function onSubmit(e: Event) {
    e.preventDefault();
    if (busy) return;
    const srv = server.value.trim();
    const typed = code.value;
    error = null;
    if (!srv) error = { local: "enrol.server_empty" };
    else if (!codeChars(typed)) error = { local: "enrol.code_empty" };
    else if (!normaliseCode(typed)) error = { local: "enrol.code_format" };
    if (error) {
      renderNotes();
      return;
    }
    const normal = normaliseCode(typed) as string;
    code.value = normal;
    draft.code = normal;
    busy = true;
    renderNotes();
    try {
      const s = await ctx.api.enrol(srv, normal, ca.value.trim() || null);
      busy = false;
      draft.code = "";
      draft.ca = "";
      draft.touched = false;
      draft.fromLink = false;
      if (ctx.state.settings) ctx.state.settings.server = srv;
      await ctx.enrolled(s);
    } catch (err) {
      busy = false;
      error = { body: toErrorBody(err) };
      renderNotes();
    }
  }

  const revoked = !!ctx.state.status?.enrolled || !!ctx.state.status?.auth_problem;
  // Erased after a revocation: say why, first; the form below enrols it again with a new code.
  const wiped = ctx.state.status?.wiped;
  const offset = ctx.state.campaign?.utc_offset_minutes ?? 420;
  const wipedBox = wiped
    ? h(
        "div",
        { class: "banner danger", testid: "wiped", role: "alert" },
        h("p", null, t("enrol.wiped", { at: wiped.revoked_at ? fmtDateTime(wiped.revoked_at, offset) : "—" })),
        wiped.reason ? h("p", { testid: "wiped-reason" }, t("enrol.wiped_reason", { reason: wiped.reason })) : null,
        h("p", { class: "note" }, t("enrol.wiped_detail", { n: wiped.records_sent, wiped: wiped.wiped_at ? fmtDateTime(wiped.wiped_at, offset) : "—" })),
      )
    : null;
  const el = h(
    "section",
    { class: "page enrol", testid: "enrol" },
    h("div", { class: "row-between" }, h("h1", null, t("enrol.title")), languageSwitch(ctx, "enrol")),
    wipedBox,
    h("p", { class: "lead" }, t("enrol.intro")),
    draft.fromLink ? h("p", { class: "banner info", testid: "enrol-from-link", role: "status" }, t("enrol.from_link")) : null,
    revoked && !wiped ? h("p", { class: "note" }, t("enrol.kept")) : null,
    h(
      "form",
      { class: "form", novalidate: true, onsubmit: onSubmit },
      h("label", { for: "enrol-server" }, t("enrol.server")),
      server,
      h("label", { for: "enrol-code" }, t("enrol.code")),
      code,
      h("p", { class: "hint" }, t("enrol.code_hint")),
      cameraBtn,
      cameraBox,
      h("label", { class: "btn secondary filelabel", for: "enrol-qr" }, t("enrol.scan")),
      file,
      scanBox,
      caBox,
      errorBox,
      submit,
      ctx.state.status?.enrolled ? h("button", { type: "button", class: "btn ghost", onclick: () => ctx.go("home") }, t("enrol.back")) : null,
    ),
  );
  renderNotes();
  return {
    el,
    destroy() {
      scan?.stop();
    },
  };
}
