// COCO and Pascal VOC, both ways (web/dataset/coco.js, voc.js), and export file names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as M from '../../web/dataset/model.js';
import { findFile, parseCoco, readCoco, toCoco } from '../../web/dataset/coco.js';
import { readVocXml, toVocXml } from '../../web/dataset/voc.js';
import { uniqueNames } from '../../web/dataset/filenames.js';

/** Two photos: a.jpg with two boxes (classes object and cat), b.png with none. */
function sample() {
  let { ds } = M.addImages(M.emptyDataset(), [
    { name: 'a.jpg', width: 100, height: 80, boxes: [{ bbox: [10, 20, 50, 60], classId: 1 }, { bbox: [0, 0, 100, 80], classId: 2 }] },
    { name: 'b.png', width: 64, height: 48 },
  ]);
  ds = M.ensureClasses(ds, ['cat']).ds;
  return ds;
}

/**
 * A minimal XML reader for the tests (Node has no DOMParser): elements, text, no attributes
 * needed; throws on a closing tag that does not match. The page uses the browser's DOMParser.
 */
function parseXml(text) {
  const root = { tag: '#root', text: '', children: [] };
  const stack = [root];
  const re = /<\?[^>]*\?>|<!--[\s\S]*?-->|<(\/?)([\w:-]+)[^>]*?(\/?)>|([^<]+)/g;
  for (let m; (m = re.exec(text));) {
    const [, close, tag, selfClose, chars] = m;
    const top = stack.at(-1);
    if (chars !== undefined) {
      const t = chars.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
      for (const node of stack) node.text += t;
    } else if (tag && close) {
      if (top.tag !== tag) throw new Error(`</${tag}> closes <${top.tag}>`);
      stack.pop();
    } else if (tag) {
      const node = { tag, text: '', children: [] };
      top.children.push(node);
      if (!selfClose) stack.push(node);
    }
  }
  if (stack.length !== 1) throw new Error(`<${stack.at(-1).tag}> is not closed`);
  return root.children[0];
}

test('COCO export: [x1, y1, x2, y2] becomes [x, y, w, h]; categories are the classes', () => {
  const coco = toCoco(sample(), ['a.jpg', 'b.png']);
  assert.deepEqual(coco.images, [{ id: 1, file_name: 'a.jpg', width: 100, height: 80 }, { id: 2, file_name: 'b.png', width: 64, height: 48 }]);
  assert.deepEqual(coco.annotations, [
    { id: 1, image_id: 1, category_id: 1, bbox: [10, 20, 40, 40], area: 1600, iscrowd: 0 },
    { id: 2, image_id: 1, category_id: 2, bbox: [0, 0, 100, 80], area: 8000, iscrowd: 0 },
  ]);
  assert.deepEqual(coco.categories.map((c) => [c.id, c.name]), [[1, 'object'], [2, 'cat']]);
});

test('COCO export then import gives the same boxes', () => {
  const text = JSON.stringify(toCoco(sample(), ['a.jpg', 'b.png']));
  const { images, classNames, skipped, crowd } = readCoco(parseCoco(text, 'annotations.json'), 'annotations.json');
  assert.deepEqual(classNames, ['object', 'cat']);
  assert.equal(skipped, 0);
  assert.equal(crowd, 0);
  assert.deepEqual(images, [
    { file: 'a.jpg', boxes: [{ bbox: [10, 20, 50, 60], className: 'object' }, { bbox: [0, 0, 100, 80], className: 'cat' }] },
    { file: 'b.png', boxes: [] },
  ]);
});

test('COCO import errors name the problem', () => {
  assert.throws(() => parseCoco('{"images": [', 'ann.json'), (e) => {
    assert.match(e.message, /^ann\.json is not valid JSON: /);
    let parseError;
    try { JSON.parse('{"images": ['); } catch (p) { parseError = p.message; }
    assert.ok(e.message.includes(parseError), `the parse error must be in "${e.message}"`);
    return true;
  });
  assert.throws(() => parseCoco('{"images": []}', 'ann.json'), /ann\.json is not COCO instances JSON: it has no "annotations" list/);
  const coco = { images: [{ id: 7, file_name: 'dog.jpg' }], categories: [{ id: 1, name: 'dog' }], annotations: [{ id: 3, image_id: 7, category_id: 9, bbox: [0, 0, 5, 5] }] };
  assert.throws(() => readCoco(coco, 'ann.json'), /category_id 9.*not in "categories"/);
  assert.throws(() => readCoco(coco, 'ann.json'), /dog\.jpg/);
  coco.annotations[0] = { id: 4, image_id: 8, category_id: 1, bbox: [0, 0, 5, 5] };
  assert.throws(() => readCoco(coco, 'ann.json'), /image id 8/);
  coco.annotations[0] = { id: 5, image_id: 7, category_id: 1, bbox: [0, 0, 'x', 5] };
  assert.equal(readCoco(coco, 'ann.json').skipped, 1);
});

