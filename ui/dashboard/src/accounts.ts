// "Accounts": the people of the area on screen, as cards (a phone's screen holds one per row):
// name, role, area, teams, phones. A leader adds volunteers (an admin anyone), renames, moves,
// disables and enables them, and issues a phone's enrolment code shown large with its QR; an
// admin (or a committee member, for leaders) issues a one-time password code. A code is shown
// once: it is not stored anywhere the page can read it again. A leader also adds a commune's
// people from one file (all or none, every problem by line) and prints enrolment cards.

import * as api from "./api";
import { ApiError, errorText } from "./api";
import { fill, h } from "./dom";
import { fmtDateTime, pick, t, type Key } from "./i18n";
import { campaignOffset } from "./outcomes";
import { saveBlob } from "./lists";
import type { EnrolmentCode, ImportResponse, PasswordCode, Person, User } from "./types";

const ROLES = ["volunteer", "leader", "committee", "admin"] as const;

/** What the signed-in user may do to `p`, by the server's rules (the server checks again). */
export function mayEdit(user: User, p: Person): boolean {
  return user.role === "admin" || (user.role === "leader" && p.role === "volunteer");
}

export function mayIssuePasswordCode(user: User, p: Person): boolean {
  if (p.role === "volunteer" || p.disabled) return false;
  return user.role === "admin" || (user.role === "committee" && p.role === "leader");
}

export function mayAdd(user: User): boolean {
  return user.role === "admin" || user.role === "leader";
}

/** A code just issued, shown until the next action. */
type Shown = { kind: "enrolment"; value: EnrolmentCode } | { kind: "password"; value: PasswordCode } | { kind: "imported"; value: ImportResponse };

export class AccountsSection {
  readonly el = h("div", { class: "accounts", testid: "accounts" });
  private area = "";
  private people: { state: "loading" | "ok" | "error"; value?: Person[]; error?: unknown } = { state: "loading" };
  private gen = 0;
  private shown: Shown | null = null;
  /** The box showing `shown`, kept across re-renders so the code being read does not flicker or move. */
  private shownBox: { of: Shown; el: HTMLElement } | null = null;
  private actionError: unknown = null;
  private busy = false;
  /** Where the last action's error is shown: at the top, or beside the file form (its lines). */
  private errorAt: "top" | "import" = "top";
  /** Kept across re-renders, so that the file chosen stays chosen after a refusal (to send it again once fixed). */
  private readonly importFile = h("input", {
    type: "file",
    id: "import-file",
    testid: "import-file",
    accept: ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  });

  /** `onChange`: an account changed (its phones may be revoked): the devices list reads again. */
  constructor(
    private readonly user: User,
    private readonly onChange: () => void = () => {},
  ) {}

  load(area: string): void {
    this.area = area;
    this.shown = null;
    this.actionError = null;
    const g = ++this.gen;
    this.people = { state: "loading" };
    this.render();
    api.users(area).then(
      (value) => {
        if (g !== this.gen) return;
        this.people = { state: "ok", value };
        this.render();
      },
      (error: unknown) => {
        if (g !== this.gen || (error instanceof ApiError && error.status === 401)) return;
        this.people = { state: "error", error };
        this.render();
      },
    );
  }

