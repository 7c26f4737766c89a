// "Phân công / Claims": the leader's side of "no door knocked twice". The claims given in the
// area on screen (a street of an area, or one household, held by one volunteer until it runs out
// after the campaign's claim_hours without a visit by its holder), and a form to give one out,
// hand one over (giving what someone holds releases their claim, on the server) or release one.
// The rules themselves are the server's (doorstep_domain::claim); this only shows its answers.

import * as api from "./api";
import { ApiError, errorText } from "./api";
import { personCell } from "./person";
import { fill, h } from "./dom";
import { fmtDateTime, fmtNumber, t, type Key } from "./i18n";
import { campaignOffset } from "./outcomes";
import type { Claim, ClaimStatus, ClaimsResponse, NewClaimRequest, Street, Team } from "./types";

export type ClaimApi = {
  claims: (area: string) => Promise<ClaimsResponse>;
  streets: (area: string) => Promise<Street[]>;
  giveClaim: (req: NewClaimRequest) => Promise<Claim>;
  releaseClaim: (id: string) => Promise<void>;
};

/** Whether an account of this role gives out claims (the server checks again). */
export function mayClaim(role: string): boolean {
  return role === "leader" || role === "admin";
}

export type ClaimState = "active" | "expired" | "handed_over" | "released";

/** A hand-over releases the old claim and writes the new one together; their times may differ by
 * the moments between the two writes, never by more than this. */
const HAND_OVER_SLACK_MS = 5_000;

function sameTarget(a: Claim, b: Claim): boolean {
  if (a.household_id || b.household_id) return !!a.household_id && a.household_id === b.household_id;
  return a.area_code === b.area_code && !!a.street_key && a.street_key === b.street_key;
}

/** Where a claim stands. A released one was handed over when another claim on the same target was
 * given when it was released; otherwise a leader released it (the server keeps both the same way). */
export function claimState(s: ClaimStatus, all: ClaimStatus[]): ClaimState {
  if (s.active) return "active";
  const released = s.claim.released_at_ms;
  if (released === null || released === undefined) return "expired";
  const successor = all.some(
    (o) =>
      o.claim.id !== s.claim.id &&
      sameTarget(o.claim, s.claim) &&
      o.claim.created_at_ms >= s.claim.created_at_ms &&
      Math.abs(o.claim.created_at_ms - released) <= HAND_OVER_SLACK_MS,
  );
  return successor ? "handed_over" : "released";
}

/** What a claim covers, as a leader reads it: the street's name, or the household's short ID. */
export function targetText(c: TargetOf): string {
  if (c.household_id) return t("claims.household", { id: shortId(c.household_id) });
  return c.street || c.street_key || "";
}

/** Household IDs are UUIDs: their first 8 characters tell them apart on one screen. */
function shortId(id: string): string {
  return id.length > 13 ? id.slice(0, 8) : id;
}

function fmtMs(ms: number): string {
  return fmtDateTime(new Date(ms).toISOString(), campaignOffset());
}

/** A street select's value: streets of different areas may share a key. */
const streetValue = (s: Pick<Street, "area_code" | "street_key">) => `${s.area_code}|${s.street_key}`;

type TargetOf = Pick<Claim, "household_id" | "street" | "street_key">;
type Load<T> = { state: "loading" | "ok" | "error"; value?: T; error?: unknown };
type Kind = "street" | "household";
type Form = {
  kind: Kind;
  street: string;
  household: string;
  volunteer: string;
  /** The claim being handed over, if the form was opened from one. */
  handOver: Claim | null;
};
const emptyForm = (kind: Kind = "street"): Form => ({ kind, street: "", household: "", volunteer: "", handOver: null });

/** Which input a server error's `field` points at. */
function inputFor(field: string | null): string | null {
  if (field === "volunteer") return "claim-volunteer";
  if (field === "household_id") return "claim-household";
  if (field === "street" || field === "area_code") return "claim-street";
  return null;
}

export class ClaimsSection {
  readonly el = h("section", { class: "panel noprint", id: "claims-section" });
  private introBox = h("div");
  private listBox = h("div", { class: "claims-list" });
  private formBox = h("div", { class: "claims-form-box" });
  private area = "";
  /** Codes of the area on screen and the areas above it: volunteers assigned to one of them
   * may take work here. */
  private areaPath: string[] = [];
  private list: Load<ClaimsResponse> = { state: "loading" };
  private streets: Load<Street[]> = { state: "loading" };
  private teams: Team[] | null = null;
  private form: Form = emptyForm();
  private busy = false;
  /** One of our keys, or what the server answered (in both languages): worded at each render. */
  private error: { cause: unknown; input: string | null } | null = null;
  /** What was done, worded at each render too (a household's target has words of its own). */
  private notice: { key: "claims.given" | "claims.released"; target: TargetOf; volunteer: string } | null = null;
  private gens = { list: 0, streets: 0 };

