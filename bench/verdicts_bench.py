#!/usr/bin/env python3
"""The verdicts users get from the REST service: FAR / FRR / inconclusive per operating point.

Does exactly what a new user would do, over HTTP only. Per data set, a fresh `voxgate serve --dev`
(auth off, rate limiting off, the bundled model and config/voxgate.yaml) on a free loopback port
with a fresh temporary --data-dir, then:
  1. enroll every speaker (POST /api/v1/voiceprint/register, multipart: name, user_id, the first
     --enroll utterances in sorted order as `audio` parts);
  2. verify 1:1 (POST /api/v1/voiceprint/verify, multipart: user_id, audio [, security_level]
     [, threshold]) every remaining utterance against EVERY enrolled speaker of the set: the same
     speaker is a target trial, another one an impostor trial;
  3. count per operating point: FAR = impostor trials verified / impostor trials; FRR = target
     trials neither verified nor inconclusive / target trials; inconclusive ("inconclusive": true)
     separately for targets and impostors; FRR+inc counts inconclusive targets as rejects.
The enrolment is reused for every operating point: the server's default (no level, no threshold),
each --levels value (security_level=<level>) and each --thresholds value (threshold=<t>). A level
the server refuses (400) is reported and skipped; one it silently ignores (no `security_level` in
the answer) is reported and skipped unless --force-levels.

Data sets (--set, repeatable; under --data-root, default ../shared/speech; audio is never copied,
cut pieces live in a temporary directory outside the repository):
  dev      resemblyzer-librispeech/librispeech_test-other: <speaker>/<utt>.flac (10 x 10)
  aishell  aishell1-sample/AISHELL_Sample_data: speaker = characters 7-11 of the name (S0150)
  srdata   sr-data: enroll/<name>-sr-N.wav (all of them) and test/<name>-test-sr-N.wav
           (test/3d-speaker/ is left out: no enrolment files and no speaker labels to match them)
  libri30  the 30 calibration speakers of resemblyzer-librispeech/librispeech_train-clean-100 (the
           list in models/voxgate-starter.calibration-set.tsv, train/data.py's Random(1234)
           rule), one ~14-s utterance each, cut with ffmpeg into floor(duration / --piece-s) equal
           consecutive pieces (16 kHz mono PCM WAV); enroll from the first 2 (or --enroll)
  so40     the 40 speechocean762 speakers (Mandarin-L1 adults and children reading English, one
           sentence per file) held out of training for calibration (from the same list)
  cvzh40   the 40 Common Voice zh-CN speakers held out of training for calibration (same list)
--channel telephone puts every file (enrolment and probe) through an 8-kHz G.711 u-law channel
(ffmpeg, into the temporary directory) before it is sent, as a recorded phone call would arrive;
--channel cross only the probes: users enrolled from wideband audio (an app) verified on a call.
Prints figures; asserts nothing.

Usage: bench/verdicts_bench.py [--build build] [--set dev ...] [--enroll N]
                               [--levels high,balanced,convenient] [--thresholds 0.3,0.4]
                               [--channel clean|telephone|cross]
                               [--concurrency 2] [--json FILE] [--trials-out FILE]
                               [--server-env VOXGATE_KEY=VALUE ...] [--force-levels]
"""
import argparse
import concurrent.futures
import glob
import hashlib
import json
import os
import pathlib
import random
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid

REPO = pathlib.Path(__file__).resolve().parent.parent
LIBRI_TEST = "resemblyzer-librispeech/librispeech_test-other"
LIBRI_TRAIN = "resemblyzer-librispeech/librispeech_train-clean-100"
HELDOUT_LIST = REPO / "models/voxgate-starter.calibration-set.tsv"
RESPONSE_FIELDS = ("confidence", "score", "llr", "threshold", "security_level", "calibrated",
                   "quality", "speech_s", "reason")
SETS = ("dev", "aishell", "srdata", "libri30", "so40", "cvzh40")


def log(msg):
    print(msg, flush=True)


# ----------------------------------------------------------------------------- data sets
# Each loader returns (speakers, notes): speakers = {speaker: (enroll files, probe files)}.

def load_dev(root, enroll, tmp):
    d = root / LIBRI_TEST
    spk = {}
    for s in sorted(p.name for p in d.iterdir() if p.is_dir()):
        files = sorted(glob.glob(str(d / s / "*.flac")))
        spk[s] = (files[:enroll], files[enroll:])
    return spk, []