test('COCO crowd regions are left out and counted', () => {
  const coco = { images: [{ id: 7, file_name: 'dog.jpg' }], categories: [{ id: 1, name: 'dog' }], annotations: [
    { id: 1, image_id: 7, category_id: 1, bbox: [0, 0, 5, 5], iscrowd: 0 },
    { id: 2, image_id: 7, category_id: 1, bbox: [0, 0, 50, 50], iscrowd: 1 },
  ] };
  const { images, skipped, crowd } = readCoco(coco, 'ann.json');
  assert.deepEqual(images[0].boxes, [{ bbox: [0, 0, 5, 5], className: 'dog' }]);
  assert.deepEqual([skipped, crowd], [0, 1]);
});

test('COCO file names are found beside the JSON, as written, or by base name', () => {
  const paths = ['data/annotations.json', 'data/images/a.jpg', 'b.jpg', 'x/c.jpg', 'y/c.jpg'];
  assert.equal(findFile('images/a.jpg', paths, 'data/'), 'data/images/a.jpg');
  assert.equal(findFile('somewhere/b.jpg', paths), 'b.jpg');
  assert.equal(findFile('c.jpg', paths), null, 'two candidates: ambiguous');
  assert.equal(findFile('d.jpg', paths), null);
});

test('VOC XML round trip: 1-based inclusive coordinates, names escaped', () => {
  const ds = M.ensureClasses(sample(), ['R&D <x>']).ds;
  const image = { ...ds.images[0], boxes: [...ds.images[0].boxes, { id: 9, bbox: [30, 31, 32, 33], classId: 3 }] };
  const name = (id) => M.classOf(ds, id).name;
  const xml = toVocXml(image, 'a.jpg', name);
  assert.match(xml, /<xmin>11<\/xmin>\s*<ymin>21<\/ymin>\s*<xmax>50<\/xmax>\s*<ymax>60<\/ymax>/);
  assert.match(xml, /<name>R&amp;D &lt;x&gt;<\/name>/);
  assert.deepEqual(readVocXml(xml, 'Annotations/a.xml', parseXml), {
    file: 'a.jpg',
    width: 100,
    height: 80,
    boxes: [
      { bbox: [10, 20, 50, 60], className: 'object' },
      { bbox: [0, 0, 100, 80], className: 'cat' },
      { bbox: [30, 31, 32, 33], className: 'R&D <x>' },
    ],
  });
});

test('VOC problems are named: missing <bndbox>, bad numbers, broken XML', () => {
  const xml = toVocXml(sample().images[0], 'a.jpg', (id) => (id === 1 ? 'object' : 'cat'));
  const noBox = xml.replace(/<bndbox>[\s\S]*?<\/bndbox>/, '');
  assert.throws(() => readVocXml(noBox, 'a.xml', parseXml), /^Error: a\.xml, object 1 \("object"\) has no <bndbox>$/);
  assert.throws(() => readVocXml(xml.replace('<xmax>50</xmax>', '<xmax>wide</xmax>'), 'a.xml', parseXml), /object 1 \("object"\): <xmax> is not a number \("wide"\)/);
  assert.throws(() => readVocXml(xml.replace('</size>', ''), 'a.xml', parseXml), /a\.xml is not valid XML/);
  assert.throws(() => readVocXml('<foo></foo>', 'a.xml', parseXml), /root element is <foo>/);
  assert.throws(() => readVocXml(xml.replace(/<size>[\s\S]*?<\/size>/, ''), 'a.xml', parseXml), /a\.xml has no <size>/);
});

test('export names are unique by stem and fit the picture type', () => {
  const names = uniqueNames([
    { name: 'a.jpg', type: 'image/jpeg' },
    { name: 'A.png', type: 'image/png' },
    { name: 'dir/b.JPEG', type: 'image/jpeg' },
    { name: 'webcam', type: 'image/jpeg' },
    { name: 'we:ird?.png', type: '' },
  ]);
  assert.deepEqual(names, ['a.jpg', 'A-2.png', 'b.jpg', 'webcam.jpg', 'we_ird_.png']);
});