  constructor(
    private client: ClaimApi = api,
    /** An area's name, where the page knows it (for streets of several areas). */
    private areaName: (code: string) => string = (code) => code,
  ) {}

  /** Loads the claims and streets of an area (`path`: its code and those above it). */
  load(area: string, path: string[]): void {
    if (area !== this.area) {
      // Nothing of another area is shown, and what was typed for it would be given in this one.
      this.list = { state: "loading" };
      this.streets = { state: "loading" };
      this.form = emptyForm(this.form.kind);
      this.error = null;
      this.notice = null;
    }
    this.area = area;
    this.areaPath = path;
    this.loadList();
    this.loadStreets();
  }

  /** The volunteers to choose from: the members of the teams the leader can see. */
  setTeams(teams: Team[]): void {
    this.teams = teams;
    this.renderForm();
  }

  /** Opens the form on one household (from its popup or a visit), to give it to someone. */
  prefillHousehold(id: string): void {
    this.form = { ...emptyForm("household"), household: id };
    this.error = null;
    this.notice = null;
    this.renderForm();
    this.el.scrollIntoView?.({ block: "start" });
    this.formBox.querySelector<HTMLElement>('[data-testid="claim-volunteer"]')?.focus({ preventScroll: true });
  }

  /** Opens the form on a claim's street or household, to give it to someone else. */
  handOver(c: Claim): void {
    const kind: Kind = c.household_id ? "household" : "street";
    this.form = {
      kind,
      street: kind === "street" ? streetValue({ area_code: c.area_code, street_key: c.street_key ?? "" }) : "",
      household: c.household_id ?? "",
      volunteer: "",
      handOver: c,
    };
    this.error = null;
    this.notice = null;
    this.renderForm();
    this.formBox.scrollIntoView?.({ block: "nearest" });
    this.formBox.querySelector<HTMLElement>('[data-testid="claim-volunteer"]')?.focus({ preventScroll: true });
  }

  private loadList(): void {
    // The list being replaced (this area's: load() forgets another's) stays on screen until the
    // new one is in, so that the rows do not jump after every action.
    const g = ++this.gens.list;
    if (this.list.state !== "ok") this.list = { state: "loading" };
    this.renderList();
    this.client.claims(this.area).then(
      (value) => {
        if (g !== this.gens.list) return;
        this.list = { state: "ok", value };
        this.renderList();
      },
      (error: unknown) => {
        if (g !== this.gens.list || (error instanceof ApiError && error.status === 401)) return;
        this.list = { state: "error", error };
        this.renderList();
      },
    );
  }

  private loadStreets(): void {
    const g = ++this.gens.streets;
    this.streets = { state: "loading" };
    this.renderForm();
    this.client.streets(this.area).then(
      (value) => {
        if (g !== this.gens.streets) return;
        this.streets = { state: "ok", value };
        this.renderForm();
      },
      (error: unknown) => {
        if (g !== this.gens.streets || (error instanceof ApiError && error.status === 401)) return;
        this.streets = { state: "error", error };
        this.renderForm();
      },
    );
  }

  render(): void {
    fill(this.el, h("div", { class: "section-head" }, h("h2", null, t("claims.title"))), this.introBox, this.formBox, this.listBox);
    this.renderForm();
    this.renderList();
  }

  // ---------------------------------------------------------------- the list

  private renderList(): void {
    const l = this.list;
    // claim_hours arrives with the list.
    const hours = l.value?.claim_hours;
    fill(this.introBox, hours ? h("p", { class: "muted small", testid: "claims-intro" }, t("claims.intro", { h: hours })) : null);
    if (l.state !== "ok" || !l.value) {
      fill(this.listBox, this.problem(l, () => this.loadList(), "claims"));
      return;
    }
    const all = l.value.claims;
    if (all.length === 0) {
      fill(this.listBox, h("div", { testid: "claims" }, h("p", { class: "muted" }, t("claims.empty"))));
      return;
    }
    const several = new Set(all.map((s) => s.claim.area_code)).size > 1;
    fill(
      this.listBox,
      h(
        "div",
        { class: "table-wrap", testid: "claims" },
        h(
          "table",
          { class: "data claims-table" },
          h(
            "thead",
            null,
            h(
              "tr",
              null,
              h("th", { scope: "col" }, t("claims.col_target")),
              h("th", { scope: "col" }, t("claims.col_volunteer")),
              h("th", { scope: "col" }, t("claims.col_given")),
              h("th", { scope: "col" }, t("claims.col_expires")),
              h("th", { scope: "col", class: "num" }, t("claims.col_visited")),
              h("th", { scope: "col" }, t("claims.col_status")),
              h("th", { scope: "col" }, t("claims.col_actions")),
            ),
          ),
          h("tbody", null, all.map((s) => this.row(s, all, several))),
        ),
      ),
    );
  }

