#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target into fuzz/corpus/<target>/ (committed; re-run after
changing a target's input format). Seeds are real protocol messages in the shapes Voxgate meets:
SIP requests and responses as softphones and sipp send them, SDP offers, RTP/RTCP datagrams,
multipart uploads, WebSocket start messages, request targets, YAML configs, Redis stream replies,
and short synthetic recordings in every container the decoder takes (sox/ffmpeg, no speech data).

  python3 fuzz/make_corpus.py
"""
import os
import shutil
import struct
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as fh:
        fh.write(data)


def crlf(text):
    return text.strip("\n").replace("\n", "\r\n") + "\r\n"


SDP_PCMU = crlf("""v=0
o=alice 2890844526 2890844526 IN IP4 192.0.2.10
s=-
c=IN IP4 192.0.2.10
t=0 0
m=audio 49170 RTP/AVP 0 8 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=ptime:20
a=sendrecv
""")

SDP_OPUS = crlf("""v=0
o=- 4611731400430051336 2 IN IP4 127.0.0.1
s=-
t=0 0
m=audio 40000 RTP/AVP 111 0 101
c=IN IP4 198.51.100.7
a=rtpmap:111 opus/48000/2
a=fmtp:111 minptime=10;useinbandfec=1
a=rtpmap:101 telephone-event/48000
a=ptime:20
a=maxptime:60
""")

SDP_V6_TWO_STREAMS = crlf("""v=0
o=bob 1 1 IN IP6 2001:db8::1
s=call
c=IN IP6 2001:db8::1
t=0 0
m=video 51372 RTP/AVP 96
a=rtpmap:96 H264/90000
m=audio 0 RTP/AVP 0
m=audio 49172 RTP/SAVP 8
a=rtpmap:8 PCMA/8000
a=ptime:30
a=recvonly
""")


def sip_invite(user, sdp, transport="UDP"):
    body = sdp
    head = f"""INVITE sip:{user}@127.0.0.1:5060 SIP/2.0
