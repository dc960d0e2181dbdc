// Reading labelled photos from files: a COCO .json with its photos, a COCO .zip, a Pascal VOC
// .zip (or VOC .xml files with their photos). The formats are read by coco.js and voc.js; this
// layer unpacks zips (fflate), decodes photos and gathers the problems into one report, which
// importFiles adds to the dataset being edited (./session.js).
import { unzipSync } from '../vendor/fflate.js';
import { findFile, parseCoco, readCoco } from './coco.js';
import { baseName, isImageName, stemOf, typeOf } from './filenames.js';
import { clipAll } from './geometry.js';
import { readVocXml } from './voc.js';

const LISTED = 3; // names listed in a message before "and N more"

/** Names for a message: 'a.jpg, b.jpg, c.jpg and 4 more'. */
export function listNames(names) {
  const shown = names.slice(0, LISTED).join(', ');
  return names.length > LISTED ? `${shown} and ${names.length - LISTED} more` : shown;
}

/** The document element of XML text as a tree {tag, text, children} (voc.js's parseXml), by the browser's DOMParser. */
export function xmlTree(text) {
  const doc = new DOMParser().parseFromString(text, 'application/xml');
  const error = doc.querySelector('parsererror');
  if (error) throw new Error(error.textContent.trim().split('\n')[0]);
  const tree = (node) => ({ tag: node.localName, text: node.textContent, children: [...node.children].map(tree) });
  return tree(doc.documentElement);
}

/** The files as entries {path, blob}, zips unpacked (their folders kept in the paths). */
async function entriesOf(files) {
  const entries = [];
  for (const file of files) {
    if (!/\.zip$/i.test(file.name)) {
      entries.push({ path: file.name, blob: file });
      continue;
    }
    let zip;
    try {
      zip = unzipSync(new Uint8Array(await file.arrayBuffer()));
    } catch (e) {
      throw new Error(`${file.name} is not a readable .zip file (${e.message}).`);
    }
    for (const [path, bytes] of Object.entries(zip)) {
      if (path.endsWith('/') || path.startsWith('__MACOSX/') || baseName(path).startsWith('._')) continue;
      entries.push({ path, blob: new Blob([bytes], { type: typeOf(path) }) });
    }
  }
  return entries;
}

const dirOf = (path) => path.slice(0, path.lastIndexOf('/') + 1);

/**
 * Reads labelled photos from `files` (a FileList or array). Resolves to {photos: [{name, blob,
 * width, height, boxes: [{bbox, className}]}], classNames, notes} where notes are sentences on
 * what was skipped or clipped; rejects with a message-ready Error when nothing can be imported.
 */
export async function readImport(files) {
  const entries = await entriesOf([...files]);
  const images = entries.filter((e) => isImageName(e.path) || (e.blob.type.startsWith('image/') && !/\.(json|xml)$/i.test(e.path)));
  const jsons = entries.filter((e) => /\.json$/i.test(e.path));
  const xmls = entries.filter((e) => /\.xml$/i.test(e.path));
  if (jsons.length > 1) throw new Error(`Import one COCO JSON file at a time (got ${listNames(jsons.map((e) => e.path))}).`);
  let listed;
  if (jsons.length === 1) listed = await fromCoco(jsons[0], images);
  else if (xmls.length) listed = await fromVoc(xmls, images);
  else throw new Error('Nothing to import: choose a COCO .json together with its photos, a COCO .zip or a Pascal VOC .zip. (Photos without boxes go in with "Add photos".)');

  const photos = [];
  const notes = [...listed.notes];
  const unreadable = [];
  let clipped = 0;
  let dropped = 0;
  for (const item of listed.items) {
    let bitmap;
    try {
      bitmap = await createImageBitmap(item.entry.blob);
    } catch {
      unreadable.push(item.entry.path);
      continue;
    }
    const { width, height } = bitmap;
    bitmap.close();
    const fit = clipAll(item.boxes, width, height);
    clipped += fit.clipped;
    dropped += fit.dropped;
    photos.push({ name: baseName(item.entry.path), blob: item.entry.blob, width, height, boxes: fit.boxes });
  }
  if (unreadable.length) notes.push(`${listNames(unreadable)} could not be read as ${unreadable.length === 1 ? 'a picture' : 'pictures'} and ${unreadable.length === 1 ? 'was' : 'were'} skipped.`);
  if (clipped) notes.push(`${clipped} ${clipped === 1 ? 'box reaching' : 'boxes reaching'} outside ${clipped === 1 ? 'its' : 'their'} photo ${clipped === 1 ? 'was' : 'were'} clipped to it.`);
  if (dropped) notes.push(`${dropped} ${dropped === 1 ? 'box' : 'boxes'} entirely outside ${dropped === 1 ? 'its' : 'their'} photo ${dropped === 1 ? 'was' : 'were'} left out.`);
  if (!photos.length) throw new Error(`Nothing was imported. ${notes.join(' ')}`.trim());
  return { photos, classNames: listed.classNames, notes };
}