  private row(s: ClaimStatus, all: ClaimStatus[], several: boolean): HTMLElement {
    const c = s.claim;
    const state = claimState(s, all);
    const held = c.released_at_ms === null || c.released_at_ms === undefined;
    return h(
      "tr",
      { testid: `claim-${c.id}`, "data-status": state, class: state === "active" ? null : "inactive" },
      h(
        "td",
        { title: c.household_id ?? undefined },
        targetText(c),
        several && !c.household_id ? h("span", { class: "small muted" }, ", ", this.areaName(c.area_code)) : null,
      ),
      h("td", null, personCell(s.volunteer_name, c.volunteer)),
      h("td", { testid: `claim-given-${c.id}` }, fmtMs(c.created_at_ms)),
      h("td", { testid: `claim-expires-${c.id}` }, s.expires_at_ms === null ? t("app.none") : fmtMs(s.expires_at_ms)),
      h("td", { class: "num" }, `${fmtNumber(s.visited)} / ${fmtNumber(s.households)}`),
      h(
        "td",
        { class: "status" },
        // The word says it; the colour only helps.
        h("span", { class: `chip chip-${state}`, testid: `claim-status-${c.id}` }, t(`claims.status_${state}` as Key)),
        !held && c.released_at_ms ? h("span", { class: "small muted claim-since" }, " ", t("claims.released_at", { when: fmtMs(c.released_at_ms) })) : null,
      ),
      h(
        "td",
        { class: "actions" },
        // A claim not released may still come back (a visit by its holder renews it), so a run-out
        // one can be handed over or released too.
        held
          ? h(
              "div",
              { class: "row-buttons" },
              h("button", { type: "button", class: "secondary", testid: `claim-hand-over-${c.id}`, disabled: this.busy, onclick: () => this.handOver(c) }, t("claims.hand_over")),
              h("button", { type: "button", class: "secondary", testid: `claim-release-${c.id}`, disabled: this.busy, onclick: () => void this.release(c) }, t("claims.release")),
            )
          : null,
      ),
    );
  }

  private problem(l: Load<unknown>, retry: () => void, testid: string): HTMLElement {
    if (l.state === "loading") return h("p", { class: "muted loading", testid }, t("app.loading"));
    return h(
      "div",
      { class: "error-box", role: "alert", testid },
      h("p", null, errorText(l.error)),
      h("button", { type: "button", class: "secondary", onclick: retry }, t("app.retry")),
    );
  }

  // ---------------------------------------------------------------- the form

  /** The members of the visible teams, once each: those assigned to this area or one above it
   * first (the server refuses a volunteer not assigned where the claim is). */
  private volunteers(): { here: string[]; other: string[] } {
    const here = new Set<string>();
    const all = new Set<string>();
    const path = new Set(this.areaPath);
    for (const team of this.teams ?? [])
      for (const m of team.members ?? []) {
        all.add(m.username);
        if (m.areas.some((a) => path.has(a))) here.add(m.username);
      }
    const sort = (xs: Iterable<string>) => [...xs].sort((a, b) => a.localeCompare(b, "vi"));
    return { here: sort(here), other: sort([...all].filter((u) => !here.has(u))) };
  }

  private streetOptions(): Street[] {
    const list = this.streets.value ?? [];
    const ho = this.form.handOver;
    // The street handed over is offered even when the list lacks it (not loaded, or no longer
    // among the streets of the area's households).
    if (ho && !ho.household_id && ho.street_key && !list.some((s) => streetValue(s) === this.form.street))
      return [{ area_code: ho.area_code, street: ho.street ?? ho.street_key, street_key: ho.street_key, households: 0, visited: 0 }, ...list];
    return list;
  }

