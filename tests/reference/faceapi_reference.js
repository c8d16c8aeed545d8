// faceapi_reference.js — the face-api reference oracle: runs the real @vladmandic/face-api package (tfjs WASM
// backend, one thread, offline) on raw RGB pixels that the caller decoded once, so the C++ port can be compared on
// identical inputs.
//
// usage: node faceapi_reference.js <input.json> <output.json>
//   input.json:  { "input_size": 512, "score_threshold": 0.5,
//                  "images": [ { "name": "sample1", "rgb": "/path/sample1.rgb", "width": W, "height": H } ],
//                  "bench": { "repeats": 5, "batch": 8 } }            (optional: per-net timings on the same crops)
//   output.json: per image, per face: detection box and score, the integer crops each net saw (landmarkCrop,
//                attributeCrop, descriptorCrop), 68 landmarks (image pixels), descriptor, age, male probability,
//                7 expression probabilities. With "bench": per-net timings in ms.
// The package is found under $S3E_CACHE_DIR (default <repo>/.cache)/node/node_modules.
'use strict';
const fs = require('fs');
const path = require('path');

const cacheDir = process.env.S3E_CACHE_DIR || path.join(__dirname, '..', '..', '.cache');
const modules = path.join(cacheDir, 'node', 'node_modules');
const tf = require(path.join(modules, '@tensorflow/tfjs'));
const wasm = require(path.join(modules, '@tensorflow/tfjs-backend-wasm'));
const faceapi = require(path.join(modules, '@vladmandic/face-api/dist/face-api.node-wasm.js'));

const expressionNames = ['neutral', 'happy', 'sad', 'angry', 'fearful', 'disgusted', 'surprised'];

function rectOf(box) {
  return { x: box.x, y: box.y, width: box.width, height: box.height };
}

// The integer crop face-api's extractFaceTensors takes for a box (FaceDetection or Rect) on a W x H image.
function cropOf(det, W, H) {
  const box = det instanceof faceapi.FaceDetection ? det.forSize(W, H).box : det;
  return rectOf(box.clipAtImageBorders(W, H));
}

function loadImage(img) {
  const bytes = fs.readFileSync(img.rgb);
  if (bytes.length !== img.width * img.height * 3) throw new Error(`${img.rgb}: expected ${img.width}x${img.height}x3 bytes`);
  return tf.tensor3d(Int32Array.from(bytes), [img.height, img.width, 3], 'int32');
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

// Times fn() `repeats` times (after one warm-up) and returns the median in ms.
async function timeMs(fn, repeats) {
  await fn();
  const times = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

async function bench(tensor, faces, W, H, options, cfg) {
  const repeats = cfg.repeats || 5;
  const batch = cfg.batch || 8;
  const take = (rects) => {
    const out = [];
    for (let i = 0; i < batch; i++) out.push(rects[i % rects.length]);
    return out;
  };
  const slice = (r) => tf.slice3d(tensor, [r.y, r.x, 0], [r.height, r.width, 3]);
  const lmCrops = take(faces.map((f) => f.landmarkCrop)).map(slice);
  const descCrops = take(faces.map((f) => f.descriptorCrop)).map(slice);
  const result = {
    repeats,
    batch,
    detector_ms: await timeMs(() => faceapi.detectAllFaces(tensor, options), repeats),
    landmarks_single_ms: await timeMs(() => faceapi.nets.faceLandmark68Net.detectLandmarks(lmCrops[0]), repeats),
    descriptor_single_ms: await timeMs(() => faceapi.nets.faceRecognitionNet.computeFaceDescriptor(descCrops[0]), repeats),
    landmarks_batch_ms: await timeMs(() => faceapi.nets.faceLandmark68Net.detectLandmarks(lmCrops), repeats),
    descriptor_batch_ms: await timeMs(() => faceapi.nets.faceRecognitionNet.computeFaceDescriptor(descCrops), repeats),
  };
  lmCrops.concat(descCrops).forEach((t) => t.dispose());
  return result;
}

async function main() {
  const [inputPath, outputPath] = process.argv.slice(2);
  if (!inputPath || !outputPath) throw new Error('usage: node faceapi_reference.js <input.json> <output.json>');
  const input = JSON.parse(fs.readFileSync(inputPath, 'utf8'));

  wasm.setWasmPaths(path.join(modules, '@tensorflow/tfjs-backend-wasm/dist') + path.sep);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);  // single-threaded reference
  await tf.setBackend('wasm');
  await tf.ready();
  const modelDir = path.join(modules, '@vladmandic/face-api/model');
  await faceapi.nets.tinyFaceDetector.loadFromDisk(modelDir);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(modelDir);
  await faceapi.nets.faceRecognitionNet.loadFromDisk(modelDir);
  await faceapi.nets.ageGenderNet.loadFromDisk(modelDir);
  await faceapi.nets.faceExpressionNet.loadFromDisk(modelDir);
  const options = new faceapi.TinyFaceDetectorOptions({
    inputSize: input.input_size || 512,
    scoreThreshold: input.score_threshold || 0.5,
  });

  const output = { backend: tf.getBackend(), tfjs: tf.version_core, faceapi: faceapi.version, images: [] };
  for (const img of input.images) {
    const tensor = loadImage(img);
    const W = img.width;
    const H = img.height;
    const results = await faceapi.detectAllFaces(tensor, options)
      .withFaceLandmarks()
      .withFaceExpressions()
      .withFaceDescriptors()
      .withAgeAndGender();
    const faces = results.map((r) => ({
      score: r.detection.score,
      box: rectOf(r.detection.box),
      landmarkCrop: cropOf(r.detection, W, H),
      landmarks: r.landmarks.positions.map((p) => [p.x, p.y]),
      attributeCrop: cropOf(r.alignedRect, W, H),
      descriptorCrop: cropOf(r.landmarks.align(null, { useDlibAlignment: true }), W, H),
      descriptor: Array.from(r.descriptor),
      age: r.age,
      male: r.gender === 'male' ? r.genderProbability : 1 - r.genderProbability,
      expressions: expressionNames.map((n) => r.expressions[n]),
    }));
    const entry = { name: img.name, width: W, height: H, faces };
    if (input.bench && faces.length) entry.bench = await bench(tensor, faces, W, H, options, input.bench);
    output.images.push(entry);
    tensor.dispose();
  }
  fs.writeFileSync(outputPath, JSON.stringify(output));
}

main().catch((err) => {
  console.error(`faceapi_reference: ${err.stack || err}`);
  process.exit(1);
});