Via: SIP/2.0/{transport} 127.0.0.1:5061;branch=z9hG4bK-524287-1---7a5b6c;rport
Max-Forwards: 70
From: "Alice" <sip:alice@127.0.0.1:5061>;tag=9fxced76sl
To: <sip:{user}@127.0.0.1:5060>
Call-ID: 3848276298220188511@127.0.0.1
CSeq: 1 INVITE
Contact: <sip:alice@127.0.0.1:5061;transport={transport.lower()}>
Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO
User-Agent: sipp
Content-Type: application/sdp
Content-Length: {len(body.encode())}
"""
    return crlf(head) + "\r\n" + body


SIP_BYE = crlf("""BYE sip:verify-alice@127.0.0.1:5060 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-2
Max-Forwards: 70
From: <sip:alice@127.0.0.1:5061>;tag=9fxced76sl
To: <sip:verify-alice@127.0.0.1:5060>;tag=voxgate-1
Call-ID: 3848276298220188511@127.0.0.1
CSeq: 2 BYE
Content-Length: 0
""") + "\r\n"

SIP_REGISTER = crlf("""REGISTER sip:registrar.example.com SIP/2.0
Via: SIP/2.0/TCP 192.0.2.4:5060;branch=z9hG4bKnashds7
Max-Forwards: 70
To: Voxgate <sip:voxgate@example.com>
From: Voxgate <sip:voxgate@example.com>;tag=a73kszlfl
Call-ID: 1j9FpLxk3uxtm8tn@192.0.2.4
CSeq: 1 REGISTER
Contact: <sip:voxgate@192.0.2.4>;expires=3600
Authorization: Digest username="voxgate", realm="example.com", nonce="ea9c8e88df84f1cec4341ae6cbe5a359", uri="sip:example.com", response="dfe56131d1958046689d83306477ecc"
Content-Length: 0
""") + "\r\n"

SIP_200 = crlf("""SIP/2.0 200 OK
Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-voxgate-1;received=127.0.0.1
From: <sip:voxgate@127.0.0.1>;tag=1
To: <sip:alice@127.0.0.1>;tag=2
Call-ID: abc@127.0.0.1
CSeq: 1 OPTIONS
Accept: application/sdp
Content-Length: 0
""") + "\r\n"

SIP_INFO_DTMF_BODY = "Signal=5\r\nDuration=160\r\n"
SIP_INFO = crlf(f"""INFO sip:identify@127.0.0.1:5060 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-3
Max-Forwards: 70
From: <sip:alice@127.0.0.1:5061>;tag=x
To: <sip:identify@127.0.0.1:5060>;tag=y
Call-ID: info@127.0.0.1
CSeq: 3 INFO
Content-Type: application/dtmf-relay
Content-Length: {len(SIP_INFO_DTMF_BODY)}
""") + "\r\n" + SIP_INFO_DTMF_BODY


def rtp(pt, seq, ts, ssrc, payload, marker=0, csrcs=(), ext=None, pad=0):
    v = 0x80 | (0x20 if pad else 0) | (0x10 if ext is not None else 0) | len(csrcs)
    b = struct.pack("!BBHII", v, (marker << 7) | pt, seq, ts, ssrc)
    for c in csrcs:
        b += struct.pack("!I", c)
    if ext is not None:
        b += struct.pack("!HH", 0xBEDE, len(ext) // 4) + ext
    b += payload
    if pad:
        b += b"\0" * (pad - 1) + bytes([pad])
    return b


def framed(*datagrams):
    out = b""
    for d in datagrams:
        d = d[:255]
        out += bytes([len(d)]) + d
    return out


def rtcp_sr(ssrc, ntp_s, ntp_f, rtp_ts, packets, octets, blocks=()):
    body = struct.pack("!IIIIII", ssrc, ntp_s, ntp_f, rtp_ts, packets, octets)
    for (src, lost_frac, lost, hi_seq, jitter, lsr, dlsr) in blocks:
        body += struct.pack("!IB", src, lost_frac) + lost.to_bytes(3, "big") + struct.pack("!IIII", hi_seq, jitter,
                                                                                           lsr, dlsr)
    length = (len(body) + 4) // 4 - 1
    return struct.pack("!BBH", 0x80 | len(blocks), 200, length) + body


def rtcp_rr(ssrc, blocks):
    body = struct.pack("!I", ssrc)
    for (src, lost_frac, lost, hi_seq, jitter, lsr, dlsr) in blocks:
        body += struct.pack("!IB", src, lost_frac) + lost.to_bytes(3, "big") + struct.pack("!IIII", hi_seq, jitter,
                                                                                           lsr, dlsr)
    return struct.pack("!BBH", 0x80 | len(blocks), 201, (len(body) + 4) // 4 - 1) + body


def rtcp_sdes(ssrc, cname):
    item = bytes([1, len(cname)]) + cname.encode()
    chunk = struct.pack("!I", ssrc) + item + b"\0"
    chunk += b"\0" * (-len(chunk) % 4)
    return struct.pack("!BBH", 0x81, 202, (len(chunk) + 4) // 4 - 1) + chunk


def rtcp_bye(ssrc, reason=""):
    body = struct.pack("!I", ssrc)
    if reason:
        body += bytes([len(reason)]) + reason.encode()
        body += b"\0" * (-len(body) % 4)
    return struct.pack("!BBH", 0x81, 203, (len(body) + 4) // 4 - 1) + body


def audio_seeds(tmp):
    """Short synthetic recordings (a 300 Hz-2.8 kHz sweep) in each container, 0.25 s each."""
    src = os.path.join(tmp, "source.wav")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "aevalsrc=0.5*sin(2*PI*(300+5000*t)*t):s=16000:d=0.25", "-c:a", "pcm_s16le", src], check=True)
    outs = {
        "tone.wav": ["-c:a", "pcm_s16le"],
        "tone_8k_ulaw.wav": ["-ar", "8000", "-c:a", "pcm_mulaw"],
        "tone_stereo_f32.wav": ["-ac", "2", "-c:a", "pcm_f32le"],
        "tone.flac": ["-c:a", "flac"],
        "tone.ogg": ["-c:a", "libopus", "-b:a", "16k"],
        "tone.mp3": ["-ar", "22050", "-c:a", "libmp3lame", "-b:a", "32k"],
        "tone.m4a": ["-c:a", "aac", "-b:a", "24k"],
        "tone.webm": ["-c:a", "libopus", "-b:a", "16k", "-f", "webm"],
    }
    for name, args in outs.items():
        path = os.path.join(tmp, name)
        r = subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", src] + args + [path])
        if r.returncode == 0:
            with open(path, "rb") as fh:
                data = fh.read()
            put("audio_decoder_fuzz", name, b"\xff" + data)  # selector >= 0x40: container at 16 kHz
            put("audio_decoder_fuzz", "keep_rate_" + name, b"\x20" + data)  # 0x20: keep the source rate
    with open(src, "rb") as fh:
        pcm = fh.read()[44:44 + 1600]
    put("audio_decoder_fuzz", "raw_s16le_8k.bin", bytes([0]) + pcm)  # selector < 0x20: raw PCM (0: s16le 8 kHz)
    put("audio_decoder_fuzz", "raw_mulaw_8k_stereo.bin", bytes([4]) + bytes(range(256)) * 4)


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    # SIP: first byte 0 = one UDP datagram; odd = a TCP stream read in chunks of 1 + (byte >> 1).
    for name, msg in {"invite_pcmu": sip_invite("verify-alice", SDP_PCMU),
                      "invite_opus": sip_invite("identify", SDP_OPUS),
                      "invite_v6": sip_invite("enroll-bob", SDP_V6_TWO_STREAMS),
                      "bye": SIP_BYE, "register": SIP_REGISTER, "ok_200": SIP_200, "info_dtmf": SIP_INFO}.items():
        put("sip_fuzz", name + ".udp", b"\0" + msg.encode())
    put("sip_fuzz", "invite_bye.tcp", bytes([2 * 37 + 1]) + (sip_invite("verify-alice", SDP_PCMU, "TCP")
                                                                + SIP_BYE).encode())
    # SDP: first byte picks one of three agent configs.
    for i, (name, sdp) in enumerate({"pcmu": SDP_PCMU, "opus": SDP_OPUS, "v6_two_streams": SDP_V6_TWO_STREAMS}.items()):
        for cfg in range(3):
            put("sdp_fuzz", f"{name}_cfg{cfg}", bytes([cfg]) + sdp.encode())
    # RTP: a stream of length-prefixed datagrams.
    ssrc = 0x1234ABCD
    voice = [rtp(0, 1000 + i, 160 * i, ssrc, bytes((i * 7 + k) & 0xFF for k in range(160)), marker=int(i == 0))
             for i in range(6)]
    put("rtp_fuzz", "pcmu_stream", framed(*voice))
    put("rtp_fuzz", "pcmu_reordered_dup", framed(voice[0], voice[2], voice[1], voice[1], voice[4]))
    dtmf = [rtp(101, 2000 + i, 8000, ssrc, bytes([5, 0x0A | (0x80 if i >= 3 else 0)]) + struct.pack("!H", 160 * (i + 1)),
                marker=int(i == 0)) for i in range(5)]
    put("rtp_fuzz", "dtmf_event_5", framed(*dtmf))
    put("rtp_fuzz", "csrc_ext_pad", framed(rtp(8, 7, 320, ssrc, b"\xd5" * 160, csrcs=(1, 2), ext=b"\x10\xff\0\0",
                                                pad=4)))
    put("rtp_fuzz", "opus_20ms", framed(*(rtp(111, i, 960 * i, ssrc, b"\x78" + bytes(range(40))) for i in range(4))))
    # RTCP compounds.
    blocks = [(0x55667788, 12, 3, 70000, 42, 0x12345678, 65536)]
    put("rtcp_fuzz", "sr_sdes", rtcp_sr(ssrc, 3900000000, 0x80000000, 160000, 1000, 160000, blocks)
        + rtcp_sdes(ssrc, "voxgate@127.0.0.1"))
    put("rtcp_fuzz", "rr_sdes_bye", rtcp_rr(ssrc, blocks) + rtcp_sdes(ssrc, "alice") + rtcp_bye(ssrc, "hangup"))
    put("rtcp_fuzz", "sr_no_blocks", rtcp_sr(ssrc, 1, 2, 3, 4, 5))
    put("rtcp_fuzz", "app", struct.pack("!BBHI4s", 0x80, 204, 3, ssrc, b"VOXG") + b"data")
    # Multipart: first line the Content-Type header, then the body.
    b = "----voxgateboundary7MA4YWxkTrZu0gW"
    body = (f"--{b}\r\nContent-Disposition: form-data; name=\"user_id\"\r\n\r\nalice\r\n"
            f"--{b}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nAlice Ng\r\n"
            f"--{b}\r\nContent-Disposition: form-data; name=\"audio\"; filename=\"a.wav\"\r\n"
            f"Content-Type: audio/wav\r\n\r\nRIFF\x24\0\0\0WAVEfmt \r\n--{b}--\r\n")
    put("multipart_fuzz", "register_form", f"multipart/form-data; boundary={b}\n" + body)
    put("multipart_fuzz", "quoted_boundary", 'multipart/form-data; boundary="a b"\n--a b\r\n'
        'Content-Disposition: form-data; name="x"\r\n\r\n1\r\n--a b--\r\n')
    put("multipart_fuzz", "preamble_epilogue", f"multipart/form-data; boundary=z\npreamble\r\n--z\r\n"
        "Content-Disposition: form-data; name=\"f\"; filename*=UTF-8''%E2%82%AC.wav\r\n\r\n\0\1\2\r\n--z--\r\nepilogue")
    # Router: first byte the method (0 GET, 1 POST, 2 PUT, 3 DELETE, 4 other), then the target.
    for i, (m, t) in enumerate([(0, "/api/v1/voiceprint/alice"), (0, "/api/v1/voiceprints?limit=50&offset=0&q=al%20ice"),
                                (1, "/api/v1/voiceprint/verify?security_level=high"),
                                (3, "/api/v1/voiceprint/%E5%BC%A0%E4%B8%89"), (2, "/api/v1/voiceprint/bob/status"),
                                (0, "/api/v1/cluster/nodes/node-1:8080"), (0, "/health"), (0, "/"),
                                (0, "/api/v1/audit?since=2026-12-01T00:00:00Z&until=2026-12-07T00:00:00Z&a=&b")]):
        put("router_fuzz", f"target{i}", bytes([m]) + t.encode())
    # WebSocket start messages.
    for name, msg in {
        "verify": '{"type":"start","mode":"verify","user_id":"alice","encoding":"pcm_s16le","sample_rate":16000}',
        "identify_opus": '{"type":"start","mode":"identify","encoding":"opus","sample_rate":48000,"channels":2,'
                         '"top_k":3,"security_level":"high"}',
        "enroll": '{"type":"start","mode":"enroll","user_id":"bob","name":"Bob \\u00e9","encoding":"pcm_f32le",'
                  '"sample_rate":16000}',
        "monitor_ulaw": '{"type":"start","mode":"monitor","encoding":"mulaw","sample_rate":8000,"session":"s-1"}',
    }.items():
        put("start_message_fuzz", name + ".json", msg)
    # YAML configs: the shipped one and small variants.
    with open(os.path.join(HERE, "..", "config", "voxgate.yaml"), "rb") as fh:
        put("config_fuzz", "voxgate.yaml", fh.read())
    put("config_fuzz", "small.yaml", "server:\n  port: 8080\n  origins: [a, b]\nservice:\n  security_level: high\n"
        "store:\n  backend: sqlite\n  sqlite:\n    synchronous: full\n")
    put("config_fuzz", "anchors.yaml", "base: &b {port: 1}\nserver: *b\nlist:\n  - x\n  - {y: 1}\n")
    # Redis stream replies (the event decoder): a compact text form, see redis_entries_fuzz.cc.
    put("redis_entries_fuzz", "xread", "*[*[$voxgate:events,*[*[$1733500000000-0,*[$node,$n1,$type,$decision,"
        "$session,$s-1,$time_ms,$1733500000000,$data,${\"user_id\":\"alice\"}]]]]]")
    put("redis_entries_fuzz", "xrange_deleted", "*[*[$1-0,*[$node,$n2,$type,$qos]],*[$2-0,_],*[$3-1,*[$type]]]")
    with tempfile.TemporaryDirectory() as tmp:
        audio_seeds(tmp)
    n = sum(len(fs) for _, _, fs in os.walk(OUT))
    print(f"fuzz/corpus: {n} seeds")


if __name__ == "__main__":
    main()