  private renderForm(): void {
    // Re-rendering must not take the focus from the leader's input (a list arriving while typing).
    const active = document.activeElement as HTMLElement | null;
    const focused = active && this.formBox.contains(active) ? active.dataset.testid : undefined;
    fill(this.formBox, this.formElement());
    if (focused) this.formBox.querySelector<HTMLElement>(`[data-testid="${focused}"]`)?.focus({ preventScroll: true });
  }

  private formElement(): HTMLElement {
    const f = this.form;
    const invalid = (id: string) => (this.error?.input === id ? "true" : null);
    const kindRadio = (kind: Kind) =>
      h(
        "label",
        { class: "radio" },
        h("input", {
          type: "radio",
          name: "claim-kind",
          value: kind,
          testid: `claim-kind-${kind}`,
          checked: f.kind === kind,
          onchange: () => {
            this.form = { ...emptyForm(kind), volunteer: this.form.volunteer };
            this.error = null;
            this.renderForm();
          },
        }),
        " ",
        t(kind === "street" ? "claims.kind_street" : "claims.kind_household"),
      );

    let target: HTMLElement;
    if (f.kind === "street") {
      const options = this.streetOptions();
      const option = (s: Street) =>
        h("option", { value: streetValue(s) }, t("claims.street_option", { name: s.street, visited: s.visited, households: s.households }));
      // Streets of several areas (a district's communes): under each area's name.
      const byArea = new Map<string, Street[]>();
      for (const s of options) byArea.set(s.area_code, [...(byArea.get(s.area_code) ?? []), s]);
      const select = h(
        "select",
        {
          id: "claim-street",
          testid: "claim-street",
          "aria-invalid": invalid("claim-street"),
          "aria-describedby": "claim-error",
          onchange: (e: Event) => (this.form.street = (e.target as HTMLSelectElement).value),
        },
        h("option", { value: "" }, this.streets.state === "loading" ? t("app.loading") : t("claims.street_choose")),
        byArea.size > 1 ? [...byArea].map(([code, list]) => h("optgroup", { label: this.areaName(code) }, list.map(option))) : options.map(option),
      );
      select.value = f.street;
      target = h(
        "div",
        { class: "field" },
        h("label", { for: "claim-street" }, t("claims.street_label")),
        select,
        this.streets.state === "error" ? h("p", { class: "error small" }, errorText(this.streets.error)) : null,
        this.streets.state === "ok" && options.length === 0 ? h("p", { class: "muted small", testid: "claim-no-streets" }, t("claims.streets_none")) : null,
      );
    } else {
      target = h(
        "div",
        { class: "field" },
        h("label", { for: "claim-household" }, t("claims.household_label")),
        h("input", {
          type: "text",
          id: "claim-household",
          testid: "claim-household",
          class: "mono",
          autocomplete: "off",
          spellcheck: "false",
          value: f.household,
          "aria-invalid": invalid("claim-household"),
          "aria-describedby": "claim-error",
          oninput: (e: Event) => (this.form.household = (e.target as HTMLInputElement).value),
        }),
      );
    }

    const { here, other } = this.volunteers();
    let volunteer: HTMLInputElement | HTMLSelectElement;
    const onVolunteer = (e: Event) => (this.form.volunteer = (e.target as HTMLInputElement | HTMLSelectElement).value);
    if (here.length + other.length === 0) {
      // No team list (not loaded, refused, or no members yet): the username typed.
      volunteer = h("input", {
        type: "text",
        id: "claim-volunteer",
        testid: "claim-volunteer",
        autocomplete: "off",
        placeholder: t("claims.volunteer_placeholder"),
        value: f.volunteer,
        oninput: onVolunteer,
      });
    } else {
      const opt = (u: string) => h("option", { value: u }, u);
      volunteer = h(
        "select",
        { id: "claim-volunteer", testid: "claim-volunteer", onchange: onVolunteer },
        h("option", { value: "" }, t("claims.volunteer_choose")),
        here.length ? h("optgroup", { label: t("claims.volunteers_here") }, here.map(opt)) : null,
        other.length ? h("optgroup", { label: here.length ? t("claims.volunteers_other") : t("claims.volunteer_label") }, other.map(opt)) : null,
      );
      // Someone typed before the teams came, or since removed from them: kept as chosen.
      if (f.volunteer && !here.includes(f.volunteer) && !other.includes(f.volunteer)) volunteer.append(opt(f.volunteer));
      volunteer.value = f.volunteer;
    }
    if (this.error?.input === "claim-volunteer") volunteer.setAttribute("aria-invalid", "true");
    volunteer.setAttribute("aria-describedby", "claim-error");

    const ho = f.handOver;
    return h(
      "form",
      {
        class: "claim-form",
        testid: "claim-form",
        // Our messages, in the chosen language, rather than the browser's.
        novalidate: true,
        onsubmit: (e: Event) => {
          e.preventDefault();
          void this.give();
        },
      },
      h("h3", null, t("claims.form_title")),
      ho ? h("p", { class: "note", testid: "claim-hand-over-note" }, t("claims.form_hand_over", { target: targetText(ho), volunteer: ho.volunteer })) : null,
      h("fieldset", { class: "claim-kind" }, h("legend", null, t("claims.kind")), kindRadio("street"), kindRadio("household")),
      h("div", { class: "claim-fields" }, target, h("div", { class: "field" }, h("label", { for: "claim-volunteer" }, t("claims.volunteer_label")), volunteer)),
      h(
        "div",
        { class: "buttons" },
        h("button", { type: "submit", class: "primary", testid: "claim-give", disabled: this.busy }, this.busy ? t("claims.giving") : t("claims.give")),
        ho || f.household || f.street
          ? h(
              "button",
              {
                type: "button",
                class: "secondary",
                testid: "claim-cancel",
                onclick: () => {
                  this.form = emptyForm(this.form.kind);
                  this.error = null;
                  this.renderForm();
                },
              },
              t("claims.cancel"),
            )
          : null,
      ),
      h("p", { class: "error", role: "alert", id: "claim-error", testid: "claim-error", hidden: !this.error }, this.error ? this.errorWords(this.error.cause) : ""),
      h("p", { class: "muted", role: "status", testid: "claim-notice", hidden: !this.notice }, this.notice ? t(this.notice.key, { target: targetText(this.notice.target), volunteer: this.notice.volunteer }) : ""),
    );
  }

