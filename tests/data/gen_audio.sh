#!/usr/bin/env bash
# Audio fixtures for tests/audio: one real LibriSpeech utterance transcoded into every container and
# codec the decoder must read, synthetic tones with known frequencies and amplitudes, and broken files.
# Usage: gen_audio.sh OUT_DIR (called by make_fixtures.sh). The speech stays in ../shared/speech; only
# the derived files land in OUT_DIR, which is not committed.
set -euo pipefail
out=${1:?usage: gen_audio.sh OUT_DIR}
repo=$(cd "$(dirname "$0")/../.." && pwd)
speech_dir=${VOXGATE_SPEECH_DIR:-$repo/../shared/speech}
# 1688-142285-0008: one speaker, 4.135 s, 16 kHz mono FLAC (LibriSpeech test-other, CC BY 4.0).
src=$speech_dir/resemblyzer-librispeech/librispeech_test-other/1688/1688-142285-0008.flac
if [ ! -f "$src" ]; then
  echo "gen_audio.sh: missing source speech $src" >&2
  exit 1
fi
mkdir -p "$out/audio"
cd "$out/audio"

# -bitexact and no metadata keep the outputs byte-stable across runs (the unknown-codec patch below
# relies on the WAV "fmt " chunk sitting right after the RIFF header).
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
speech() { ff -i "$src" -map_metadata -1 -fflags +bitexact -flags:a +bitexact "$@"; }

# The reference every other decode is compared with: 16 kHz mono s16.
speech -c:a pcm_s16le speech_s16.wav
for codec in pcm_u8 pcm_s24le pcm_s32le pcm_f32le pcm_f64le pcm_alaw pcm_mulaw; do
  speech -c:a "$codec" "speech_${codec#pcm_}.wav"
done
# Both channels carry the speech at full level, so a correct (averaging) downmix gives it back.
speech -af "pan=stereo|c0=c0|c1=c0" -ar 44100 -c:a pcm_s16le speech_stereo_44k.wav
speech -ar 8000 -c:a pcm_s16le speech_8k.wav
speech -c:a libmp3lame -b:a 64k speech.mp3
speech -c:a flac speech.flac
speech -c:a aac -b:a 64k speech.m4a
speech -c:a libvorbis -q:a 4 speech_vorbis.ogg
speech -c:a libopus -b:a 32k speech_opus.ogg
# Headerless PCM for DecodeConfig::raw_format.
speech -f s16le -c:a pcm_s16le speech_s16le.raw
speech -f s32le -c:a pcm_s32le speech_s32le.raw
speech -f f32le -c:a pcm_f32le speech_f32le.raw
speech -f u8 -c:a pcm_u8 speech_u8.raw
speech -f mulaw -c:a pcm_mulaw speech_mulaw.raw
speech -f alaw -c:a pcm_alaw speech_alaw.raw
speech -af "pan=stereo|c0=c0|c1=c0" -ar 8000 -f s16le -c:a pcm_s16le speech_stereo_8k_s16le.raw

# For bench/audio_bench.cc: the longest test-other utterance (22.75 s) as MP3 and Opus, so that the
# codecs are timed on the same audio as the real FLAC.
long_src=$speech_dir/resemblyzer-librispeech/librispeech_test-other/3080/3080-5032-0009.flac
if [ -f "$long_src" ]; then
  ff -i "$long_src" -map_metadata -1 -fflags +bitexact -c:a libmp3lame -b:a 64k speech_long.mp3
  ff -i "$long_src" -map_metadata -1 -fflags +bitexact -c:a libopus -b:a 32k speech_long_opus.ogg
fi

# Tones with known content: left 440 Hz at 0.5, right 1000 Hz at 0.25 (2 s, 44.1 kHz stereo s16).
ff -f lavfi -i "aevalsrc=0.5*sin(2*PI*440*t)|0.25*sin(2*PI*1000*t):s=44100:d=2" -fflags +bitexact \
  -c:a pcm_s16le tones_stereo_44k.wav
# 30 s tone for max_duration_s: FLAC declares its length up front; an MP3 without a Xing header
# does not, so the decoder must count as it goes.
ff -f lavfi -i "sine=frequency=440:sample_rate=16000:duration=30" -fflags +bitexact -c:a flac long_sine.flac
ff -f lavfi -i "sine=frequency=440:sample_rate=16000:duration=30" -fflags +bitexact \
  -c:a libmp3lame -b:a 32k -write_xing 0 long_sine_noxing.mp3

# Broken and non-audio inputs.
: >empty.wav
LC_ALL=C awk 'BEGIN { srand(42); for (i = 0; i < 8192; i++) printf "%c", 1 + int(rand() * 255) }' \
  >random.bin
printf 'This is a plain text file.\nIt is not audio, whatever its name says.\n' >text.txt
cp text.txt text.wav
half() { head -c $(($(stat -c %s "$1") / 2)) "$1" >"$2"; }
half speech_s16.wav truncated.wav   # the data chunk size still claims the whole utterance
half speech.mp3 truncated.mp3       # cut mid-frame
half speech.flac truncated.flac     # cut mid-frame
half speech_opus.ogg truncated_opus.ogg  # cut mid-page
speech -c:a aac -b:a 64k -movflags +faststart speech_faststart.m4a
half speech_faststart.m4a truncated.m4a  # moov intact, mdat cut
rm speech_faststart.m4a
# A well-formed 44-byte WAV header whose data chunk is empty.
printf 'RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x80\x3e\x00\x00\x00\x7d\x00\x00\x02\x00\x10\x00data\x00\x00\x00\x00' \
  >zero_samples.wav
# A WAV whose format tag (offset 20) is 0x1234, a codec nobody knows.
cp speech_s16.wav unknown_codec.wav
printf '\x34\x12' | dd of=unknown_codec.wav bs=1 seek=20 conv=notrunc status=none
# Four kilobytes of garbage in the middle of a FLAC stream.
cp speech.flac corrupt.flac
LC_ALL=C awk 'BEGIN { srand(7); for (i = 0; i < 4096; i++) printf "%c", 1 + int(rand() * 255) }' |
  dd of=corrupt.flac bs=1 seek=$(($(stat -c %s speech.flac) / 2)) conv=notrunc status=none
# A container with a video stream and no audio.
ff -f lavfi -i "testsrc=size=32x32:rate=5:duration=1" -fflags +bitexact -c:v mpeg4 video_only.mp4
