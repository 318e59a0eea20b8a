#!/usr/bin/env bash
# Writes the VAD test clips into $1 as raw float32 little-endian, 16 kHz mono (decoded with the
# ffmpeg CLI so these fixtures do not depend on Voxgate's own decoder):
#   vad_speech.f32         a real LibriSpeech utterance (test-other 2609-156975-0006, 10.55 s: six
#                          phrases, under 0.3 s of room noise at either end)
#   vad_speech_padded.f32  2 s of digital silence + the utterance + 2 s of digital silence
#   vad_silence.f32        5 s of digital silence
#   vad_noise.f32          5 s of low-level white noise (amplitude 0.005, fixed seed)
# The speech is read by path from ../shared/speech (VOXGATE_SPEECH_DIR overrides).
set -euo pipefail
out=${1:?usage: gen_vad_audio.sh OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
speech_dir=${VOXGATE_SPEECH_DIR:-$here/../../../shared/speech}
utterance="$speech_dir/resemblyzer-librispeech/librispeech_test-other/2609/2609-156975-0006.flac"
if [ ! -f "$utterance" ]; then
  echo "gen_vad_audio.sh: missing $utterance (set VOXGATE_SPEECH_DIR)" >&2
  exit 1
fi
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

raw=(-ac 1 -ar 16000 -f f32le -acodec pcm_f32le)
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }

ff -i "$utterance" "${raw[@]}" "$tmp/speech.f32"
ff -f lavfi -i "anullsrc=r=16000:cl=mono" -t 2 "${raw[@]}" "$tmp/silence2.f32"
ff -f lavfi -i "anullsrc=r=16000:cl=mono" -t 5 "${raw[@]}" "$tmp/silence5.f32"
ff -f lavfi -i "anoisesrc=r=16000:c=white:a=0.005:seed=42:d=5" "${raw[@]}" "$tmp/noise.f32"
# Raw PCM concatenates exactly: no container, no priming samples.
cat "$tmp/silence2.f32" "$tmp/speech.f32" "$tmp/silence2.f32" > "$tmp/speech_padded.f32"

mv "$tmp/speech.f32" "$out/vad_speech.f32"
mv "$tmp/speech_padded.f32" "$out/vad_speech_padded.f32"
mv "$tmp/silence5.f32" "$out/vad_silence.f32"
mv "$tmp/noise.f32" "$out/vad_noise.f32"
