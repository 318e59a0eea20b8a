// Peer for bench/embedding_peer.sh: embeds raw 16 kHz mono f32le files with sherpa-onnx's speaker
// embedding extractor and prints JSON {seconds_per_pass, passes, embeddings: [[...], ...]}.
// Usage: node sherpa_embed.js MODEL THREADS PASSES FILE...
'use strict';
const fs = require('fs');
const path = require('path');
const sherpa = require(path.join(process.env.SHERPA_NODE_MODULES || 'node_modules', 'sherpa-onnx-node'));

const [model, threads, passes, ...files] = process.argv.slice(2);
const extractor = new sherpa.SpeakerEmbeddingExtractor(
    {model, numThreads: Number(threads), debug: 0, provider: 'cpu'});
const clips = files.map((f) => {
  const b = fs.readFileSync(f);
  return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
});

function embed(samples) {
  const stream = extractor.createStream();
  stream.acceptWaveform({sampleRate: 16000, samples});
  stream.inputFinished();
  return Array.from(extractor.compute(stream));
}

const embeddings = clips.map(embed);  // warm-up pass, also the output
const t0 = process.hrtime.bigint();
for (let p = 0; p < Number(passes); ++p) clips.forEach(embed);
const seconds = Number(process.hrtime.bigint() - t0) / 1e9 / Number(passes);
process.stdout.write(JSON.stringify({seconds_per_pass: seconds, passes: Number(passes), embeddings}));
