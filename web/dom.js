// Building DOM elements in code.

/** A `tag` element with `props` assigned (textContent, className, ...) and `children` appended. */
export function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}