  /** Runs one action; shows its error, or what it answered, then reloads the list. */
  private async act(work: () => Promise<Shown | null>, where: "top" | "import" = "top"): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.actionError = null;
    this.errorAt = where;
    this.render();
    try {
      this.shown = await work();
      this.busy = false;
      const shown = this.shown;
      this.load(this.area);
      this.shown = shown;
      this.onChange();
    } catch (e) {
      this.busy = false;
      this.actionError = e;
    }
    this.render();
  }

  /** A roster file (CSV or XLSX) adds its people, or no one. */
  private importForm(): HTMLElement {
    const file = this.importFile;
    return h(
      "form",
      {
        class: "import-accounts",
        novalidate: true,
        onsubmit: (e: Event) => {
          e.preventDefault();
          const f = file.files?.[0];
          if (!f) {
            this.actionError = new Error(t("accounts.import_pick"));
            this.errorAt = "import";
            this.render();
            return;
          }
          void this.act(async () => ({ kind: "imported", value: await api.importUsers(f, f.type) }), "import");
        },
      },
      h("h4", null, t("accounts.import")),
      h("p", { class: "muted small" }, t("accounts.import_help")),
      h("label", { for: "import-file" }, t("accounts.import_file")),
      file,
      h("button", { type: "submit", class: "secondary", testid: "import-submit", disabled: this.busy }, t("accounts.import_submit")),
      this.actionError && this.errorAt === "import" ? this.errorBox(this.actionError) : null,
    );
  }

  /** Enrolment cards for the area (or one team of it), opened in a new window to print. */
  private cardsForm(): HTMLElement {
    const teams = [...new Set((this.people.value ?? []).flatMap((p) => p.teams))].sort((a, b) => a.localeCompare(b, "vi"));
    const team = h("select", { id: "cards-team", testid: "cards-team" }, h("option", { value: "" }, t("accounts.cards_all")), ...teams.map((n) => h("option", { value: n }, n)));
    return h(
      "form",
      {
        class: "cards-form",
        novalidate: true,
        onsubmit: (e: Event) => {
          e.preventDefault();
          // Opened now, while the click counts, so that no pop-up blocker stops it; filled after.
          const w = window.open("", "_blank");
          const area = this.area;
          api.enrolmentCards(area, team.value || null).then(
            (html) => {
              if (!w) {
                saveBlob(new Blob([html], { type: "text/html" }), `the-dang-ky-${area}.html`);
                return;
              }
              w.document.open();
              w.document.write(html);
              w.document.close();
              const print = w.document.createElement("button");
              print.textContent = t("accounts.cards_print");
              print.setAttribute("data-testid", "cards-print");
              print.className = "noprint";
              print.style.cssText = "min-height:44px;margin:0 12px 12px;font:inherit;font-weight:600";
              print.addEventListener("click", () => w.print());
              w.document.body.prepend(print);
            },
            (error: unknown) => {
              w?.close();
              this.actionError = error;
              this.errorAt = "top";
              this.render();
            },
          );
        },
      },
      h("h4", null, t("accounts.cards")),
      h("p", { class: "muted small" }, t("accounts.cards_help")),
      h("label", { for: "cards-team" }, t("accounts.cards_team")),
      team,
      h("button", { type: "submit", class: "secondary", testid: "cards-submit" }, t("accounts.cards_submit")),
    );
  }

  private addForm(): HTMLElement {
    const username = h("input", { id: "new-username", testid: "new-username", required: true, autocapitalize: "none", spellcheck: "false" });
    const name = h("input", { id: "new-display-name", testid: "new-display-name" });
    const roles = this.user.role === "admin" ? ROLES : (["volunteer"] as const);
    const role = h("select", { id: "new-role", testid: "new-role" }, ...roles.map((r) => h("option", { value: r }, t(`role.${r}` as Key))));
    const area = h("input", { id: "new-area", testid: "new-area", value: this.area, inputmode: "numeric" });
    return h(
      "form",
      {
        class: "add-account",
        novalidate: true,
        onsubmit: (e: Event) => {
          e.preventDefault();
          const req = { username: username.value.trim(), display_name: name.value.trim() || undefined, role: role.value, area_code: area.value.trim() };
          void this.act(async () => {
            const made = await api.createUser(req);
            return made.password_code ? { kind: "password", value: made.password_code } : null;
          });
        },
      },
      h("h4", null, t("accounts.add")),
      h("label", { for: "new-username" }, t("accounts.username")),
      username,
      h("label", { for: "new-display-name" }, t("accounts.display_name")),
      name,
      h("label", { for: "new-role" }, t("accounts.role")),
      role,
      h("label", { for: "new-area" }, t("accounts.area_code")),
      area,
      h("button", { type: "submit", class: "primary", testid: "add-account", disabled: this.busy }, t("accounts.add_submit")),
    );
  }

  private card(p: Person): HTMLElement {
    const actions: HTMLElement[] = [];
    if (mayEdit(this.user, p)) {
      actions.push(
        h(
          "button",
          {
            type: "button",
            class: "secondary",
            disabled: this.busy,
            testid: `rename-${p.username}`,
            onclick: () => {
              const next = window.prompt(t("accounts.rename_prompt", { name: p.display_name }), p.display_name);
              if (next === null || next.trim() === "" || next.trim() === p.display_name) return;
              void this.act(async () => (await api.updateUser(p.username, { display_name: next.trim() }), null));
            },
          },
          t("accounts.rename"),
        ),
        h(
          "button",
          {
            type: "button",
            class: p.disabled ? "secondary" : "danger",
            disabled: this.busy,
            testid: `${p.disabled ? "enable" : "disable"}-${p.username}`,
            onclick: () => {
              const live = p.phones.filter((x) => !x.revoked).length;
              const asked = live > 0 ? t("accounts.disable_confirm", { name: p.display_name, n: live }) : t("accounts.disable_confirm_no_phone", { name: p.display_name });
              if (!p.disabled && !window.confirm(asked)) return;
              void this.act(async () => (await api.updateUser(p.username, { disabled: !p.disabled }), null));
            },
          },
          t(p.disabled ? "accounts.enable" : "accounts.disable"),
        ),
      );
      if (p.role === "volunteer" && !p.disabled) {
        actions.push(
          h(
            "button",
            {
              type: "button",
              class: "secondary",
              disabled: this.busy,
              testid: `enrol-${p.username}`,
              onclick: () => void this.act(async () => ({ kind: "enrolment", value: await api.enrolmentCode(p.username) })),
            },
            t("accounts.enrolment_code"),
          ),
        );
      }
    }
    if (mayIssuePasswordCode(this.user, p)) {
      actions.push(
        h(
          "button",
          {
            type: "button",
            class: "secondary",
            disabled: this.busy,
            testid: `password-code-${p.username}`,
            onclick: () => void this.act(async () => ({ kind: "password", value: await api.passwordCode(p.username) })),
          },
          t("accounts.password_code"),
        ),
      );
    }
    const live = p.phones.filter((x) => !x.revoked);
    const lastSync = live.map((x) => x.last_sync).filter((x): x is string => !!x).sort().pop() ?? null;
    return h(
      "li",
      { class: `account-card${p.disabled ? " disabled" : ""}`, testid: `account-${p.username}` },
      h("div", { class: "account-head" }, h("strong", null, p.display_name), " ", h("span", { class: "muted" }, `@${p.username}`)),
      h(
        "p",
        { class: "account-meta" },
        t(`role.${p.role}` as Key),
        " · ",
        p.area_name,
        p.teams.length ? ` · ${t("accounts.teams")}: ${p.teams.join(", ")}` : "",
        p.disabled ? h("strong", { class: "badge" }, ` · ${t("accounts.disabled")}`) : "",
      ),
      p.role === "volunteer"
        ? h(
            "p",
            { class: "account-meta", testid: `phones-${p.username}` },
            live.length > 0
              ? t("accounts.phones", { n: live.length, when: lastSync ? fmtDateTime(lastSync, campaignOffset()) : t("people.never") })
              : p.phones.length > 0
                ? t("accounts.phones_revoked", { n: p.phones.length })
                : t("accounts.no_phone"),
          )
        : p.has_password
          ? ""
          : h("p", { class: "account-meta note" }, t("accounts.no_password_yet")),
      actions.length ? h("div", { class: "account-actions" }, ...actions) : "",
    );
  }

  private shownCode(): HTMLElement | string {
    const s = this.shown;
    if (!s) return "";
    if (this.shownBox?.of !== s) this.shownBox = { of: s, el: this.codeBox(s) };
    return this.shownBox.el;
  }

  private codeBox(s: Shown): HTMLElement {
    if (s.kind === "imported") {
      const codes = s.value.password_codes;
      return h(
        "div",
        { class: "code-box imported", testid: "imported", role: "status" },
        h("p", null, h("strong", null, t("accounts.imported", { n: s.value.people.length }))),
        codes.length
          ? h(
              "ul",
              { class: "imported-codes" },
              codes.map((c) => h("li", null, t("accounts.password_code_for", { name: c.username }), " ", h("span", { class: "code small-code" }, c.code))),
            )
          : null,
        codes.length ? h("p", { class: "muted small" }, t("accounts.password_code_note", { until: fmtDateTime(codes[0].expires_at, campaignOffset()) })) : null,
      );
    }
    if (s.kind === "password") {
      return h(
        "div",
        { class: "code-box", testid: "password-code", role: "status" },
        h("p", null, t("accounts.password_code_for", { name: s.value.username })),
        h("p", { class: "code" }, s.value.code),
        h("p", { class: "muted small" }, t("accounts.password_code_note", { until: fmtDateTime(s.value.expires_at, campaignOffset()) })),
      );
    }
    const qr = s.value.qr_svg
      ? h("img", { class: "qr", alt: t("accounts.qr_alt"), src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(s.value.qr_svg)}` })
      : "";
    return h(
      "div",
      { class: "code-box", testid: "enrolment-code", role: "status" },
      h("p", null, t("accounts.enrolment_code_for", { name: s.value.volunteer })),
      qr,
      h("p", { class: "code" }, s.value.code),
      h("p", { class: "muted small" }, t("accounts.enrolment_code_note", { until: fmtDateTime(s.value.expires_at, campaignOffset()) })),
    );
  }

  /** What failed; for a file, every line that does not hold. */
  private errorBox(e: unknown): HTMLElement {
    const lines = e instanceof ApiError ? e.lines : [];
    return h(
      "div",
      { class: "error", role: "alert", testid: "account-error" },
      h("p", null, errorText(e)),
      lines.length
        ? h(
            "ul",
            { class: "import-lines", testid: "import-lines" },
            lines.map((l) => h("li", null, t("accounts.import_line", { line: l.line, text: pick(l.messages) }))),
          )
        : null,
    );
  }

  render(): void {
    const p = this.people;
    const list =
      p.state === "ok" && p.value
        ? p.value.length === 0
          ? h("p", { class: "muted" }, t("accounts.none"))
          : h("ul", { class: "account-list", testid: "account-list" }, ...p.value.map((x) => this.card(x)))
        : p.state === "loading"
          ? h("p", { class: "muted loading" }, t("app.loading"))
          : h("div", { class: "error-box", role: "alert" }, h("p", null, errorText(p.error)));
    fill(
      this.el,
      h("h3", null, t("accounts.title")),
      h("p", { class: "muted small" }, t("accounts.intro")),
      this.actionError && this.errorAt === "top" ? this.errorBox(this.actionError) : "",
      this.shownCode(),
      mayAdd(this.user) ? this.addForm() : "",
      mayAdd(this.user) ? this.importForm() : "",
      mayAdd(this.user) ? this.cardsForm() : "",
      list,
    );
  }
}
