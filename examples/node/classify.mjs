// Classify movie reviews with an imdb-edge text-input model (export --input text).
// The tokenizer is inside the ONNX graph, so this is the whole classifier:
//   node classify.mjs imdb.text.onnx "An absolute masterpiece." "A waste of time."
// Prints one JSON object per review: {"label":"positive","score":0.97}.
// See README.md for how to make imdb.text.onnx from the model shipped with imdb-edge.
import * as ort from 'onnxruntime-node';

const [modelPath, ...reviews] = process.argv.slice(2);
if (!modelPath || reviews.length === 0) {
  console.error('usage: node classify.mjs MODEL.onnx "review" ["review" ...]');
  process.exit(2);
}

function fail(message) {
  console.error(`error: ${message}`);
  process.exit(2);
}

let session;
try {
  session = await ort.InferenceSession.create(modelPath);
} catch (error) {
  fail(`cannot load ${modelPath}: ${error.message.split('\n')[0]}`);
}
if (session.inputNames.length !== 1 || session.inputNames[0] !== 'texts') {
  fail(
    `${modelPath} takes '${session.inputNames.join("', '")}', not review texts; make a text-input model first: ` +
      `imdb-edge export ${modelPath} --input text --output imdb.text.onnx`,
  );
}
const texts = new ort.Tensor('string', reviews, [reviews.length]);
const { score, label } = await session.run({ texts });
for (let i = 0; i < reviews.length; i++) {
  console.log(JSON.stringify({ label: label.data[i], score: score.data[i] }));
}
