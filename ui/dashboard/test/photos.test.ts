import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { householdVisits } from "../src/household";
import { setLang } from "../src/i18n";
import { PhotoPanel } from "../src/photos";
import type { Photo, Visit } from "../src/types";
import { $, defaultRoutes, fakeServer, FLAGGED, startApp, waitFor } from "./helpers";

function photo(id: string, kind: Photo["target_kind"], target: string, extra: Partial<Photo> = {}): Photo {
  return {
    id,
    sha256: `${id}`.padEnd(64, "0"),
    size: 1000,
    target_kind: kind,
    target_id: target,
    area_code: "18073",
    caption: `Ảnh ${id}`,
    taken_at: "2020-08-04T09:15:00+07:00",
    day: "2020-08-04",
    volunteer_id: "u1",
    device_id: "d1",
    received_at: "2020-08-04T02:20:00Z",
    complete: true,
    ...extra,
  };
}

/** A server holding some photos; records what was asked. */
function fakePhotos(list: Photo[]) {
  const asked: { area: string; day: string | null; kind?: string | null; target?: string | null }[] = [];
  const images: string[] = [];
  return {
    asked,
    images,
    photos: async (area: string, day: string | null, kind?: string | null, target?: string | null) => {
      asked.push({ area, day, kind, target });
      return list.filter((p) => (!day || p.day === day) && (!kind || p.target_kind === kind) && (!target || p.target_id === target));
    },
    photoImage: async (sha: string) => {
      images.push(sha);
      return new Blob([new Uint8Array([0xff, 0xd8])], { type: "image/jpeg" });
    },
  };
}

describe("photos on the dashboard", () => {
  beforeEach(() => {
    setLang("vi");
    let n = 0;
    URL.createObjectURL = () => `blob:photo-${++n}`;
  });
  afterEach(() => {
    document.body.innerHTML = "";
  });

  it("a household's visit shows its photos, and one opens large", async () => {
    const v: Visit = { ...FLAGGED[0], id: "v1", revision: 1, flags: [] };
    const server = fakePhotos([photo("p1", "visit", "v1"), photo("p2", "visit", "v1", { complete: false }), photo("p3", "visit", "other")]);
    const el = householdVisits("h1", "leader", {
      householdVisits: async () => [{ revisions: [v], corrections: [] }],
      sendBack: async () => {
        throw new Error("not used");
      },
      photos: server.photos,
      photoImage: server.photoImage,
    });
    document.body.append(el);
    await waitFor(() => $("photo-p1"), "the visit's thumbnail");
    expect(server.asked[0]).toEqual({ area: v.area_code, day: null, kind: "visit", target: "v1" });
    expect($("photo-p3")).toBeNull();
    // Still uploading: listed, not openable.
    expect(($("photo-p2") as HTMLButtonElement).disabled).toBe(true);
    expect($("photo-p2")!.textContent).toContain("Đang tải lên");
    await waitFor(() => ($("photo-p1")!.querySelector("img") as HTMLImageElement).src.startsWith("blob:"), "the thumbnail's image");

    $("photo-p1")!.click();
    const large = await waitFor(() => $("photo-large"), "the large photo");
    expect(large.textContent).toContain("Ảnh p1");
    expect(large.textContent).toContain("Lượt thăm hộ");
    await waitFor(() => ($("photo-large-img") as HTMLImageElement).src.startsWith("blob:"), "the large image");
    // The same picture was fetched once for both.
    expect(server.images.filter((s) => s === photo("p1", "visit", "v1").sha256)).toHaveLength(1);
    document.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape" }));
    expect($("photo-large")).toBeNull();
  });

  it("the Photos panel is headed with the area's name once it is known, not its code", async () => {
    sessionStorage.clear();
    localStorage.clear();
    // The area's figures (which carry its name) come last, after the panel is drawn.
    const routes = defaultRoutes();
    const coverage = routes["GET /api/v1/coverage"] as (c: unknown) => Response;
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    fakeServer({ ...routes, "GET /api/v1/coverage": async (c: unknown) => (await held, coverage(c)) });
    const { root } = await startApp();
    ($("login-username", root) as HTMLInputElement).value = "uyban.hatinh";
    ($("login-password", root) as HTMLInputElement).value = "doorstep-demo-committee";
    ($("login-submit", root) as HTMLButtonElement).click();
    await waitFor(() => $("photos-area", root), "the Photos panel");
    expect($("photos-area", root)!.textContent).toBe("42");
    release();
    await waitFor(() => $("photos-area", root)?.textContent === "Tỉnh Hà Tĩnh", "the area's name in the Photos heading");
  });

  it("the Photos panel lists the area's day: reports and visits apart, or says there are none", async () => {
    const server = fakePhotos([photo("d1", "day", "2020-08-04"), photo("q1", "visit", "v9"), photo("old", "day", "2020-08-03", { day: "2020-08-03" })]);
    const panel = new PhotoPanel(server);
    document.body.append(panel.el);
    panel.show("436", "Thành phố Hà Tĩnh", "2020-08-04");
    await waitFor(() => $("photo-d1"), "the day's report photo");
    expect(server.asked[0]).toEqual({ area: "436", day: "2020-08-04", kind: undefined, target: undefined });
    expect($("photo-q1")).not.toBeNull();
    expect($("photo-old")).toBeNull();
    const text = $("photos")!.textContent ?? "";
    expect(text.indexOf("Báo cáo ngày")).toBeLessThan(text.indexOf("Lượt thăm"));
    expect(panel.el.textContent).toContain("Ảnh hoạt động — Thành phố Hà Tĩnh");

    const date = $("photos-date") as HTMLInputElement;
    date.value = "2020-08-05";
    date.dispatchEvent(new Event("change"));
    await waitFor(() => $("photos-none"), "no photos that day");
    expect($("photos-none")!.textContent).toBe("Không có ảnh nào trong ngày này.");
  });
});
