// Pascal VOC XML annotations (one file per photo), both ways. VOC pixel coordinates are 1-based
// and inclusive, so x1 = xmin - 1 and x2 = xmax (the same as the libra CLI's crate/data/voc/).
// Pure: reading takes `parseXml(text)`, which returns the document element as a tree
// {tag, text, children} or throws (xmlTree in importer.js wraps the browser's DOMParser).

const escapeXml = (s) => String(s).replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]);

/** The VOC XML of one photo `image` saved as `fileName`; `className(id)` names its classes. */
export function toVocXml(image, fileName, className) {
  const objects = image.boxes.map(({ bbox: [x1, y1, x2, y2], classId }) => `  <object>
    <name>${escapeXml(className(classId))}</name>
    <pose>Unspecified</pose>
    <truncated>0</truncated>
    <difficult>0</difficult>
    <bndbox>
      <xmin>${x1 + 1}</xmin>
      <ymin>${y1 + 1}</ymin>
      <xmax>${x2}</xmax>
      <ymax>${y2}</ymax>
    </bndbox>
  </object>
`);
  return `<annotation>
  <folder>JPEGImages</folder>
  <filename>${escapeXml(fileName)}</filename>
  <size>
    <width>${image.width}</width>
    <height>${image.height}</height>
    <depth>3</depth>
  </size>
  <segmented>0</segmented>
${objects.join('')}</annotation>
`;
}

const child = (node, tag) => node.children.find((c) => c.tag === tag) ?? null;
const text = (node, tag) => child(node, tag)?.text.trim() ?? null;

function number(node, tag, where) {
  const t = text(node, tag);
  const v = t === null ? NaN : Number(t);
  if (t === null || t === '' || !Number.isFinite(v)) throw new Error(`${where}: <${tag}> is ${t === null ? 'missing' : `not a number ("${t}")`}`);
  return v;
}

/**
 * One VOC annotation from XML text read from `file`: {file: the <filename>, width, height, boxes:
 * [{bbox, className}]}. Throws with the file (and object) named when the XML is broken or a
 * part is missing: <filename>, <size>, an object's <name> or <bndbox>, a coordinate.
 */
export function readVocXml(xml, file, parseXml) {
  let root;
  try {
    root = parseXml(xml);
  } catch (e) {
    throw new Error(`${file} is not valid XML: ${e.message}`);
  }
  if (root.tag !== 'annotation') throw new Error(`${file} is not a VOC annotation: its root element is <${root.tag}>, not <annotation>`);
  const filename = text(root, 'filename');
  if (!filename) throw new Error(`${file} has no <filename>`);
  const size = child(root, 'size');
  if (!size) throw new Error(`${file} has no <size>`);
  const width = number(size, 'width', file);
  const height = number(size, 'height', file);
  const boxes = root.children.filter((c) => c.tag === 'object').map((obj, i) => {
    const className = text(obj, 'name');
    const where = `${file}, object ${i + 1}${className ? ` ("${className}")` : ''}`;
    if (!className) throw new Error(`${where} has no <name>`);
    const bndbox = child(obj, 'bndbox');
    if (!bndbox) throw new Error(`${where} has no <bndbox>`);
    const [xmin, ymin, xmax, ymax] = ['xmin', 'ymin', 'xmax', 'ymax'].map((t) => number(bndbox, t, where));
    return { bbox: [xmin - 1, ymin - 1, xmax, ymax], className };
  });
  return { file: filename, width, height, boxes };
}