/** Imports `files` into `session`'s dataset (./session.js); `say(text)` tells what was skipped, or why nothing was imported. */
export async function importFiles(files, session, say) {
  let result;
  try {
    result = await readImport(files);
  } catch (e) {
    return say(`Import failed: ${e.message}`);
  }
  const photos = session.addImported(result);
  const boxes = photos.reduce((n, p) => n + p.boxes.length, 0);
  say(result.notes.length ? `Imported ${photos.length} ${photos.length === 1 ? 'photo' : 'photos'} with ${boxes} ${boxes === 1 ? 'box' : 'boxes'}. ${result.notes.join(' ')}` : '');
}

/** The photos a COCO JSON lists, matched with the provided images: {items: [{entry, boxes}], classNames, notes}. */
async function fromCoco(json, images) {
  const coco = parseCoco(await json.blob.text(), json.path);
  const { images: listed, classNames, skipped, crowd } = readCoco(coco, json.path);
  const paths = images.map((e) => e.path);
  const items = [];
  const missing = [];
  for (const im of listed) {
    const path = findFile(im.file, paths, dirOf(json.path));
    if (path) items.push({ entry: images[paths.indexOf(path)], boxes: im.boxes });
    else missing.push(im.file);
  }
  const notes = [];
  if (missing.length) {
    const hint = images.length ? '' : ' Select the photos together with the JSON file (or import a .zip holding both).';
    notes.push(`${missing.length} ${missing.length === 1 ? 'photo' : 'photos'} listed in ${json.path} ${missing.length === 1 ? 'was' : 'were'} not provided and skipped: ${listNames(missing)}.${hint}`);
  }
  if (skipped) notes.push(`${skipped} ${skipped === 1 ? 'annotation' : 'annotations'} without a valid bbox ${skipped === 1 ? 'was' : 'were'} skipped.`);
  if (crowd) notes.push(`${crowd} crowd ${crowd === 1 ? 'region (iscrowd) was' : 'regions (iscrowd) were'} left out: the detector learns single objects.`);
  return { items, classNames, notes };
}

/** The photos of VOC XML files, each found in the JPEGImages folder beside its Annotations folder or by name. */
async function fromVoc(xmls, images) {
  const paths = images.map((e) => e.path);
  const items = [];
  const classNames = [];
  const broken = [];
  const missing = [];
  for (const xml of xmls) {
    let ann;
    try {
      ann = readVocXml(await xml.blob.text(), xml.path, xmlTree);
    } catch (e) {
      broken.push(e.message);
      continue;
    }
    const beside = `${dirOf(dirOf(xml.path).replace(/\/$/, ''))}JPEGImages/${ann.file}`;
    const sameStem = paths.filter((p) => stemOf(baseName(p)) === stemOf(baseName(ann.file)));
    const path = paths.includes(beside) ? beside : (findFile(ann.file, paths) ?? (sameStem.length === 1 ? sameStem[0] : null));
    if (!path) {
      missing.push(ann.file);
      continue;
    }
    for (const b of ann.boxes) if (!classNames.includes(b.className)) classNames.push(b.className);
    items.push({ entry: images[paths.indexOf(path)], boxes: ann.boxes });
  }
  const notes = [];
  if (broken.length) notes.push(`${broken.length} VOC ${broken.length === 1 ? 'file was' : 'files were'} skipped: ${broken.slice(0, LISTED).join('; ')}${broken.length > LISTED ? `; and ${broken.length - LISTED} more` : ''}.`);
  if (missing.length) notes.push(`${missing.length} ${missing.length === 1 ? 'photo' : 'photos'} named in the VOC files ${missing.length === 1 ? 'was' : 'were'} not provided and skipped: ${listNames(missing)}.`);
  return { items, classNames, notes };
}
