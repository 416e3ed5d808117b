// Classify movie reviews with an imdb-edge text-input model (export --input text).
// The tokenizer is inside the ONNX graph, so this is the whole classifier:
//   node classify.mjs model.onnx "An absolute masterpiece." "A waste of time."
// Prints one JSON object per review: {"label": "positive", "score": 0.97}.
import * as ort from 'onnxruntime-node';

const [modelPath, ...reviews] = process.argv.slice(2);
if (!modelPath || reviews.length === 0) {
  console.error('usage: node classify.mjs MODEL.onnx "review" ["review" ...]');
  process.exit(2);
}

const session = await ort.InferenceSession.create(modelPath);
const texts = new ort.Tensor('string', reviews, [reviews.length]);
const { score, label } = await session.run({ texts });
for (let i = 0; i < reviews.length; i++) {
  console.log(JSON.stringify({ label: label.data[i], score: score.data[i] }));
}
