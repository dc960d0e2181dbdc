// The dataset editor's shortcuts (web/dataset/keys.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTyping, shortcut } from '../../web/dataset/keys.js';

const key = (k, mods = {}) => shortcut({ key: k, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...mods });

test('keys map to editor actions', () => {
  assert.deepEqual(key('3'), { type: 'class', index: 2 });
  assert.equal(key('0'), null);
  assert.deepEqual(key('ArrowLeft'), { type: 'nudge', dx: -1, dy: 0 });
  assert.deepEqual(key('ArrowDown', { shiftKey: true }), { type: 'nudge', dx: 0, dy: 10 });
  assert.deepEqual(key('Backspace'), { type: 'delete' });
  assert.deepEqual(key('z', { ctrlKey: true }), { type: 'undo' });
  assert.deepEqual(key('Z', { ctrlKey: true, shiftKey: true }), { type: 'redo' });
  assert.deepEqual(key('y', { metaKey: true }), { type: 'redo' });
  assert.deepEqual(key('N'), { type: 'step', delta: 1 });
  assert.deepEqual(key('PageUp'), { type: 'step', delta: -1 });
  assert.equal(key('n', { ctrlKey: true }), null, 'Ctrl+N stays the browser\'s');
  assert.equal(key('a'), null);
});

test('text fields keep their keys; buttons and the canvas do not', () => {
  assert.equal(isTyping({ tagName: 'INPUT', type: 'text' }), true);
  assert.equal(isTyping({ tagName: 'TEXTAREA' }), true);
  assert.equal(isTyping({ tagName: 'DIV', isContentEditable: true }), true);
  assert.equal(isTyping({ tagName: 'INPUT', type: 'file' }), false);
  assert.equal(isTyping({ tagName: 'CANVAS' }), false);
  assert.equal(isTyping(null), false);
});
