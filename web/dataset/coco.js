// COCO instances JSON, both ways. Boxes: ours [x1, y1, x2, y2], COCO's [x, y, width, height].
// Pure functions over plain objects and strings.
import { baseName } from './filenames.js';

/**
 * COCO instances JSON (an object) of the dataset `ds`, the photos named `names[i]` (in the order
 * of ds.images). Image and annotation ids count from 1; category ids are the class ids.
 */
export function toCoco(ds, names) {
  const images = ds.images.map((im, i) => ({ id: i + 1, file_name: names[i], width: im.width, height: im.height }));
  const annotations = ds.images.flatMap((im, i) =>
    im.boxes.map(({ bbox: [x1, y1, x2, y2], classId }) => ({ image_id: i + 1, category_id: classId, bbox: [x1, y1, x2 - x1, y2 - y1], area: (x2 - x1) * (y2 - y1), iscrowd: 0 })),
  ).map((a, i) => ({ id: i + 1, ...a }));
  const categories = ds.classes.map((c) => ({ id: c.id, name: c.name, supercategory: 'none' }));
  return { info: { description: 'Made with the Libra R-CNN page' }, images, annotations, categories };
}

/** Parses COCO JSON text from `file`; errors name the file and the problem (the parse error for broken JSON). */
export function parseCoco(text, file) {
  let coco;
  try {
    coco = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file} is not valid JSON: ${e.message}`);
  }
  for (const key of ['images', 'annotations', 'categories']) {
    if (!Array.isArray(coco?.[key])) throw new Error(`${file} is not COCO instances JSON: it has no "${key}" list`);
  }
  return coco;
}

const validBox = (b) => Array.isArray(b) && b.length === 4 && b.every(Number.isFinite) && b[2] >= 0 && b[3] >= 0;

/**
 * The photos of a parsed COCO object: {images: [{file, boxes: [{bbox, className}]}], classNames,
 * skipped, crowd} where `file` is the file_name as written, classNames all category names in id
 * order, skipped the number of annotations without a valid bbox and crowd the number of crowd
 * regions (`iscrowd` 1: a box around many objects, which is not trained on), left out. Throws on
 * an annotation of an unknown category or image (naming its id and the image), and on repeated ids.
 */
export function readCoco(coco, file) {
  const cats = new Map();
  for (const c of coco.categories) {
    if (cats.has(c.id)) throw new Error(`${file}: category id ${c.id} is used twice`);
    cats.set(c.id, String(c.name ?? c.id));
  }
  const images = new Map();
  for (const im of coco.images) {
    if (images.has(im.id)) throw new Error(`${file}: image id ${im.id} is used twice`);
    if (typeof im.file_name !== 'string' || !im.file_name) throw new Error(`${file}: image id ${im.id} has no file_name`);
    images.set(im.id, { file: im.file_name, boxes: [] });
  }
  let skipped = 0;
  let crowd = 0;
  for (const a of coco.annotations) {
    const image = images.get(a.image_id);
    if (!image) throw new Error(`${file}: annotation ${a.id} refers to image id ${a.image_id}, which is not in "images"`);
    const className = cats.get(a.category_id);
    if (className === undefined) throw new Error(`${file}: annotation ${a.id} of image ${image.file} has category_id ${a.category_id}, which is not in "categories"`);
    if (!validBox(a.bbox)) {
      skipped++;
      continue;
    }
    if (a.iscrowd) {
      crowd++;
      continue;
    }
    const [x, y, w, h] = a.bbox;
    image.boxes.push({ bbox: [x, y, x + w, y + h], className });
  }
  const classNames = [...cats.entries()].sort((a, b) => a[0] - b[0]).map(([, name]) => name);
  return { images: [...images.values()], classNames, skipped, crowd };
}

/**
 * The provided file (by path) for a COCO file_name: the same path relative to the JSON's folder
 * `dir`, else the same path, else the only provided file with the same base name; null if none.
 */
export function findFile(fileName, paths, dir = '') {
  const wanted = fileName.replace(/\\/g, '/').replace(/^\.\//, '');
  for (const p of [`${dir}${wanted}`, wanted]) if (paths.includes(p)) return p;
  const base = baseName(wanted);
  const same = paths.filter((p) => baseName(p) === base);
  return same.length === 1 ? same[0] : null;
}