  private errorWords(cause: unknown): string {
    return typeof cause === "string" && cause.startsWith("claims.") ? t(cause as Key) : errorText(cause);
  }

  /** The request the form makes, or what is missing (checked here to say it in the page's words;
   * the server checks everything again). */
  private request(): { ok: true; req: NewClaimRequest; target: TargetOf } | { ok: false; key: Key; input: string } {
    const f = this.form;
    const volunteer = f.volunteer.trim();
    let req: NewClaimRequest;
    let target: TargetOf;
    if (f.kind === "street") {
      const s = this.streetOptions().find((x) => streetValue(x) === f.street);
      if (!s) return { ok: false, key: "claims.need_street", input: "claim-street" };
      req = { volunteer, area_code: s.area_code, street: s.street };
      target = { street: s.street, street_key: s.street_key };
    } else {
      const id = f.household.trim();
      if (!id) return { ok: false, key: "claims.need_household", input: "claim-household" };
      req = { volunteer, household_id: id };
      target = { household_id: id };
    }
    if (!volunteer) return { ok: false, key: "claims.need_volunteer", input: "claim-volunteer" };
    return { ok: true, req, target };
  }

  private async give(): Promise<void> {
    if (this.busy) return;
    const r = this.request();
    this.notice = null;
    if (!r.ok) {
      this.error = { cause: r.key, input: r.input };
      this.renderForm();
      this.formBox.querySelector<HTMLElement>(`[data-testid="${r.input}"]`)?.focus();
      return;
    }
    this.busy = true;
    this.error = null;
    this.render();
    try {
      await this.client.giveClaim(r.req);
      this.form = emptyForm(this.form.kind);
      this.notice = { key: "claims.given", target: r.target, volunteer: r.req.volunteer };
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return;
      const input = e instanceof ApiError ? inputFor(e.field) : null;
      this.error = { cause: e, input };
    } finally {
      this.busy = false;
    }
    this.render();
    if (this.error?.input) this.formBox.querySelector<HTMLElement>(`[data-testid="${this.error.input}"]`)?.focus();
    // The list and the streets' counts as the server now has them.
    this.loadList();
  }

  private async release(c: Claim): Promise<void> {
    const target = targetText(c);
    if (!window.confirm(t("claims.release_confirm", { target, volunteer: c.volunteer }))) return;
    this.busy = true;
    this.error = null;
    this.notice = null;
    this.render();
    try {
      await this.client.releaseClaim(c.id);
      this.notice = { key: "claims.released", target: c, volunteer: c.volunteer };
      if (this.form.handOver?.id === c.id) this.form = emptyForm(this.form.kind);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return;
      this.error = { cause: e, input: null };
    } finally {
      this.busy = false;
    }
    this.render();
    this.loadList();
  }
}