def load_aishell(root, enroll, tmp):
    files = sorted(glob.glob(str(root / "aishell1-sample/AISHELL_Sample_data/*.wav")))
    by = {}
    for f in files:
        by.setdefault(os.path.basename(f)[6:11], []).append(f)
    return {s: (fs[:enroll], fs[enroll:]) for s, fs in sorted(by.items())}, []


def load_srdata(root, enroll, tmp):
    d = root / "sr-data"
    by = {}
    for f in sorted(glob.glob(str(d / "enroll/*.wav"))):
        by.setdefault(os.path.basename(f).split("-sr-")[0], ([], []))[0].append(f)
    for f in sorted(glob.glob(str(d / "test/*.wav"))):  # not recursive: test/3d-speaker/ left out
        by.setdefault(os.path.basename(f).split("-test-sr-")[0], ([], []))[1].append(f)
    notes = []
    left = sorted(glob.glob(str(d / "test/3d-speaker/*.wav")))
    if left:
        notes.append(f"{len(left)} files of test/3d-speaker/ left out (no enrolment files; their "
                     "speakerN labels come from two model pages, zh and en, not one speaker list)")
    return dict(sorted(by.items())), notes


def heldout_speakers(root):
    """The 30 LibriSpeech train-clean-100 speakers held out of training for calibration."""
    spk = sorted({os.path.basename(line.split("\t")[0]).split("-")[0]
                  for line in HELDOUT_LIST.read_text().splitlines()
                  if line and not line.startswith("#") and LIBRI_TRAIN in line})
    return spk, f"held-out list from {HELDOUT_LIST.relative_to(REPO)}"


def duration(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                          "-of", "csv=p=0", path], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def load_libri30(root, enroll, tmp, piece_s=3.5):
    spks, source = heldout_speakers(root)
    notes = [source]
    cut_dir = os.path.join(tmp, "libri30")
    os.makedirs(cut_dir, exist_ok=True)
    out, short = {}, []
    for s in spks:
        files = sorted(glob.glob(str(root / LIBRI_TRAIN / f"{s}-*.flac")))
        pieces = []
        for f in files:
            dur = duration(f)
            n = max(1, int(dur // piece_s))
            step = dur / n
            for k in range(n):
                p = os.path.join(cut_dir, f"{os.path.basename(f)[:-5]}-p{k}.wav")
                subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", f"{k * step:.3f}",
                                "-t", f"{step:.3f}", "-i", f, "-ac", "1", "-ar", "16000",
                                "-c:a", "pcm_s16le", p], check=True)
                pieces.append(p)
        if len(pieces) <= enroll:
            short.append(f"{s} ({len(pieces)} piece{'s' if len(pieces) != 1 else ''})")
        out[s] = (pieces[:enroll], pieces[enroll:])
    if short:
        notes.append(f"{len(short)} speakers have no piece left to verify (enrolled, impostor "
                     f"claims only): {', '.join(short)}")
    return out, notes


def load_heldout_set(prefix):
    """The held-out training-pool speakers of one set (models/...calibration-set.tsv)."""
    def load(root, enroll, tmp):
        by = {}
        for line in HELDOUT_LIST.read_text().splitlines():
            if not line or line.startswith("#") or not line.startswith(prefix):
                continue
            path, label = line.split("\t")
            by.setdefault(label, []).append(str(root / path))
        return {s: (sorted(fs)[:enroll], sorted(fs)[enroll:]) for s, fs in sorted(by.items())}, [
            f"held-out list from {HELDOUT_LIST.relative_to(REPO)}"]
    return load


def through_g711(files, tmp):
    """Each file as an 8-kHz mono G.711 u-law WAV in tmp (what a telephone channel delivers)."""
    out_dir = os.path.join(tmp, "g711")
    os.makedirs(out_dir, exist_ok=True)
    out = []
    for f in files:
        p = os.path.join(out_dir, f"{len(os.listdir(out_dir)):05d}-{os.path.basename(f)}.wav")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", f, "-ac", "1", "-ar", "8000",
                        "-c:a", "pcm_mulaw", p], check=True)
        out.append(p)
    return out


LOADERS = {"dev": load_dev, "aishell": load_aishell, "srdata": load_srdata,
           "libri30": load_libri30, "so40": load_heldout_set("train/speechocean762/"),
           "cvzh40": load_heldout_set("train/commonvoice-zh-CN/")}
