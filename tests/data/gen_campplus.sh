#!/usr/bin/env bash
# CAM++ (3D-Speaker's production speaker model) with random weights, exported exactly as 3D-Speaker /
# sherpa-onnx export it, by train/campplus.py; its BatchNorm statistics come from two real speech files.
# Also the PyTorch embedding (torchaudio Kaldi fbank, global mean) of a third real file, for
# tests/voiceprint/campplus_itest.cc:
#   campplus_random.onnx, campplus_random.expected.f32 (float32 [192])
set -euo pipefail
out=${1:?usage: gen_campplus.sh OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
speech=${VOXGATE_SPEECH_DIR:-$here/../../../shared/speech}
clips="$speech/sr-data/test/3d-speaker"
"${PYTHON:-/usr/bin/python3}" "$here/../../train/campplus.py" --out "$out/campplus_random.onnx" \
  --settle-wav "$clips/speaker1_a_en_16k.wav" "$clips/speaker1_b_cn_16k.wav" \
  --wav "$clips/speaker1_a_cn_16k.wav" --expected "$out/campplus_random.expected.f32"
