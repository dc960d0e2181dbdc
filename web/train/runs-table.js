// The training card's runs table (#train-runs) and the line under it (#train-storage,
// #train-delete-all): a row per run (state, steps, recent loss, held-out AP50), its model copies
// (a step to choose when several are kept) to use as the live detector or download, deleting
// runs, and what this browser keeps of them (./store.js) or why it cannot.
import { el } from '../dom.js';
import { plural } from '../words.js';
import { augmentLabel, fmt, startEval, STATE_TEXT } from './plan.js';
import { interruptedText, saveFailedText, sizeText, storageText } from './storage.js';

export class RunsTable {
  note = ''; // why runs are not kept, or the last write that failed

  /**
   * In `card`. `host`: {runs() -> the card's TrainingRuns (./run.js), store() -> their RunStore
   * or null, say(text), useModel(bytes, name) -> Promise, deleted(ids) once runs are deleted}.
   */
  constructor(card, host) {
    const $ = (id) => card.querySelector(`#${id}`);
    this.host = host;
    this.ui = { table: $('train-runs'), storage: $('train-storage'), deleteAll: $('train-delete-all') };
    this.rows = new WeakMap(); // run -> its <tr>
    this.ui.deleteAll.addEventListener('click', () => this.deleteRuns(this.host.runs().filter((r) => !r.active)));
  }

  /** A row per run, updated in place (a focused button or open choice stays), and the line under the table. */
  render() {
    const runs = this.host.runs();
    const body = this.ui.table.tBodies[0];
    this.ui.table.hidden = runs.length === 0;
    const rows = runs.map((r) => this.row(r));
    if (rows.length !== body.rows.length || rows.some((row, i) => body.rows[i] !== row)) body.replaceChildren(...rows);
    this.renderStorage();
    this.ui.deleteAll.hidden = !runs.some((r) => !r.active);
  }

  /** Run `r`'s row, made once and brought up to date. */
  row(r) {
    let row = this.rows.get(r);
    if (!row) {
      const remove = el('button', { type: 'button', textContent: 'Delete' });
      remove.addEventListener('click', () => this.deleteRuns([r]));
      const title = `from ${r.from}; ${r.options.trainable}, ${r.options.input_size} px, ${r.options.batch_size} per step, ${augmentLabel(r.options)}`;
      row = el('tr', {}, el('th', { scope: 'row', textContent: `Run ${r.id}: ${r.label}`, title }), el('td'), el('td'), el('td'), el('td'), el('td'), el('td', {}, remove));
      row.dataset.runId = r.id;
      this.rows.set(r, row);
    }
    const [, state, steps, loss, ap, model, del] = row.cells;
    const recent = r.steps.slice(-10);
    const ev = r.evals.at(-1);
    const best = r.evals.reduce((m, e) => Math.max(m, e.ap50 ?? 0), 0);
    state.textContent = STATE_TEXT[r.state] ?? r.state;
    state.title = r.state === 'interrupted' ? interruptedText(r) : '';
    steps.textContent = `${r.step} / ${r.options.steps}`;
    loss.textContent = fmt(recent.length ? recent.reduce((a, s) => a + s.losses.total, 0) / recent.length : null);
    const start = startEval(r.evals);
    ap.textContent = ev ? `${fmt(ev.ap50)} (${start ? `${fmt(start.ap50)} at the start, ` : ''}best ${fmt(best)}, ${plural(ev.images, 'photo')})` : '—';
    const key = `${this.modelSteps(r)} ${r.evals.length}`;
    if (row.dataset.models !== key) {
      row.dataset.models = key;
      model.replaceWith(this.modelCell(r));
    }
    const remove = del.firstChild;
    remove.disabled = r.active;
    remove.title = r.active ? 'Stop the run first' : `Delete run ${r.id}, its curves and its saved models from this browser`;
    return row;
  }

  /** The steps whose model copy of `run` can be used: those kept in the store and the latest in memory. */
  modelSteps(run) {
    const steps = new Set(this.host.store()?.copySteps(run.id) ?? []);
    if (run.model?.bytes) steps.add(run.model.step);
    return [...steps].sort((a, b) => a - b);
  }