DEFAULT_ENROLL = {"dev": 3, "aishell": 3, "srdata": None, "libri30": 2, "so40": 3, "cvzh40": 2}


def duplicates(speakers):
    """Files with identical bytes within a set (a data problem worth knowing about)."""
    seen = {}
    for s, (en, pr) in speakers.items():
        for f in en + pr:
            with open(f, "rb") as fh:
                seen.setdefault(hashlib.sha1(fh.read()).hexdigest(), []).append(f)
    return [v for v in seen.values() if len(v) > 1]


# ----------------------------------------------------------------------------- server

class Server:
    def __init__(self, voxgate, tmp, timeout, extra_env=()):
        self.data_dir = tempfile.mkdtemp(prefix="data-", dir=tmp)
        self.log_path = os.path.join(tmp, f"server-{os.path.basename(self.data_dir)}.log")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("VOXGATE_")}
        env.update(VOXGATE_SERVER_HOST="127.0.0.1", VOXGATE_SERVER_RATE_LIMIT_ENABLED="false",
                   VOXGATE_SERVER_ACCESS_LOG="false", VOXGATE_LOG_LEVEL="warn")
        env.update(extra_env)
        self.cmd = [voxgate, "serve", "--dev", "--port", str(self.port),
                    "--data-dir", self.data_dir]
        self.logf = open(self.log_path, "wb")
        # cwd = the repository: config/voxgate.yaml, models/ and weights/ resolve as for a user
        self.proc = subprocess.Popen(self.cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                                     stdout=self.logf, stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"voxgate serve exited with {self.proc.returncode} before "
                                   f"answering /health:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.base + "/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"voxgate serve did not answer /health within {timeout} s:\n"
                                   f"{self.log_tail()}")
            time.sleep(0.2)

    def log_tail(self, n=20):
        try:
            with open(self.log_path, "rb") as fh:
                return "\n".join(fh.read().decode(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()


def multipart(fields, files):
    boundary = "----verdicts" + uuid.uuid4().hex
    parts = []
    for k, v in fields:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'
                     f"{v}\r\n".encode())
    for k, path in files:
        with open(path, "rb") as fh:
            data = fh.read()
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; '
                     f'filename="{os.path.basename(path)}"\r\n'
                     f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def post(base, route, fields, files, retries=30):
    """Returns (HTTP status, JSON body or {'error': text}); retries 429/503 after Retry-After."""
    body, ctype = multipart(fields, files)
    code = None
    for _ in range(retries):
        req = urllib.request.Request(base + route, data=body, method="POST",
                                     headers={"Content-Type": ctype})
        try:
            with urllib.request.urlopen(req, timeout=300) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            code, raw = e.code, e.read()
            if code in (429, 503):
                time.sleep(float(e.headers.get("Retry-After") or 1) * (1 + random.random() / 2))
                continue
            try:
                return code, json.loads(raw)
            except ValueError:
                return code, {"error": raw.decode(errors="replace")[:300]}
        except (urllib.error.URLError, OSError, ValueError) as e:  # no answer at all
            return 0, {"error": f"{type(e).__name__}: {e}"}
    return code, {"error": f"still {code} after {retries} tries"}


# ----------------------------------------------------------------------------- measurement

def enroll_all(base, set_name, speakers):
    enrolled, rows = {}, []
    for s, (files, _) in speakers.items():
        uid = f"{set_name}-{s}"
        if not files:
            rows.append(dict(speaker=s, user_id=uid, status=None, error="no enrolment files"))
            continue
        st, b = post(base, "/api/v1/voiceprint/register",
                     [("name", f"{set_name} {s}"), ("user_id", uid)], [("audio", f) for f in files])
        rows.append(dict(speaker=s, user_id=uid, status=st, files=[os.path.basename(f) for f in files],
                         speech_s=b.get("speech_s"), quality=b.get("quality"),
                         warnings=b.get("warnings"), error=None if st in (200, 201) else
                         b.get("error")))
        if st in (200, 201):
            enrolled[s] = uid
    return enrolled, rows


def verify(base, probe, claim, op_fields):
    st, b = post(base, "/api/v1/voiceprint/verify", [("user_id", claim)] + op_fields,
                 [("audio", probe)])
    return st, b


def run_op(base, set_name, op, op_fields, trials, concurrency, stop):
    """trials: [(probe path, probe speaker, claimed speaker, user_id)]."""
    out = []
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        futs = {pool.submit(verify, base, p, uid, op_fields): (p, ps, cs, uid)
                for p, ps, cs, uid in trials}
        try:
            for fut in concurrent.futures.as_completed(futs):
                p, ps, cs, uid = futs[fut]
                st, b = fut.result()
                t = dict(set=set_name, op=op, probe=os.path.basename(p), probe_speaker=ps,
                         claimed=cs, target=ps == cs, status=st,
                         verified=bool(b.get("verified")) if st == 200 else None,
                         inconclusive=bool(b.get("inconclusive")) if st == 200 else None)
                for k in RESPONSE_FIELDS:
                    if k in b:
                        t[k] = b[k]
                if st != 200:
                    t["error"] = b.get("error")
                out.append(t)
                if stop.is_set():
                    raise KeyboardInterrupt
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return out


def mean(xs):
    xs = [x for x in xs if isinstance(x, (int, float))]
    return sum(xs) / len(xs) if xs else None


def summarize(trials):
    ok = [t for t in trials if t["status"] == 200]
    tg = [t for t in ok if t["target"]]
    im = [t for t in ok if not t["target"]]
    fa = sum(t["verified"] for t in im)
    fr = sum(not t["verified"] and not t["inconclusive"] for t in tg)
    inc_t = sum(t["inconclusive"] for t in tg)
    inc_i = sum(t["inconclusive"] for t in im)
    pct = lambda a, b: 100.0 * a / b if b else None
    levels = sorted({str(t["security_level"]) for t in ok if "security_level" in t})
    return dict(target_trials=len(tg), impostor_trials=len(im), false_accepts=fa,
                false_rejects=fr, inconclusive_targets=inc_t, inconclusive_impostors=inc_i,
                far_pct=pct(fa, len(im)), frr_pct=pct(fr, len(tg)),
                frr_incl_inconclusive_pct=pct(fr + inc_t, len(tg)),
                inconclusive_target_pct=pct(inc_t, len(tg)),
                inconclusive_impostor_pct=pct(inc_i, len(im)),
                mean_threshold=mean([t.get("threshold") for t in ok]),
                mean_confidence_target=mean([t.get("confidence") for t in tg]),
                mean_confidence_impostor=mean([t.get("confidence") for t in im]),
                security_levels_reported=levels, errors=len(trials) - len(ok),
                error_statuses=sorted({t["status"] for t in trials if t["status"] != 200}))


def fmt(x, spec):
    return format(x, spec) if x is not None else "-".rjust(int(spec.split(".")[0] or 0))


HEADER = (f"{'set':8} {'op':20} {'spk':>3} {'target':>6} {'impost':>6} {'FA':>4} {'FAR %':>6} "
          f"{'FR':>4} {'FRR %':>6} {'FRR+inc %':>9} {'inc tgt %':>9} {'inc imp %':>9} "
          f"{'thr mean':>8} {'conf tgt':>8} {'conf imp':>8} {'err':>4}")


def row(set_name, op, n_spk, s):
    return (f"{set_name:8} {op:20} {n_spk:>3} {s['target_trials']:>6} {s['impostor_trials']:>6} "
            f"{s['false_accepts']:>4} {fmt(s['far_pct'], '6.2f')} {s['false_rejects']:>4} "
            f"{fmt(s['frr_pct'], '6.2f')} {fmt(s['frr_incl_inconclusive_pct'], '9.2f')} "
            f"{fmt(s['inconclusive_target_pct'], '9.2f')} "
            f"{fmt(s['inconclusive_impostor_pct'], '9.2f')} {fmt(s['mean_threshold'], '8.4f')} "
            f"{fmt(s['mean_confidence_target'], '8.3f')} "
            f"{fmt(s['mean_confidence_impostor'], '8.3f')} {s['errors']:>4}")


def run_set(a, set_name, voxgate, tmp, stop, all_trials):
    enroll = a.enroll if a.enroll is not None else DEFAULT_ENROLL[set_name]
    loader = LOADERS[set_name]
    kw = {"piece_s": a.piece_s} if set_name == "libri30" else {}
    speakers, notes = loader(pathlib.Path(a.data_root), enroll, tmp, **kw)
    if a.channel != "clean":
        speakers = {s: (through_g711(e, tmp) if a.channel == "telephone" else e,
                        through_g711(p, tmp)) for s, (e, p) in speakers.items()}
        notes.append("enrolment clean, probes through G.711 u-law" if a.channel == "cross"
                     else "enrolment and probes through G.711 u-law")
    if set_name == "srdata" and a.enroll is not None:
        notes.append("--enroll ignored: srdata enrolls from all its enroll/ files")
    for group in duplicates(speakers):
        notes.append("identical audio: " + ", ".join(os.path.basename(f) for f in group))
    res = dict(set=set_name, enroll_per_speaker=enroll, channel=a.channel, notes=notes, ops=[],
               speakers={s: dict(enroll=[os.path.basename(f) for f in e],
                                 probes=[os.path.basename(f) for f in p])
                         for s, (e, p) in speakers.items()})
    n_probes = sum(len(p) for _, p in speakers.values())
    log(f"\n== {set_name}: {len(speakers)} speakers, "
        f"{sum(len(e) for e, _ in speakers.values())} enrolment files, {n_probes} probes")
    t0 = time.monotonic()
    server = Server(voxgate, tmp, a.start_timeout, a.server_env)
    try:
        enrolled, rows = enroll_all(server.base, set_name, speakers)
        res["enrollment"] = rows
        for r in rows:
            if r["status"] not in (200, 201):
                notes.append(f"enrolment of {r['speaker']} failed ({r['status']}): {r['error']}")
            q = r.get("quality") or {}
            if isinstance(q.get("min_consistency"), (int, float)) and q["min_consistency"] < 0.3:
                notes.append(f"{r['speaker']}: enrolment samples disagree (min consistency "
                             f"{q['min_consistency']:.2f})")
        sp = [r["speech_s"] for r in rows if isinstance(r.get("speech_s"), (int, float))]
        if sp:
            log(f"enrolled {len(enrolled)}/{len(speakers)} speakers in "
                f"{time.monotonic() - t0:.1f} s; enrolled speech {min(sp):.1f}-{max(sp):.1f} s "
                f"(mean {sum(sp) / len(sp):.1f})")
        trials = [(p, ps, cs, uid) for ps, (_, probes) in speakers.items() for p in probes
                  for cs, uid in enrolled.items()]
        ops = [("default", [])]
        ops += [(f"level={lv}", [("security_level", lv)]) for lv in a.levels]
        ops += [(f"threshold={t}", [("threshold", t)]) for t in a.thresholds]
        for op, fields in ops:
            entry = dict(op=op, fields=dict(fields))
            res["ops"].append(entry)
            if not trials:
                entry["skipped"] = "no trials"
                continue
            if fields:  # does the server take this operating point at all?
                st, b = verify(server.base, trials[0][0], trials[0][3], fields)
                if st != 200:
                    entry["skipped"] = f"HTTP {st}: {b.get('error_code', '')} {b.get('error', '')}"
                    log(f"{set_name} {op}: REFUSED by the server ({entry['skipped'].strip()}); "
                        "skipped")
                    continue
                if op.startswith("level=") and "security_level" not in b and not a.force_levels:
                    entry["skipped"] = ("ignored by the server: the answer has no security_level "
                                        f"(threshold {b.get('threshold')}); same as default")
                    log(f"{set_name} {op}: {entry['skipped']}; skipped (--force-levels runs it)")
                    continue
            t1 = time.monotonic()
            tr = run_op(server.base, set_name, op, fields, trials, a.concurrency, stop)
            entry.update(summarize(tr))
            entry["seconds"] = round(time.monotonic() - t1, 1)
            all_trials.extend(tr)
            log(f"{set_name} {op}: {len(tr)} verifies in {entry['seconds']} s")
    finally:
        server.stop()
    res["seconds"] = round(time.monotonic() - t0, 1)
    return res, len(enrolled)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.split("\n")[1:]))
    ap.add_argument("--build", default="build", help="build directory holding voxgate")
    ap.add_argument("--set", dest="sets", action="append", choices=SETS,
                    help="data set (repeatable; default dev)")
    ap.add_argument("--data-root", default=str(REPO.parent / "shared/speech"))
    ap.add_argument("--enroll", type=int, default=None,
                    help="enrolment utterances per speaker (default 3; libri30: 2 pieces)")
    ap.add_argument("--piece-s", type=float, default=3.5, help="libri30 piece length, s")
    ap.add_argument("--levels", default="high,balanced,convenient",
                    help="security_level values ('' for none)")
    ap.add_argument("--thresholds", default="", help="explicit thresholds, e.g. 0.3,0.4")
    ap.add_argument("--force-levels", action="store_true",
                    help="measure a level even when the answer carries no security_level")
    ap.add_argument("--channel", choices=["clean", "telephone", "cross"], default="clean",
                    help="telephone: all audio through G.711; cross: only the probes")
    ap.add_argument("--concurrency", type=int, default=2, help="verifies in flight")
    ap.add_argument("--server-env", action="append", default=[], metavar="KEY=VALUE",
                    help="extra environment of the server (repeatable), e.g. "
                         "VOXGATE_MODEL_CALIBRATION=none")
    ap.add_argument("--start-timeout", type=float, default=60, help="seconds to wait for /health")
    ap.add_argument("--json", help="write all figures to FILE")
    ap.add_argument("--trials-out", help="write every trial (with the response fields) to FILE")
    a = ap.parse_args()
    a.sets = a.sets or ["dev"]
    a.levels = [x.strip() for x in a.levels.split(",") if x.strip()]
    a.thresholds = [x.strip() for x in a.thresholds.split(",") if x.strip()]
    for t in a.thresholds:
        float(t)
    if any("=" not in kv or not kv.startswith("VOXGATE_") for kv in a.server_env):
        ap.error("--server-env takes VOXGATE_KEY=VALUE")
    a.server_env = [tuple(kv.split("=", 1)) for kv in a.server_env]
    if a.enroll is not None and a.enroll < 1:
        ap.error("--enroll must be >= 1")

    command = shlex.join([sys.executable] + sys.argv)
    log(f"command: {command}")
    voxgate = str((REPO / a.build / "voxgate").resolve())
    if not os.path.exists(voxgate):
        sys.exit(f"verdicts_bench: {voxgate} missing: build first")
    if not os.path.isdir(a.data_root):
        sys.exit(f"verdicts_bench: {a.data_root} missing")
    built = os.path.getmtime(voxgate)
    log(f"voxgate: {voxgate} (built {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(built))})")
    log(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}; "
        f"concurrency {a.concurrency}")

    stop = threading.Event()

    def on_term(signum, frame):
        stop.set()
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)

    tmp_parent = tempfile.gettempdir()
    if pathlib.Path(tmp_parent).resolve().is_relative_to(REPO):
        tmp_parent = "/tmp"  # never put cut audio or data dirs inside the repository
    t0 = time.monotonic()
    results, all_trials, tables = [], [], []
    try:
        with tempfile.TemporaryDirectory(prefix="voxgate-verdicts-", dir=tmp_parent) as tmp:
            for s in a.sets:
                if os.path.getmtime(voxgate) != built:
                    log(f"WARNING: {voxgate} was rebuilt during the run: later sets use the new "
                        "binary")
                    built = os.path.getmtime(voxgate)
                res, n_enrolled = run_set(a, s, voxgate, tmp, stop, all_trials)
                results.append(res)
                lines = [HEADER]
                for e in res["ops"]:
                    if "skipped" in e:
                        lines.append(f"{s:8} {e['op']:20} skipped: {e['skipped']}")
                    else:
                        lines.append(row(s, e["op"], n_enrolled, e))
                        if e["errors"]:
                            lines[-1] += f"  (HTTP {e['error_statuses']})"
                for n in res["notes"]:
                    lines.append(f"  note: {n}")
                tables.append("\n".join(lines))
                log("\n" + tables[-1])
    except KeyboardInterrupt:
        log("\nverdicts_bench: interrupted; server stopped")
        sys.exit(130)
    except RuntimeError as e:  # the server did not come up
        sys.exit(f"verdicts_bench: {e}")
    total = time.monotonic() - t0
    log(f"\n== summary ({total:.0f} s)\n" + "\n\n".join(tables))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(dict(command=command, seconds=round(total, 1), sets=results), fh, indent=1)
        log(f"figures: {a.json}")
    if a.trials_out:
        with open(a.trials_out, "w") as fh:
            json.dump(all_trials, fh, indent=0)
        log(f"trials: {a.trials_out}")


if __name__ == "__main__":
    main()
