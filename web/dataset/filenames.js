// File names of photos: base names, extensions from MIME types, unique names for exports. Pure.

const EXTENSIONS = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp', 'image/gif': 'gif', 'image/bmp': 'bmp', 'image/avif': 'avif' };
const TYPES = { jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', gif: 'image/gif', bmp: 'image/bmp', avif: 'image/avif' };

/** The last part of a path ('a/b/c.jpg' -> 'c.jpg'; both slashes count). */
export const baseName = (path) => path.split(/[\\/]/).pop();

/** The name without its extension ('c.jpg' -> 'c'). */
export const stemOf = (name) => name.replace(/\.[^./\\]*$/, '');

/** The MIME type of an image file name by its extension, or '' if unknown. */
export const typeOf = (name) => TYPES[/\.([^.]+)$/.exec(name)?.[1].toLowerCase()] ?? '';

/** True for file names with an image extension. */
export const isImageName = (name) => typeOf(name) !== '';

/**
 * Export names for `photos` ([{name, type}]): base names with an extension that fits the type,
 * characters that are unsafe in file names replaced, and '-2', '-3', ... added to repeated
 * stems (case-insensitive), so 'a.jpg' and 'a.png' do not share one VOC annotation file.
 */
export function uniqueNames(photos) {
  const used = new Set();
  return photos.map(({ name, type }) => {
    const ext = EXTENSIONS[type] ?? (/\.([^.]+)$/.exec(name)?.[1] || 'jpg');
    const keepExt = typeOf(name) === (TYPES[ext] ?? '') && TYPES[ext];
    const stem = (keepExt ? stemOf(baseName(name)) : baseName(name)).replace(/[\u0000-\u001f<>:"|?*\\/]/g, '_') || 'photo';
    let candidate = stem;
    for (let n = 2; used.has(candidate.toLowerCase()); n++) candidate = `${stem}-${n}`;
    used.add(candidate.toLowerCase());
    return `${candidate}.${ext}`;
  });
}
