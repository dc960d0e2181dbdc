// Writing the dataset out as downloads: COCO JSON, a COCO .zip (annotations.json beside the
// photos, so `libra train --data coco:DIR/annotations.json` reads it) and a Pascal VOC .zip
// (Annotations/, JPEGImages/, ImageSets/Main/trainval.txt: `libra train --data voc:DIR`); and
// the section's three export buttons (wireExports).
import { strToU8, zipSync } from '../vendor/fflate.js';
import { toCoco } from './coco.js';
import { stemOf, typeOf, uniqueNames } from './filenames.js';
import { toVocXml } from './voc.js';

/** Unique file names for the photos, in the order of ds.images. */
function namesOf(ds, blobs) {
  return uniqueNames(ds.images.map((im) => ({ name: im.name, type: blobs.get(im.id)?.type || typeOf(im.name) })));
}

/** Saves `blob` as a download named `name`. */
function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** The photos' bytes as zip entries stored as they are (they are compressed already). */
async function photoEntries(ds, blobs, paths) {
  const entries = {};
  for (const [i, im] of ds.images.entries()) entries[paths[i]] = [new Uint8Array(await blobs.get(im.id).arrayBuffer()), { level: 0 }];
  return entries;
}

const json = (ds, names) => `${JSON.stringify(toCoco(ds, names), null, 1)}\n`;

export function exportCocoJson(ds, blobs) {
  download(new Blob([json(ds, namesOf(ds, blobs))], { type: 'application/json' }), 'annotations.json');
}

export async function exportCocoZip(ds, blobs) {
  const names = namesOf(ds, blobs);
  const files = { 'annotations.json': strToU8(json(ds, names)), ...(await photoEntries(ds, blobs, names)) };
  download(new Blob([zipSync(files)], { type: 'application/zip' }), 'dataset-coco.zip');
}

export async function exportVocZip(ds, blobs) {
  const names = namesOf(ds, blobs);
  const className = (id) => ds.classes.find((c) => c.id === id)?.name ?? String(id);
  const files = await photoEntries(ds, blobs, names.map((n) => `JPEGImages/${n}`));
  ds.images.forEach((im, i) => {
    files[`Annotations/${stemOf(names[i])}.xml`] = strToU8(toVocXml(im, names[i], className));
  });
  files['ImageSets/Main/trainval.txt'] = strToU8(`${names.map(stemOf).join('\n')}\n`);
  download(new Blob([zipSync(files)], { type: 'application/zip' }), 'dataset-voc.zip');
}

/** Makes the buttons {coco, cocoZip, voc} export `session`'s dataset (./session.js); `say(text)` tells a failure. */
export function wireExports(buttons, session, say) {
  const exportAs = async (button, write) => {
    button.disabled = true;
    try {
      await write(session.ds, session.blobs);
    } catch (e) {
      say(`Export failed: ${e.message}`);
    } finally {
      button.disabled = !session.ds.images.length;
    }
  };
  buttons.coco.addEventListener('click', () => exportAs(buttons.coco, exportCocoJson));
  buttons.cocoZip.addEventListener('click', () => exportAs(buttons.cocoZip, exportCocoZip));
  buttons.voc.addEventListener('click', () => exportAs(buttons.voc, exportVocZip));
}
