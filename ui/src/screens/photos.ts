// Photos of a saved visit, and the day's activity report (a caption and photos for today's area).
// The camera opens through a plain file input (capture="environment"); the Rust side makes the
// picture small, drops its EXIF block and queues it like any record.

import type { Ctx, View } from "../app";
import { fill, h } from "../dom";
import { pick, t } from "../i18n";
import { toErrorBody } from "../api";
import type { ErrorBody, LocalPhoto, Status, TargetKind } from "../types";

const STATE_KEYS = {
  pending: "photo.state_pending",
  sent: "photo.state_sent",
  rejected: "photo.state_rejected",
} as const;

export type PhotoTarget = {
  kind: TargetKind;
  /** A visit id, or the local date YYYY-MM-DD for a day report. */
  id: string;
  /** The area of a day report. */
  area: string | null;
};

/** The local date (YYYY-MM-DD) at `now` in the campaign's offset. */
export function localDay(now: number, offsetMin: number): string {
  return new Date(now + offsetMin * 60_000).toISOString().slice(0, 10);
}

/** A file's bytes in base64, as the shell's attach_photo takes them (read as a data URL, which
 * every web view supports, and the prefix dropped). */
export function fileToBase64(file: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onerror = () => reject(reader.error ?? new Error("the file could not be read"));
    reader.onload = () => {
      const url = String(reader.result ?? "");
      resolve(url.slice(url.indexOf(",") + 1));
    };
    reader.readAsDataURL(file);
  });
}

export function photosView(ctx: Ctx, target: PhotoTarget): View {
  let destroyed = false;
  let busy = false;
  let error: ErrorBody | null = null;
  let lastPending = -1;
  const day = target.kind === "day";

  const list = h("div", { class: "photo-grid", testid: "photo-list" });
  const errors = h("div", { class: "form-errors", role: "alert" });
  const note = h("p", { class: "hint", testid: "photo-note" });
  const caption = h("textarea", {
    class: "input",
    testid: "photo-caption",
    maxlength: 200,
    rows: 2,
    "aria-label": t("photo.caption"),
    placeholder: t("photo.caption"),
  }) as HTMLTextAreaElement;
  const input = h("input", {
    type: "file",
    accept: "image/*",
    capture: "environment",
    class: "visually-hidden",
    id: "photo-input",
    testid: "photo-input",
    onchange: () => void chosen(),
  }) as HTMLInputElement;
  const take = h(
    "label",
    { class: "btn primary huge", for: "photo-input", testid: "photo-take", role: "button" },
    t("photo.take"),
    input,
  );

  const el = h(
    "section",
    { class: "page photos", testid: day ? "daily-report" : "visit-photos" },
    h("h1", null, day ? t("photo.report_title", { day: target.id.split("-").reverse().join("/") }) : t("photo.visit_title")),
    day ? caption : null,
    take,
    note,
    errors,
    list,
    h(
      "button",
      { type: "button", class: "btn", testid: "photo-done", onclick: () => ctx.go("home") },
      t("photo.done"),
    ),
  );

  async function chosen() {
    const file = input.files?.[0];
    if (!file || busy) return;
    busy = true;
    error = null;
    note.textContent = t("photo.saving");
    renderErrors();
    try {
      const picture = await fileToBase64(file);
      await ctx.api.attachPhoto(
        {
          target_kind: target.kind,
          target_id: target.id,
          area_code: target.area,
          caption: day ? caption.value.trim() || null : null,
        },
        picture,
      );
      if (destroyed) return;
      caption.value = "";
      note.textContent = t("photo.saved");
      await load();
    } catch (e) {
      error = toErrorBody(e);
      note.textContent = "";
      renderErrors();
    } finally {
      busy = false;
      input.value = "";
    }
  }

  function renderErrors() {
    fill(errors, error ? h("p", { class: "error", testid: "photo-error" }, pick(error.messages)) : null);
  }

  async function load() {
    let photos: LocalPhoto[];
    try {
      photos = day ? await ctx.api.getDailyReportPhotos(target.id) : await ctx.api.getPhotos(target.kind, target.id);
    } catch (e) {
      error = toErrorBody(e);
      renderErrors();
      return;
    }
    if (destroyed) return;
    if (photos.length === 0) {
      fill(list, h("p", { class: "hint" }, t("photo.none")));
      return;
    }
    fill(
      list,
      photos.map((p) => {
        const img = h("img", { class: "thumb", alt: p.caption ?? "", testid: "photo-thumb" }) as HTMLImageElement;
        void ctx.api
          .getPhotoImage(p.id)
          .then((b64) => {
            img.src = `data:image/jpeg;base64,${b64}`;
          })
          .catch(() => {
            /* the thumbnail stays empty; the photo is still listed */
          });
        return h(
          "figure",
          { class: `photo ${p.state}`, testid: `photo-${p.id}`, "data-state": p.state },
          img,
          h(
            "figcaption",
            null,
            p.caption ? h("span", { class: "photo-caption" }, p.caption) : null,
            h("span", { class: "photo-state", testid: "photo-state" }, t(STATE_KEYS[p.state])),
            p.error ? h("span", { class: "error" }, pick(p.error.messages)) : null,
          ),
        );
      }),
    );
  }

  void load();

  return {
    el,
    onStatus(s: Status) {
      // Reload when a photo leaves the queue (sent or refused).
      if (s.photos.pending !== lastPending) {
        lastPending = s.photos.pending;
        void load();
      }
    },
    destroy() {
      destroyed = true;
    },
  };
}