  /** The model cell: the step (a choice when several copies are kept), Use as detector, Download. */
  modelCell(r) {
    const steps = this.modelSteps(r);
    if (!steps.length) return el('td', { textContent: '—', title: `No copy of run ${r.id}'s model is kept in this browser` });
    const cell = el('td');
    let step = () => steps[0];
    if (steps.length > 1) {
      const picked = steps.includes(r.chosen) ? r.chosen : steps.at(-1); // the latest, unless the user chose
      const ap = new Map(r.evals.map((e) => [e.step, e.ap50]));
      const options = steps.map((s) => el('option', { value: s, textContent: `step ${s}${ap.has(s) ? ` (AP50 ${fmt(ap.get(s))})` : ''}`, selected: s === picked }));
      const pick = el('select', { title: `The copies of run ${r.id}'s model kept in this browser`, ariaLabel: `Model of run ${r.id} at` }, ...options);
      pick.addEventListener('change', () => (r.chosen = Number(pick.value)));
      step = () => Number(pick.value);
      cell.append(pick, ' ');
    } else {
      cell.append(`step ${steps[0]} `);
    }
    const use = el('button', { type: 'button', textContent: 'Use as detector', title: `Run the live detector on this model of run ${r.id} (it is kept in this browser)` });
    use.addEventListener('click', () => this.withModel(r, step(), (bytes, name) => this.host.useModel(bytes, name)));
    const save = el('button', { type: 'button', textContent: 'Download', title: 'Save this model as a .lrc: load it here later or use it with the libra CLI' });
    save.addEventListener('click', () => this.withModel(r, step(), download));
    cell.append(use, ' ', save);
    return cell;
  }

  /** Calls `use(bytes, name)` with run `r`'s model copy at `step`, from memory or from the store. */
  async withModel(r, step, use) {
    let bytes;
    try {
      bytes = r.model?.step === step && r.model.bytes ? r.model.bytes : await this.host.store()?.model(r.id, step);
    } catch (e) {
      return this.host.say(`The model of run ${r.id} at step ${step} could not be read from this browser's storage: ${e.message}`);
    }
    if (!bytes) return this.host.say(`The model of run ${r.id} at step ${step} is no longer kept in this browser.`);
    return use(bytes, `fine-tuned-run${r.id}-step${step}.lrc`);
  }

  /** Deletes `runs` (none of them active) from the store after asking, then from the card (host.deleted). */
  async deleteRuns(runs) {
    if (!runs.length) return;
    const store = this.host.store();
    const ids = runs.map((r) => r.id);
    const copies = runs.reduce((n, r) => n + (store?.copySteps(r.id).length ?? 0), 0);
    const size = copies ? ` (${sizeText(store.bytesOf(ids))})` : '';
    const what = runs.length === 1 ? `run ${runs[0].id} (${runs[0].label}), its curves` : `${plural(runs.length, 'run')}, their curves`;
    if (!confirm(`Delete ${what} and ${plural(copies, 'saved model')}${size} from this browser? This cannot be undone.`)) return;
    try {
      await store?.delete(ids);
    } catch (e) {
      return this.host.say(`The runs could not be deleted from this browser: ${e.message}`);
    }
    for (const r of runs) r.release();
    if (store) this.note = '';
    this.host.deleted(ids);
  }

  /** Says that a write of the runs store failed (and what to delete if the storage is full). */
  saveFailed(error, where) {
    this.note = saveFailedText(error, { ...where, keptBytes: this.host.store().bytes });
    this.host.say(this.note);
    this.renderStorage();
  }

  /** The line under the table: what is kept (or why not), and a failed write. */
  renderStorage() {
    const store = this.host.store();
    const kept = store ? storageText({ runs: this.host.runs().length, copies: store.copies, bytes: store.bytes, budget: store.budget }) : '';
    this.ui.storage.textContent = [this.note, kept].filter(Boolean).join(' ');
    this.ui.storage.classList.toggle('warn', Boolean(this.note));
  }
}

function download(bytes, name) {
  const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
  const a = el('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
