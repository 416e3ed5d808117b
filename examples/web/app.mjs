// Classify as the user types, with the imdb-edge text_fast model in onnxruntime-web (wasm).
// The tokenizer is inside the model: the page passes the raw text and reads `label` and `score`.
import * as ort from './node_modules/onnxruntime-web/dist/ort.wasm.min.mjs';

const MODEL = new URLSearchParams(location.search).get('model') || 'imdb.fast.onnx';
const $ = (id) => document.getElementById(id);
ort.env.wasm.wasmPaths = new URL('./node_modules/onnxruntime-web/dist/', import.meta.url).href;
ort.env.wasm.numThreads = 1; // threads need cross-origin isolation; one review takes about a millisecond anyway

const times = []; // the last 50 runs: browsers round performance.now() (to 0.1 ms or so), a mean evens that out

function mean(values) {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

async function classify(session, text) {
  const start = performance.now();
  const { label, score } = await session.run({ texts: new ort.Tensor('string', [text], [1]) });
  times.push(performance.now() - start);
  if (times.length > 50) times.shift();
  return { label: label.data[0], score: score.data[0] };
}

function show(result) {
  $('label').textContent = result ? result.label : '\u00a0';
  $('label').className = result ? result.label : '';
  $('score').textContent = result ? result.score.toFixed(3) : '-';
  $('score').dataset.value = result ? String(result.score) : '';
  $('time').textContent = times.length ? `${(mean(times) * 1000).toFixed(0)} \u00b5s (mean of ${times.length})` : '-';
}

async function main() {
  if ('serviceWorker' in navigator) {
    // Keeps the page, onnxruntime-web and the model: it works offline once loaded.
    navigator.serviceWorker.register('sw.js').catch(() => {});
  }
  let session;
  try {
    session = await ort.InferenceSession.create(MODEL);
  } catch (error) {
    $('status').textContent = `cannot load ${MODEL}: ${String(error.message || error).split('\n')[0]} (see README.md)`;
    return;
  }
  for (let i = 0; i < 3; i++) { // the first runs set up memory: not what a review takes
    await session.run({ texts: new ort.Tensor('string', ['A warm-up review, not shown.'], [1]) });
  }
  let pending = null;
  let running = false;
  const input = $('review');
  async function update() {
    if (running) return;
    running = true;
    while (pending !== null) {
      const text = pending;
      pending = null;
      show(text.trim() ? await classify(session, text) : null);
    }
    running = false;
    input.dataset.classified = input.value; // what the shown label is for (the browser test waits on it)
  }
  input.addEventListener('input', () => { pending = input.value; update(); });
  input.disabled = false;
  input.focus();
  $('status').textContent = `ready: ${MODEL}, onnxruntime-web ${ort.env.versions.web} (wasm)`;
  document.body.dataset.ready = 'true';
}

main();
