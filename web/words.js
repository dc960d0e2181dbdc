// Words for numbers in the page's texts (no DOM: node's unit tests load it).

/** "1 photo", "3 photos". */
export const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
