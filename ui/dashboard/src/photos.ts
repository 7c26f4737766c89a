// Photos: thumbnails of a visit's photos (in the household popup) and the "Photos" panel of the
// area and day shown (daily activity reports and visit photos), each opening large. Images need
// the bearer token, so they are fetched as blobs and shown through object URLs.

import * as api from "./api";
import { errorText } from "./api";
import { h, fill } from "./dom";
import { dateField } from "./datefield";
import { fmtDateTime, t } from "./i18n";
import { campaignOffset } from "./outcomes";
import type { Photo } from "./types";

export type PhotoApi = {
  photos: (area: string, day: string | null, targetKind?: string | null, targetId?: string | null) => Promise<Photo[]>;
  photoImage: (sha256: string) => Promise<Blob>;
};

/** Object URLs by photo content: the same picture is fetched once per page. */
const urls = new Map<string, Promise<string>>();

function imageUrl(client: PhotoApi, sha256: string): Promise<string> {
  let u = urls.get(sha256);
  if (!u) {
    u = client.photoImage(sha256).then((b) => URL.createObjectURL(b));
    // A failure is not kept: the next view tries again.
    u.catch(() => urls.delete(sha256));
    urls.set(sha256, u);
  }
  return u;
}

export function kindLabel(kind: string): string {
  return kind === "day" ? t("photos.kind_day") : kind === "venue_visit" ? t("photos.kind_venue") : t("photos.kind_visit");
}

/** Opens a photo large over the page; Escape, the button or a click outside closes it. */
export function openLarge(client: PhotoApi, p: Photo): HTMLElement {
  const img = h("img", { class: "photo-large-img", alt: p.caption ?? "", testid: "photo-large-img" }) as HTMLImageElement;
  const close = () => {
    overlay.remove();
    document.removeEventListener("keydown", onKey);
  };
  const onKey = (e: KeyboardEvent) => {
    if (e.key === "Escape") close();
  };
  const overlay = h(
    "div",
    {
      class: "photo-overlay",
      role: "dialog",
      "aria-modal": "true",
      "aria-label": p.caption ?? t("photos.title"),
      testid: "photo-large",
      onclick: (e: Event) => {
        if (e.target === overlay) close();
      },
    },
    h(
      "figure",
      null,
      img,
      h(
        "figcaption",
        null,
        p.caption ? h("strong", null, p.caption) : null,
        h("span", { class: "muted" }, ` ${kindLabel(p.target_kind)} · ${p.area_code} · ${fmtDateTime(p.taken_at, campaignOffset())}`),
      ),
      h("button", { type: "button", class: "secondary", testid: "photo-large-close", onclick: close }, t("photos.close")),
    ),
  );
  document.addEventListener("keydown", onKey);
  document.body.append(overlay);
  void imageUrl(client, p.sha256).then(
    (u) => (img.src = u),
    () => undefined,
  );
  return overlay;
}

/** A row of thumbnails; each opens the photo large. */
export function thumbnails(list: Photo[], client: PhotoApi = api): HTMLElement {
  return h(
    "div",
    { class: "photo-thumbs" },
    list.map((p) => {
      const img = h("img", { class: "photo-thumb", alt: p.caption ?? kindLabel(p.target_kind), loading: "lazy" }) as HTMLImageElement;
      if (p.complete) {
        void imageUrl(client, p.sha256).then(
          (u) => (img.src = u),
          () => undefined,
        );
      }
      return h(
        "button",
        {
          type: "button",
          class: "photo-thumb-btn",
          testid: `photo-${p.id}`,
          title: p.caption ?? "",
          disabled: !p.complete,
          onclick: () => openLarge(client, p),
        },
        img,
        p.complete ? null : h("span", { class: "muted small" }, t("photos.incomplete")),
      );
    }),
  );
}

/** The photos of one visit, loaded now; empty while there are none. */
export function visitPhotos(area: string, visitId: string, client: PhotoApi = api): HTMLElement {
  const box = h("div", { class: "visit-photos", testid: `visit-photos-${visitId}` });
  client.photos(area, null, "visit", visitId).then(
    (list) => fill(box, list.length ? thumbnails(list, client) : null),
    () => fill(box), // no photos shown is better than an error in every visit
  );
  return box;
}

/** The "Photos" panel: the photos of an area's subtree on a day. */
export class PhotoPanel {
  readonly el = h("section", { class: "panel noprint", id: "photos-section" });
  private gen = 0;
  private nameEl: HTMLElement | null = null;

  constructor(private client: PhotoApi = api) {}

  /** The area's name once it is known (the panel first shows while only its code is). */
  rename(name: string): void {
    if (this.nameEl) this.nameEl.textContent = name;
  }

  show(area: string, name: string, day: string): void {
    const g = ++this.gen;
    const date = dateField({ id: "photos-date", testid: "photos-date", value: day, onChange: (iso) => this.show(area, name, iso) });
    const body = h("div", { testid: "photos" }, h("p", { class: "muted" }, t("app.loading")));
    fill(
      this.el,
      h("div", { class: "section-head" }, h("h2", null, t("photos.title"), " — ", (this.nameEl = h("span", { testid: "photos-area" }, name)))),
      h("p", { class: "muted small" }, t("photos.intro")),
      h("div", { class: "range" }, h("label", { for: "photos-date" }, t("report.date")), date.input, date.error),
      body,
    );
    if (!day) {
      fill(body, h("p", { class: "muted" }, t("report.no_date")));
      return;
    }
    this.client.photos(area, day).then(
      (list) => {
        if (g !== this.gen) return;
        const days = list.filter((p) => p.target_kind === "day");
        const visits = list.filter((p) => p.target_kind !== "day");
        fill(
          body,
          list.length === 0 ? h("p", { class: "muted", testid: "photos-none" }, t("photos.none")) : null,
          days.length ? [h("h3", null, t("photos.reports")), thumbnails(days, this.client)] : null,
          visits.length ? [h("h3", null, t("photos.visits")), thumbnails(visits, this.client)] : null,
        );
      },
      (e: unknown) => {
        if (g !== this.gen) return;
        fill(body, h("p", { class: "error", role: "alert" }, errorText(e)));
      },
    );
  }
}
