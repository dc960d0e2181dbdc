// Pictures for the detector: decoding images, grabbing video frames, opening cameras.

/** Pictures larger than this (per side) are scaled down before detection; boxes are scaled back. */
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

/** The RGBA pixels of `bitmap` at its natural size (for the teaching views, which ask about a whole photo). */
export function bitmapPixels(bitmap) {
  const canvas = Object.assign(document.createElement('canvas'), { width: bitmap.width, height: bitmap.height });
  const ctx = context(canvas);
  ctx.drawImage(bitmap, 0, 0);
  return ctx.getImageData(0, 0, bitmap.width, bitmap.height);
}

/** The frame's RGBA pixels (ImageData of its canvas). */
export function readPixels(frame) {
  return context(frame.canvas).getImageData(0, 0, frame.canvas.width, frame.canvas.height);
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
