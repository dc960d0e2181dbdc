// The dataset editor's keyboard shortcuts: a key event to an action (pure: any object with the
// KeyboardEvent fields will do), and the action done on the dataset being edited (onKey).
import { nudgeBox } from './geometry.js';

const NUDGES = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

/** True when keys typed into `target` are text (an input, a text area, a select, an editable element). */
export function isTyping(target) {
  const tag = target?.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT' || target?.isContentEditable) return true;
  if (tag !== 'INPUT') return false;
  return !['button', 'checkbox', 'radio', 'range', 'file', 'submit', 'reset', 'color'].includes(target.type);
}

/**
 * The action of a keydown: {type: 'class', index} (1-9 -> 0-8), {type: 'nudge', dx, dy},
 * {type: 'delete'}, {type: 'undo'}, {type: 'redo'}, {type: 'step', delta}, {type: 'escape'},
 * or null for keys that are not shortcuts.
 */
export function shortcut(e) {
  const mod = e.ctrlKey || e.metaKey;
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  if (mod && !e.altKey) {
    if (key === 'z') return { type: e.shiftKey ? 'redo' : 'undo' };
    if (key === 'y') return { type: 'redo' };
    return null;
  }
  if (e.altKey || mod) return null;
  if (/^[1-9]$/.test(key)) return { type: 'class', index: Number(key) - 1 };
  if (NUDGES[key]) {
    const k = e.shiftKey ? 10 : 1;
    return { type: 'nudge', dx: NUDGES[key][0] * k, dy: NUDGES[key][1] * k };
  }
  if (key === 'Delete' || key === 'Backspace') return { type: 'delete' };
  if (key === 'n' || key === 'PageDown') return { type: 'step', delta: 1 };
  if (key === 'p' || key === 'PageUp') return { type: 'step', delta: -1 };
  if (key === 'Escape') return { type: 'escape' };
  return null;
}

/**
 * The section's keydown handler: does the shortcut of `e` on `session` (./session.js) unless keys
 * go to a text field; box edits and steps wait while `editor` (./editor.js) drags.
 */
export function onKey(e, session, editor) {
  if (isTyping(e.target)) return;
  const action = shortcut(e);
  if (!action) return;
  const { ds, image, box } = session;
  switch (action.type) {
    case 'undo':
    case 'redo':
      session.undoRedo(action.type);
      break;
    case 'class':
      if (!ds.classes[action.index]) return;
      session.pickClass(ds.classes[action.index].id);
      break;
    case 'nudge':
      if (!box || editor.busy) return;
      session.changeBox(box, { ...box, bbox: nudgeBox(box.bbox, action.dx, action.dy, image.width, image.height) }, 'nudge');
      break;
    case 'delete':
      if (!box || editor.busy) return;
      session.deleteSelected();
      break;
    case 'step':
      if (editor.busy) return;
      session.step(action.delta);
      break;
    case 'escape':
      editor.cancel();
      session.select(null);
      break;
  }
  e.preventDefault();
}
