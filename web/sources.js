// Pictures for the detector: decoding images, grabbing video frames, opening cameras.

/** The view canvas is at most this per side (display only: the detector gets the model's input size, `pixelsAtMost`). */
const MAX_SIDE = 2048;

/** Decodes an image file or blob with its pixel values untouched, or null if it is not an image. */
export async function decodeImage(blob) {
  try {
    return await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch {
    return null;
  }
}

function context(canvas) {
  return canvas.getContext('2d', { willReadFrequently: true, colorSpace: 'srgb' });
}

/**
 * Draws `source` (ImageBitmap or playing <video>) of `width` x `height` into `canvas` at its
 * natural size (capped at MAX_SIDE). Returns the frame {canvas, width, height}: the picture's
 * size, which the canvas also has unless it was capped.
 */
export function drawFrame(canvas, source, width, height) {
  const scale = Math.min(1, MAX_SIDE / Math.max(width, height));
  canvas.width = Math.max(1, Math.round(width * scale));
  canvas.height = Math.max(1, Math.round(height * scale));
  context(canvas).drawImage(source, 0, 0, canvas.width, canvas.height);
  return { canvas, width, height };
}

/**
 * What goes to a worker: `source` (ImageBitmap, canvas or playing <video>, `width` x `height`)
 * scaled down, never up, so that its longer side is at most `side`, the model's input (the
 * detector letterboxes to it anyway; a 12-megapixel photo would be 48 MB of pixels). Returns
 * {pixels: ImageData, sx, sy}: the pixels' width / `width` and height / `height`, by which a
 * point in the pixels divides to land on the picture.
 */
export function pixelsAtMost(source, width, height, side) {
  const scale = Math.min(1, side / Math.max(width, height));
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  const canvas = Object.assign(document.createElement('canvas'), { width: w, height: h });
  const ctx = context(canvas);
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(source, 0, 0, w, h);
  return { pixels: ctx.getImageData(0, 0, w, h), sx: w / width, sy: h / height };
}

/** The frame's pixels for a model of input `side`: {pixels, sx, sy} as `pixelsAtMost`, against the frame's own size. */
export function readPixels(frame, side) {
  const { canvas } = frame;
  const { pixels } = pixelsAtMost(canvas, canvas.width, canvas.height, side);
  return { pixels, sx: pixels.width / frame.width, sy: pixels.height / frame.height };
}

/** Points `video` at `url` and resolves once its first frame is decoded. */
export function loadVideo(video, url, timeoutMs = 15_000) {
  return new Promise((resolve, reject) => {
    const done = (error) => {
      clearTimeout(timer);
      video.onloadeddata = video.onerror = null;
      if (error) reject(error);
      else resolve();
    };
    const timer = setTimeout(() => done(new Error(`no picture after ${timeoutMs / 1000} s`)), timeoutMs);
    video.onloadeddata = () => done(null);
    video.onerror = () => done(new Error(video.error?.message || 'this browser cannot play the file'));
    video.src = url;
  });
}

/** A hidden, muted <video> in the page (kept rendered: some browsers pause detached videos). */
export function hiddenVideo() {
  const video = document.createElement('video');
  video.className = 'offscreen';
  video.muted = true;
  video.playsInline = true;
  video.setAttribute('aria-hidden', 'true');
  document.body.append(video);
  return video;
}

/** Opens the camera `deviceId` (or the default one when empty), video only, at its own resolution. */
export function openCamera(deviceId) {
  if (!navigator.mediaDevices?.getUserMedia) {
    const e = new Error('navigator.mediaDevices is missing');
    e.name = 'SecurityError';
    return Promise.reject(e);
  }
  const video = deviceId ? { deviceId: { exact: deviceId } } : true;
  return navigator.mediaDevices.getUserMedia({ video, audio: false });
}

/** The video inputs (labels are empty until the user allowed a camera once). */
export async function listCameras() {
  try {
    const devices = await navigator.mediaDevices.enumerateDevices();
    return devices.filter((d) => d.kind === 'videoinput');
  } catch {
    return [];
  }
}

/** A user-readable explanation of a getUserMedia() failure. */
export function cameraErrorText(e) {
  switch (e?.name) {
    case 'NotAllowedError':
      return 'Camera access was denied. Allow the camera for this page (the camera icon in the address bar or the site settings) and press "Start webcam" again.';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No camera was found. Connect a camera (or pick another one in the list), or use a sample or a picture instead.';
    case 'NotReadableError':
    case 'AbortError':
      return 'The camera could not be started: another application may be using it.';
    case 'SecurityError':
      return 'The camera is only available on a secure page (https:// or http://localhost).';
    default:
      return `The camera could not be started: ${e?.name ?? 'Error'}: ${e?.message ?? e}`;
  }
}
