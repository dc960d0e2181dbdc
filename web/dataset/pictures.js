// The dataset's photos decoded for the screen: the last few pictures (ImageBitmaps, for the
// editing canvas) and a thumbnail per photo (a small canvas, for the photo strip), made from the
// photos' Blobs (./session.js keeps those).
const THUMB_PX = 96; // thumbnail width
const BITMAPS_KEPT = 4; // decoded photos kept for going back and forth

/** A small canvas of the picture for the photo strip. */
function makeThumb(source) {
  const canvas = document.createElement('canvas');
  canvas.width = THUMB_PX;
  canvas.height = Math.max(1, Math.round((THUMB_PX * source.height) / source.width));
  canvas.getContext('2d').drawImage(source, 0, 0, canvas.width, canvas.height);
  return canvas;
}

export class Pictures {
  bitmaps = new Map(); // image id -> ImageBitmap (null while it decodes), most recent last
  thumbs = new Map(); // image id -> <canvas>

  /** `blobs`: Map image id -> Blob; `current()`: the current photo's id, whose picture stays. */
  constructor(blobs, current) {
    this.blobs = blobs;
    this.current = current;
  }

  /** The decoded picture of photo `id`, or null while it is not. */
  bitmap(id) {
    return this.bitmaps.get(id) ?? null;
  }

  /** Photo `id` came with its picture decoded (or null): its thumbnail, and the picture kept if `keep`, else closed. */
  added(id, bitmap, keep) {
    if (!bitmap) return;
    this.thumbs.set(id, makeThumb(bitmap));
    if (keep) this.keep(id, bitmap);
    else bitmap.close();
  }

  /**
   * Decodes photo `id` (keeping the last few): resolves true once it is, false when it has no
   * Blob or is decoded (or decoding) already; rejects when it does not decode.
   */
  async load(id) {
    const blob = this.blobs.get(id);
    if (!blob || this.bitmaps.has(id)) return false;
    this.bitmaps.set(id, null); // loading
    try {
      this.keep(id, await createImageBitmap(blob));
    } catch (e) {
      this.bitmaps.delete(id);
      throw e;
    }
    return true;
  }

  keep(id, bitmap) {
    this.bitmaps.delete(id);
    this.bitmaps.set(id, bitmap);
    for (const [old, b] of this.bitmaps) {
      if (this.bitmaps.size <= BITMAPS_KEPT) break;
      if (old === this.current()) continue;
      b?.close();
      this.bitmaps.delete(old);
    }
  }

  /** Thumbnails of the `images` that have none yet, one after another; `made()` after each. */
  async fillThumbs(images, made) {
    for (const im of images) {
      if (this.thumbs.has(im.id) || !this.blobs.has(im.id)) continue;
      try {
        const bitmap = await createImageBitmap(this.blobs.get(im.id), { resizeWidth: THUMB_PX, resizeQuality: 'medium' });
        this.thumbs.set(im.id, makeThumb(bitmap));
        bitmap.close();
      } catch {
        continue; // the strip shows the name alone
      }
      made();
    }
  }

  /** Photo `id` left the dataset. */
  forget(id) {
    this.bitmaps.get(id)?.close();
    this.bitmaps.delete(id);
    this.thumbs.delete(id);
  }

  /** Every photo left the dataset. */
  clear() {
    for (const b of this.bitmaps.values()) b?.close();
    this.bitmaps.clear();
    this.thumbs.clear();
  }
}
