#!/usr/bin/env python3
"""CPU of one live broadcast per preset against ffmpeg encoding the same raw pictures and audio
with the same settings, in the same run; and A/V drift over a long broadcast.

Per preset (540p, 720p, mobile):
  1. `voxgate push` with the built-in presenter (cairo card, espeak-ng speech) for --seconds to an
     FLV file, paced in real time: CPU (utime+stime of the process) per second of stream.
  2. The pictures and audio of that recording decoded (by an ffmpeg that is not measured) and fed
     in real time to
       a. `voxgate push --video-pipe - --file audio.wav`: pictures from outside, so Voxgate only
          paces, stamps from the audio clock, encodes and muxes;
       b. the peer, `ffmpeg -re` reading the same raw BGRA frames and audio, libx264 with the
          preset's settings (ultrafast, zerolatency, GOP 2 x fps, keyint_min fps, CBR with VBV),
          AAC at the same rate and bitrate, FLV out.
     CPU of (a) and (b) each; the ratio a/b is the broadcaster's overhead over a bare encoder
     (goal <= 1.1); the presenter run (1) adds rendering on top.
Then, with --drift-seconds > 0, one broadcast of that length (540p, speech throughout) to an FLV
file, read back with ffprobe: the end of the last video frame against the end of the last audio
frame, and the largest gap between the video clock and the audio clock over the run (goal
<= 40 ms).
Prints figures; asserts nothing.

Usage: bench/broadcast_bench.py [--build build] [--seconds 30] [--presets 540p,720p,mobile]
                                [--drift-seconds 600]
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
PRESETS = {  # the same fields as stream::BroadcastConfig::FromPreset
    "540p": dict(w=960, h=540, fps=25, kbps=2000),
    "720p": dict(w=1280, h=720, fps=30, kbps=3000),
    "mobile": dict(w=640, h=360, fps=15, kbps=1000),
}
TEXT = ("Good evening and welcome to the Voxgate broadcast benchmark. The audio clock drives the "
        "picture, the presenter speaks, the captions follow each word, and the encoder keeps a "
        "constant bit rate for the platform. ")


def cpu_of(proc):
    """Waits for proc; returns (exit status, utime + stime in seconds) of that child alone."""
    _, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, ru.ru_utime + ru.ru_stime


def voxgate(build):
    return str(REPO / build / "voxgate")


def presenter_run(build, preset, seconds, out):
    say = TEXT * max(1, int(seconds / 10) + 1)
    p = subprocess.Popen([voxgate(build), "push", "--url", "file:" + out, "--preset", preset,
                          "--say", say, "--seconds", str(seconds)],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    t0 = time.monotonic()
    rc, cpu = cpu_of(p)
    wall = time.monotonic() - t0
    stats = json.loads(p.stdout.read().decode().strip().splitlines()[-1]) if rc == 0 else {}
    return rc, cpu, wall, stats


def decoder(flv, p, audio_wav):
    """Extracts the audio (not timed) and returns a process writing raw BGRA pictures."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", flv, "-vn", "-ac", "1", "-ar", "16000",
                    audio_wav], check=True)
    return subprocess.Popen(["ffmpeg", "-v", "error", "-i", flv, "-an", "-f", "rawvideo",
                             "-pix_fmt", "bgra", "-s", f"{p['w']}x{p['h']}", "-"],
                            stdout=subprocess.PIPE)


def external_run(build, preset, p, seconds, flv, audio_wav, out):
    dec = decoder(flv, p, audio_wav)
    v = subprocess.Popen([voxgate(build), "push", "--url", "file:" + out, "--preset", preset,
                          "--file", audio_wav, "--video-pipe", "-", "--seconds", str(seconds)],
                         stdin=dec.stdout, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    dec.stdout.close()
    rc, cpu = cpu_of(v)
    dec.kill()
    dec.wait()
    stats = json.loads(v.stdout.read().decode().strip().splitlines()[-1]) if rc == 0 else {}
    return rc, cpu, stats


def ffmpeg_run(p, seconds, flv, audio_wav, out):
    dec = decoder(flv, p, audio_wav)
    gop, kmin, kbps = 2 * p["fps"], p["fps"], p["kbps"]
    enc = subprocess.Popen(
        ["ffmpeg", "-v", "error", "-y",
         "-re", "-f", "rawvideo", "-pix_fmt", "bgra", "-s", f"{p['w']}x{p['h']}",
         "-r", str(p["fps"]), "-i", "-",
         "-re", "-i", audio_wav, "-t", str(seconds),
         "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
         "-g", str(gop), "-keyint_min", str(kmin), "-b:v", f"{kbps}k", "-maxrate", f"{kbps}k",
         "-bufsize", f"{kbps}k", "-x264-params", "nal-hrd=cbr",
         "-c:a", "aac", "-b:a", "128k", "-ar", "44100", "-ac", "2",
         "-f", "flv", out],
        stdin=dec.stdout, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    dec.stdout.close()
    rc, cpu = cpu_of(enc)
    dec.kill()
    dec.wait()
    return rc, cpu


def packets(flv):
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                          "packet=codec_type,pts_time,duration_time", "-of", "csv=p=0", flv],
                         capture_output=True, text=True).stdout
    video, audio = [], []
    for line in out.splitlines():
        f = line.split(",")
        if len(f) < 3 or f[1] in ("", "N/A"):
            continue
        dur = float(f[2]) if f[2] not in ("", "N/A") else 0.0
        (video if f[0] == "video" else audio).append((float(f[1]), dur))
    return video, audio


