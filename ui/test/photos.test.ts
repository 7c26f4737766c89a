import { afterEach, describe, expect, it } from "vitest";
import { fileToBase64, localDay } from "../src/screens/photos";
import type { PhotoDraft } from "../src/types";
import { $, HERE, householdAt, must, start, tap, waitFor, type Harness } from "./helpers";

let hs: Harness | null = null;
afterEach(() => {
  hs?.app.destroy();
  hs = null;
});

const gps = { source: "gps" as const, lat: HERE.lat, lon: HERE.lon, accuracy_m: 8 };
// The first bytes of a JPEG and of something else.
const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16, 74, 70, 73, 70, 0, 1, 2, 3, 4, 5, 6, 7]);
const TEXT = Uint8Array.from(new TextEncoder().encode("not a picture at all"));

/** Chooses a file in the photo input, as the camera hands it back. */
function choose(h: Harness, bytes: Uint8Array<ArrayBuffer>, name = "camera.jpg") {
  const input = must(h.root, "photo-input") as HTMLInputElement;
  const file = new File([bytes], name, { type: "image/jpeg" });
  Object.defineProperty(input, "files", { value: [file], configurable: true });
  input.dispatchEvent(new Event("change"));
}

function attached(h: Harness): { draft: PhotoDraft; picture: string }[] {
  return h.fake.calls
    .filter((c) => c.cmd === "attach_photo")
    .map((c) => c.args as { draft: PhotoDraft; picture: string });
}

describe("photos", () => {
  it("reads a file as base64", async () => {
    const big = new Uint8Array(100_000).map((_, i) => i % 251);
    const b64 = await fileToBase64(new Blob([big]));
    const back = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    expect(back).toEqual(big);
    expect(localDay(Date.UTC(2020, 7, 3, 18, 30), 420)).toBe("2020-08-04");
  });

  it("a saved visit offers Take photo; the photo is queued for that visit and counted", async () => {
    hs = await start({ fix: gps, households: [householdAt("h-door-0000000002", HERE.lat, HERE.lon, 12)] });
    tap(hs, "new-visit");
    await waitFor(() => $(hs!.root, "household-same"), "the household asked about");
    tap(hs, "household-same");
    tap(hs, "outcome-installed_now");
    tap(hs, "visit-save");
    await waitFor(() => $(hs!.root, "saved-take-photo"), "Take photo in the saved toast");
    const visitId = ((await hs.fake.invoke("get_today")) as { id: string }[])[0].id;
    tap(hs, "saved-take-photo");
    await waitFor(() => $(hs!.root, "visit-photos"), "the visit's photos");
    const input = must(hs.root, "photo-input") as HTMLInputElement;
    expect(input.accept).toBe("image/*");
    expect(input.getAttribute("capture")).toBe("environment");
    expect(must(hs.root, "photo-take").textContent).toContain("Chụp ảnh");

    choose(hs, JPEG);
    await waitFor(() => $(hs!.root, "photo-thumb"), "the thumbnail");
    const [call] = attached(hs);
    expect(call.draft).toEqual({ target_kind: "visit", target_id: visitId, area_code: "18077", caption: null });
    expect(Uint8Array.from(atob(call.picture), (c) => c.charCodeAt(0))).toEqual(JPEG);
    expect(must(hs.root, "photo-state").textContent).toBe("Chờ gửi");
    await waitFor(() => (must(hs!.root, "photo-thumb") as HTMLImageElement).src.startsWith("data:image/jpeg;base64,"), "the image");

    // The day's list reaches the same visit's photos later.
    tap(hs, "photo-done");
    await waitFor(() => $(hs!.root, "home"), "home");
    tap(hs, "nav-today");
    await waitFor(() => $(hs!.root, `today-photos-${visitId}`), "the visit's photo button in today's list");
    tap(hs, `today-photos-${visitId}`);
    await waitFor(() => $(hs!.root, "photo-thumb"), "the photo taken before");
    tap(hs, "photo-done");
    await waitFor(() => $(hs!.root, "home"), "home");
    await waitFor(() => must(hs!.root, "queue-photos").textContent?.startsWith("Ảnh chờ gửi: 1"), "the pending photo count");
  });

  it("the daily report takes a caption and photos for today's area, and shows a refusal in the volunteer's words", async () => {
    hs = await start({ fix: gps });
    tap(hs, "daily-report-open");
    await waitFor(() => $(hs!.root, "daily-report"), "the daily report");
    await waitFor(() => must(hs!.root, "photo-list").textContent?.includes("Chưa có ảnh"), "no photos yet");

    choose(hs, TEXT, "notes.txt");
    await waitFor(() => $(hs!.root, "photo-error"), "the refusal");
    expect(must(hs.root, "photo-error").textContent).toContain("Không đọc được ảnh");
    expect($(hs.root, "photo-thumb")).toBeNull();

    (must(hs.root, "photo-caption") as HTMLTextAreaElement).value = "  Loa phát thanh ở chợ  ";
    choose(hs, JPEG);
    await waitFor(() => $(hs!.root, "photo-thumb"), "the thumbnail");
    const calls = attached(hs);
    const last = calls[calls.length - 1];
    expect(last.draft.target_kind).toBe("day");
    expect(last.draft.target_id).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(last.draft.area_code).toBe("18077");
    expect(last.draft.caption).toBe("Loa phát thanh ở chợ");
    expect(must(hs.root, "photo-list").textContent).toContain("Loa phát thanh ở chợ");
    expect($(hs.root, "photo-error")).toBeNull();

    // Online: the photo leaves the queue and says so.
    hs.fake.setOnline(true);
    await waitFor(() => must(hs!.root, "photo-state").textContent === "Đã gửi", "sent", 3000);
  });
});
