// "Teams": the teams the signed-in user sees, each a card with its leader and members, and each
// member's assigned areas. A team's leader (or an admin) creates a team over an area, assigns a
// volunteer an area (which adds them to the team), takes an area back, or takes a volunteer out
// of the team, each after a confirm where something is taken back. Committee staff read.

import * as api from "./api";
import { ApiError, errorText } from "./api";
import { fill, h } from "./dom";
import { t } from "./i18n";
import type { Person, Team, User } from "./types";

export class TeamsSection {
  readonly el = h("div", { class: "teams", testid: "teams" });
  private area = "";
  private teams: Team[] | null = null;
  private people: Person[] = [];
  private error: unknown = null;
  private actionError: unknown = null;
  private busy = false;
  private gen = 0;

  constructor(private readonly user: User) {}

  private get mayRun(): boolean {
    return this.user.role === "leader" || this.user.role === "admin";
  }

  /** A leader runs the teams they lead; an admin any (the server checks again). */
  private mayRunTeam(team: Team): boolean {
    return this.user.role === "admin" || (this.user.role === "leader" && team.leader === this.user.username);
  }

  load(area: string): void {
    this.area = area;
    const g = ++this.gen;
    this.teams = null;
    this.error = null;
    this.render();
    Promise.all([api.teams(), api.users(area)]).then(
      ([teams, people]) => {
        if (g !== this.gen) return;
        this.teams = teams;
        this.people = people;
        this.render();
      },
      (error: unknown) => {
        if (g !== this.gen || (error instanceof ApiError && error.status === 401)) return;
        this.error = error;
        this.render();
      },
    );
  }

  /** Runs one change, then reads the teams again; an error stays on screen until the next. */
  private async act(work: () => Promise<unknown>): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.actionError = null;
    this.render();
    try {
      await work();
      this.busy = false;
      this.load(this.area);
    } catch (e) {
      this.busy = false;
      this.actionError = e;
      this.render();
    }
  }

  private nameOf(username: string): string {
    const p = this.people.find((x) => x.username === username);
    return p && p.display_name !== username ? `${p.display_name} (@${username})` : `@${username}`;
  }

  private createForm(): HTMLElement {
    const name = h("input", { id: "team-name", testid: "team-name", maxlength: "80" });
    const area = h("input", { id: "team-area", testid: "team-area", value: this.area, inputmode: "numeric" });
    const leaders = this.people.filter((p) => p.role === "leader" && !p.disabled);
    const leader =
      this.user.role === "admin"
        ? h("select", { id: "team-leader", testid: "team-leader" }, ...leaders.map((p) => h("option", { value: p.username }, this.nameOf(p.username))))
        : null;
    return h(
      "form",
      {
        class: "team-form",
        novalidate: true,
        onsubmit: (e: Event) => {
          e.preventDefault();
          void this.act(() => api.createTeam(name.value.trim(), area.value.trim(), leader ? leader.value : null));
        },
      },
      h("h4", null, t("teams.create")),
      h("label", { for: "team-name" }, t("teams.name")),
      name,
      h("label", { for: "team-area" }, t("accounts.area_code")),
      area,
      leader ? h("label", { for: "team-leader" }, t("teams.leader")) : null,
      leader,
      h("button", { type: "submit", class: "secondary", testid: "team-create", disabled: this.busy }, t("teams.create_submit")),
    );
  }

  private assignForm(team: Team): HTMLElement {
    const id = `assign-${team.area_code}-${team.name}`;
    const volunteers = this.people.filter((p) => p.role === "volunteer" && !p.disabled);
    const who = h("select", { id: `${id}-who`, testid: `${id}-who` }, ...volunteers.map((p) => h("option", { value: p.username }, this.nameOf(p.username))));
    const area = h("input", { id: `${id}-area`, testid: `${id}-area`, value: team.area_code, inputmode: "numeric" });
    return h(
      "form",
      {
        class: "assign-form",
        novalidate: true,
        onsubmit: (e: Event) => {
          e.preventDefault();
          void this.act(() => api.assign(team.name, who.value, area.value.trim()));
        },
      },
      h("label", { for: `${id}-who` }, t("teams.volunteer")),
      who,
      h("label", { for: `${id}-area` }, t("teams.assign_area")),
      area,
      h("button", { type: "submit", class: "secondary", testid: `${id}-submit`, disabled: this.busy || volunteers.length === 0 }, t("teams.assign")),
    );
  }

  private card(team: Team): HTMLElement {
    const runs = this.mayRunTeam(team);
    const members = team.members ?? [];
    return h(
      "li",
      { class: "team-card", testid: `team-${team.area_code}-${team.name}` },
      h("div", { class: "account-head" }, h("strong", null, team.name), " ", h("span", { class: "muted" }, `· ${t("teams.area")} ${team.area_code}`)),
      h("p", { class: "account-meta" }, t("teams.led_by", { name: this.nameOf(team.leader ?? "") })),
      members.length === 0
        ? h("p", { class: "muted small" }, t("teams.no_members"))
        : h(
            "ul",
            { class: "team-members" },
            members.map((m) =>
              h(
                "li",
                { testid: `member-${team.name}-${m.username}` },
                h("span", { class: "member-name" }, this.nameOf(m.username)),
                h(
                  "span",
                  { class: "member-areas" },
                  m.areas.map((a) =>
                    h(
                      "span",
                      { class: "chip area-chip" },
                      a,
                      runs
                        ? h(
                            "button",
                            {
                              type: "button",
                              class: "chip-x",
                              testid: `unassign-${team.name}-${m.username}-${a}`,
                              "aria-label": t("teams.unassign", { area: a, name: m.username }),
                              disabled: this.busy,
                              onclick: () => {
                                if (window.confirm(t("teams.unassign_confirm", { area: a, name: this.nameOf(m.username), team: team.name })))
                                  void this.act(() => api.unassign(team.name, m.username, a));
                              },
                            },
                            "×",
                          )
                        : null,
                    ),
                  ),
                ),
                runs
                  ? h(
                      "button",
                      {
                        type: "button",
                        class: "secondary",
                        testid: `remove-${team.name}-${m.username}`,
                        disabled: this.busy,
                        onclick: () => {
                          if (window.confirm(t("teams.remove_confirm", { name: this.nameOf(m.username), team: team.name })))
                            void this.act(() => api.removeMember(team.name, m.username, team.area_code));
                        },
                      },
                      t("teams.remove"),
                    )
                  : null,
              ),
            ),
          ),
      runs ? this.assignForm(team) : null,
    );
  }

  render(): void {
    const list =
      this.error !== null
        ? h("div", { class: "error-box", role: "alert" }, h("p", null, errorText(this.error)))
        : this.teams === null
          ? h("p", { class: "muted loading" }, t("app.loading"))
          : this.teams.length === 0
            ? h("p", { class: "muted", testid: "teams-none" }, t("teams.none"))
            : h("ul", { class: "account-list", testid: "team-list" }, ...this.teams.map((x) => this.card(x)));
    fill(
      this.el,
      h("h3", null, t("teams.title")),
      h("p", { class: "muted small" }, t("teams.intro")),
      this.actionError ? h("p", { class: "error", role: "alert", testid: "team-error" }, errorText(this.actionError)) : null,
      list,
      this.mayRun && this.teams !== null ? this.createForm() : null,
    );
  }
}
