// Reading an enrolment code from its QR: live from the camera, or from a photo. The platform's
// BarcodeDetector when there is one (Chrome-based Android web views), else jsQR (bundled, loaded
// only when needed).

type Detector = { detect(src: ImageBitmapSource): Promise<{ rawValue: string }[]> };
type DetectorCtor = new (o?: { formats: string[] }) => Detector;

export type QrResult = { ok: true; text: string } | { ok: false; reason: "not_found" | "unsupported" };

async function loadImage(file: Blob): Promise<CanvasImageSource & { width: number; height: number }> {
  if (typeof createImageBitmap === "function") return createImageBitmap(file);
  const url = URL.createObjectURL(file);
  try {
    const img = new Image();
    img.src = url;
    await img.decode();
    return img;
  } finally {
    URL.revokeObjectURL(url);
  }
}

export async function decodeQr(file: Blob): Promise<QrResult> {
  const BD = (globalThis as unknown as { BarcodeDetector?: DetectorCtor }).BarcodeDetector;
  let image: (CanvasImageSource & { width: number; height: number }) | null = null;
  try {
    image = await loadImage(file);
  } catch {
    return { ok: false, reason: "not_found" };
  }
  if (BD) {
    try {
      const found = await new BD({ formats: ["qr_code"] }).detect(image);
      if (found.length > 0 && found[0].rawValue) return { ok: true, text: found[0].rawValue };
    } catch {
      // fall through to jsQR
    }
  }
  const canvas = document.createElement("canvas");
  // Phone photos are large: a QR fills enough of them to read at 1024 px, and it is much faster.
  const scale = Math.min(1, 1024 / Math.max(image.width, image.height));
  canvas.width = Math.max(1, Math.round(image.width * scale));
  canvas.height = Math.max(1, Math.round(image.height * scale));
  let ctx: CanvasRenderingContext2D | null = null;
  try {
    ctx = canvas.getContext("2d", { willReadFrequently: true }) as CanvasRenderingContext2D | null;
  } catch {
    ctx = null;
  }
  if (!ctx) return { ok: false, reason: "unsupported" };
  ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height);
  const { default: jsQR } = await import("jsqr");
  const code = jsQR(data.data, data.width, data.height, { inversionAttempts: "attemptBoth" });
  return code && code.data ? { ok: true, text: code.data } : { ok: false, reason: "not_found" };
}

/** Reads one frame: the platform's detector, else jsQR on a canvas of it. */
async function readFrame(video: HTMLVideoElement, canvas: HTMLCanvasElement, detector: Detector | null): Promise<string | null> {
  if (detector) {
    try {
      const found = await detector.detect(video);
      if (found.length > 0 && found[0].rawValue) return found[0].rawValue;
      return null;
    } catch {
      // fall through to jsQR
    }
  }
  const w = video.videoWidth;
  const hgt = video.videoHeight;
  if (!w || !hgt) return null;
  const scale = Math.min(1, 640 / Math.max(w, hgt));
  canvas.width = Math.round(w * scale);
  canvas.height = Math.round(hgt * scale);
  const ctx = canvas.getContext("2d", { willReadFrequently: true }) as CanvasRenderingContext2D | null;
  if (!ctx) return null;
  ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height);
  const { default: jsQR } = await import("jsqr");
  const code = jsQR(data.data, data.width, data.height, { inversionAttempts: "dontInvert" });
  return code && code.data ? code.data : null;
}

export type CameraScan = { stop(): void; done: Promise<QrResult> };

/**
 * Scans the back camera live into `video` until a QR code is read (four frames a second), then
 * stops the camera. `unsupported` when there is no camera or it is refused: the photo route stays.
 */
export function scanCamera(video: HTMLVideoElement): CameraScan {
  let stopped = false;
  let stream: MediaStream | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let finish: (r: QrResult) => void = () => undefined;
  const done = new Promise<QrResult>((resolve) => (finish = resolve));
  const stop = () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    stream?.getTracks().forEach((tr) => tr.stop());
    video.srcObject = null;
    finish({ ok: false, reason: "not_found" });
  };
  void (async () => {
    const media = typeof navigator !== "undefined" ? navigator.mediaDevices : undefined;
    if (!media || typeof media.getUserMedia !== "function") return finish({ ok: false, reason: "unsupported" });
    try {
      stream = await media.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    } catch {
      return finish({ ok: false, reason: "unsupported" });
    }
    if (stopped) return stop();
    video.srcObject = stream;
    video.muted = true;
    video.setAttribute("playsinline", "");
    await video.play().catch(() => undefined);
    const BD = (globalThis as unknown as { BarcodeDetector?: DetectorCtor }).BarcodeDetector;
    let detector: Detector | null = null;
    try {
      detector = BD ? new BD({ formats: ["qr_code"] }) : null;
    } catch {
      detector = null;
    }
    const canvas = document.createElement("canvas");
    const tick = async () => {
      if (stopped) return;
      const text = await readFrame(video, canvas, detector).catch(() => null);
      if (stopped) return;
      if (text) {
        finish({ ok: true, text });
        stopped = true;
        stream?.getTracks().forEach((tr) => tr.stop());
        video.srcObject = null;
        return;
      }
      timer = setTimeout(() => void tick(), 250);
    };
    void tick();
  })();
  return { stop, done };
}
