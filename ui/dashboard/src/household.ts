// A household opened on the map: its visits, each with its revisions and the times a leader sent
// it back, and (for a leader or an admin) a form to send the latest revision back with a comment.
// The volunteer's phone receives it on its next sync; the corrected revision appears here after.

import * as api from "./api";
import { errorText } from "./api";
import { h, fill } from "./dom";
import { fmtDateTime, t } from "./i18n";
import { campaignOffset, colorOf, outcomeLabel } from "./outcomes";
import { visitPhotos, type PhotoApi } from "./photos";
import type { Correction, Visit, VisitHistory } from "./types";

/** The longest comment the server takes, in characters. */
export const MAX_COMMENT = 500;

export type HouseholdApi = {
  householdVisits: (id: string) => Promise<VisitHistory[]>;
  sendBack: (visitId: string, comment: string, revision: number) => Promise<Correction>;
} & Partial<PhotoApi>;

/** Whether an account of this role may send visits back (the server checks again). */
export function maySendBack(role: string): boolean {
  return role === "admin" || role === "leader";
}

/** The open send-back of a visit, if any: one no later revision has answered. */
export function openCorrection(h: VisitHistory): Correction | null {
  return h.corrections.find((c) => c.answered_by_revision === null) ?? null;
}

/** The latest revision of a visit. */
export function latest(h: VisitHistory): Visit | null {
  return h.revisions.length ? h.revisions[h.revisions.length - 1] : null;
}

/** A comment as the server will take it, or the reason it will not. */
export function checkComment(raw: string): { ok: true; comment: string } | { ok: false; error: string } {
  const comment = raw.trim();
  if (!comment) return { ok: false, error: t("sendback.empty") };
  if ([...comment].length > MAX_COMMENT) return { ok: false, error: t("sendback.too_long", { max: MAX_COMMENT }) };
  return { ok: true, comment };
}

function counts(v: Visit): string {
  return t("household.counts", { people: v.people, phones: v.smartphones, app: v.already_installed + v.installed_now });
}

/** The visits of household `id`, loaded now; the element fills in when they arrive. */
export function householdVisits(id: string, role: string, client: HouseholdApi = api): HTMLElement {
  const box = h("div", { class: "household-visits", testid: "household-visits" }, h("p", { class: "muted" }, t("app.loading")));
  const off = campaignOffset();

  async function load(): Promise<void> {
    let list: VisitHistory[];
    try {
      list = await client.householdVisits(id);
    } catch (e) {
      fill(box, h("p", { class: "error", role: "alert" }, errorText(e)));
      return;
    }
    fill(box, list.length === 0 ? h("p", { class: "muted" }, t("household.no_visits")) : h("ol", { class: "visit-list" }, list.map(item)));
  }

  function item(hist: VisitHistory): HTMLElement | null {
    const v = latest(hist);
    if (!v) return null;
    const open = openCorrection(hist);
    const li = h(
      "li",
      { class: "visit-item", testid: `visit-${v.id}`, "data-revision": String(v.revision) },
      h("p", null, h("span", { class: "dot", style: { background: colorOf(v.outcome) }, "aria-hidden": "true" }), h("strong", null, outcomeLabel(v.outcome)), " · ", fmtDateTime(v.visited_at, off)),
      h("p", { class: "muted" }, counts(v)),
      v.revision > 1 ? h("p", { class: "muted", testid: `visit-revised-${v.id}` }, t("household.revised", { n: v.revision })) : null,
      client.photos && client.photoImage ? visitPhotos(v.area_code, v.id, { photos: client.photos, photoImage: client.photoImage }) : null,
      hist.corrections.map((c) =>
        h(
          "p",
          { class: c.answered_by_revision === null ? "sentback open" : "sentback", testid: `sentback-${c.id}` },
          c.answered_by_revision === null
            ? t("household.sent_back_open", { by: c.requested_by, when: fmtDateTime(c.requested_at, off) })
            : t("household.sent_back_done", { by: c.requested_by, n: c.answered_by_revision }),
          h("q", null, c.comment),
        ),
      ),
    );
    if (maySendBack(role) && !open) li.append(sendBackForm(v));
    return li;
  }

  function sendBackForm(v: Visit): HTMLElement {
    const area = h("textarea", { rows: 2, maxlength: MAX_COMMENT, testid: `sendback-comment-${v.id}`, "aria-label": t("sendback.comment") }) as HTMLTextAreaElement;
    area.placeholder = t("sendback.placeholder");
    const error = h("p", { class: "error", role: "alert", hidden: true, testid: `sendback-error-${v.id}` });
    const button = h("button", { type: "submit", class: "secondary", testid: `sendback-${v.id}` }, t("sendback.button")) as HTMLButtonElement;
    const form = h(
      "form",
      {
        class: "sendback",
        onsubmit: async (e: Event) => {
          e.preventDefault();
          const checked = checkComment(area.value);
          if (!checked.ok) {
            error.textContent = checked.error;
            error.hidden = false;
            return;
          }
          button.disabled = true;
          error.hidden = true;
          try {
            await client.sendBack(v.id, checked.comment, v.revision);
            await load();
          } catch (err) {
            button.disabled = false;
            error.textContent = errorText(err);
            error.hidden = false;
          }
        },
      },
      h("label", { class: "sendback-label" }, t("sendback.comment"), area),
      error,
      button,
    );
    return form;
  }

  void load();
  return box;
}