def drift_run(build, seconds, tmp):
    out = os.path.join(tmp, "drift.flv")
    rc, cpu, wall, stats = presenter_run(build, "540p", seconds, out)
    video, audio = packets(out)
    if rc != 0 or not video or not audio:
        print(f"drift run failed (rc {rc})")
        return
    fd = 1.0 / PRESETS["540p"]["fps"]
    video_end = video[-1][0] + fd
    audio_end = audio[-1][0] + audio[-1][1]
    # The video clock against the audio clock along the run: at each video frame, how far its
    # timestamp is from the end of the audio written up to it (AAC frames are 23 ms, so a gap up
    # to one AAC frame plus one video frame is inherent to the interleaving).
    worst, ai = 0.0, 0
    for t, _ in video:
        while ai + 1 < len(audio) and audio[ai + 1][0] <= t:
            ai += 1
        worst = max(worst, abs(t - audio[ai][0]))
    print(f"\ndrift over {seconds:.0f} s (540p, real time, {wall:.0f} s wall, CPU "
          f"{100 * cpu / wall:.1f} %):")
    print(f"  end of video - end of audio: {1000 * (video_end - audio_end):+.1f} ms "
          f"(goal |x| <= 40 ms)")
    print(f"  largest |video pts - audio pts at that point| along the run: {1000 * worst:.1f} ms")
    print(f"  broadcaster: drift {stats.get('drift_ms', 0):.1f} ms, written drift "
          f"{stats.get('written_drift_ms', 0):.1f} ms, frames sent {stats.get('frames_sent')}, "
          f"dropped {stats.get('frames_dropped')}, repeated {stats.get('frames_repeated')}, "
          f"queue drops {stats.get('queue_drops')}")
    print(f"  video frames {len(video)} (expected {int(seconds * 25) + 1}), "
          f"stream {video_end:.3f} s")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--presets", default="540p,720p,mobile")
    ap.add_argument("--drift-seconds", type=float, default=0)
    a = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}")
    print(f"{'preset':8} {'presenter %':>12} {'external %':>11} {'ffmpeg %':>9} "
          f"{'ext/ffmpeg':>10} {'pres/ffmpeg':>11}  notes")
    with tempfile.TemporaryDirectory(prefix="voxgate-bcast-bench-") as tmp:
        for name in [x for x in a.presets.split(",") if x]:
            p = PRESETS[name]
            flv = os.path.join(tmp, f"{name}.flv")
            wav = os.path.join(tmp, f"{name}.wav")
            rc, cpu_pres, wall, st = presenter_run(a.build, name, a.seconds, flv)
            if rc != 0:
                print(f"{name}: voxgate push failed ({rc})")
                continue
            rc_e, cpu_ext, st_e = external_run(a.build, name, p, a.seconds, flv, wav,
                                               os.path.join(tmp, f"{name}_ext.flv"))
            rc_f, cpu_ff = ffmpeg_run(p, a.seconds, flv, wav, os.path.join(tmp, f"{name}_ff.flv"))
            s = a.seconds
            note = (f"repeats {st.get('frames_repeated')}/{st_e.get('frames_repeated')}, "
                    f"queue drops {st.get('queue_drops')}/{st_e.get('queue_drops')}")
            if rc_e != 0 or rc_f != 0:
                note += f" (rc ext {rc_e}, ffmpeg {rc_f})"
            print(f"{name:8} {100 * cpu_pres / s:12.1f} {100 * cpu_ext / s:11.1f} "
                  f"{100 * cpu_ff / s:9.1f} {cpu_ext / cpu_ff:10.2f} {cpu_pres / cpu_ff:11.2f}  "
                  f"{note}")
            sys.stdout.flush()
        if a.drift_seconds > 0:
            drift_run(a.build, a.drift_seconds, tmp)


if __name__ == "__main__":
    main()
