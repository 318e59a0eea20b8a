#include "telephony/sdp_negotiator.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace voxgate::telephony {
namespace {

// SIPp 3.6's built-in uac scenario body, with its keywords filled in.
constexpr char kSippOffer[] =
    "v=0\r\n"
    "o=user1 53655765 2353687637 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "c=IN IP4 127.0.0.1\r\n"
    "t=0 0\r\n"
    "m=audio 6000 RTP/AVP 0\r\n"
    "a=rtpmap:0 PCMU/8000\r\n";

// baresip 3.x: Opus first, G.722, G.711, telephone-event at both clocks, RTCP on its own port.
constexpr char kBaresipOffer[] =
    "v=0\r\n"
    "o=- 2890844526 2890844527 IN IP4 192.168.1.50\r\n"
    "s=-\r\n"
    "c=IN IP4 192.168.1.50\r\n"
    "t=0 0\r\n"
    "m=audio 10886 RTP/AVP 111 9 0 8 101 102\r\n"
    "b=AS:128\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=fmtp:111 stereo=1;sprop-stereo=1\r\n"
    "a=rtpmap:9 G722/8000\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/48000\r\n"
    "a=fmtp:101 0-15\r\n"
    "a=rtpmap:102 telephone-event/8000\r\n"
    "a=fmtp:102 0-15\r\n"
    "a=rtcp:10887\r\n"
    "a=sendrecv\r\n"
    "a=label:1\r\n"
    "a=ssrc:2613245678 cname:9bd3c0a5-61a4-4bd5-8d3c-3e5d1f1b2b0e\r\n"
    "a=ptime:20\r\n";

// Asterisk 18 chan_pjsip: PCMA first, GSM, telephone-event, maxptime.
constexpr char kAsteriskOffer[] =
    "v=0\n"
    "o=- 1066346387 1066346387 IN IP4 10.0.0.5\n"
    "s=Asterisk\n"
    "c=IN IP4 10.0.0.5\n"
    "t=0 0\n"
    "m=audio 14500 RTP/AVP 8 0 3 101\n"
    "a=rtpmap:8 PCMA/8000\n"
    "a=rtpmap:0 PCMU/8000\n"
    "a=rtpmap:3 GSM/8000\n"
    "a=rtpmap:101 telephone-event/8000\n"
    "a=fmtp:101 0-16\n"
    "a=ptime:30\n"
    "a=maxptime:150\n"
    "a=sendrecv\n";

SipConfig Config() { return SipConfig(); }

TEST(SdpNegotiatorTest, SippDefaultOffer) {
  auto media = NegotiateOffer(kSippOffer, Config());
  ASSERT_TRUE(media.ok()) << media.status().ToString();
  EXPECT_EQ(media->audio.codec, Codec::kPcmu);
  EXPECT_EQ(media->audio.payload_type, 0);
  EXPECT_EQ(media->audio.clock_rate_hz, 8000);
  EXPECT_EQ(media->telephone_event_pt, -1);
  EXPECT_EQ(media->ptime_ms, 20);
  EXPECT_EQ(media->remote_address, "127.0.0.1");
  EXPECT_EQ(media->remote_rtp_port, 6000);
  EXPECT_EQ(media->remote_rtcp_port, 6001);
  EXPECT_EQ(media->direction, MediaDirection::kSendRecv);
  EXPECT_TRUE(media->answer_media_lines.empty());
}

TEST(SdpNegotiatorTest, StaticPayloadTypeWithoutRtpmap) {
  std::string offer =
      "v=0\r\no=- 1 1 IN IP4 10.1.1.1\r\ns=-\r\nc=IN IP4 10.1.1.1\r\nt=0 0\r\n"
      "m=audio 4000 RTP/AVP 18 8\r\n";
  auto media = NegotiateOffer(offer, Config());
  ASSERT_TRUE(media.ok()) << media.status().ToString();
  EXPECT_EQ(media->audio.codec, Codec::kPcma);
  EXPECT_EQ(media->audio.payload_type, 8);
}

TEST(SdpNegotiatorTest, BaresipOfferPicksOurPreferenceNotTheirs) {
  auto media = NegotiateOffer(kBaresipOffer, Config());
  ASSERT_TRUE(media.ok()) << media.status().ToString();
  // Default preference is PCMU, PCMA, opus: PCMU wins although the caller lists Opus first.
  EXPECT_EQ(media->audio.codec, Codec::kPcmu);
  EXPECT_EQ(media->audio.payload_type, 0);
  // telephone-event at the G.711 clock, not the 48 kHz one.
  EXPECT_EQ(media->telephone_event_pt, 102);
  EXPECT_EQ(media->remote_address, "192.168.1.50");
  EXPECT_EQ(media->remote_rtp_port, 10886);
  EXPECT_EQ(media->remote_rtcp_port, 10887);
}

TEST(SdpNegotiatorTest, BaresipOfferNegotiatesOpusWhenPreferred) {
  SipConfig config;
  config.codecs = {Codec::kOpus, Codec::kPcmu};
  auto media = NegotiateOffer(kBaresipOffer, config);
  ASSERT_TRUE(media.ok()) << media.status().ToString();
  EXPECT_EQ(media->audio.codec, Codec::kOpus);
  EXPECT_EQ(media->audio.payload_type, 111);
  EXPECT_EQ(media->audio.clock_rate_hz, 48000);
  EXPECT_EQ(media->audio.channels, 1);
  EXPECT_EQ(media->telephone_event_pt, 101);
  EXPECT_EQ(media->ptime_ms, 20);
}

TEST(SdpNegotiatorTest, OpusUnderAnotherPayloadTypeKeepsTheCallersNumber) {
  std::string offer =
      "v=0\r\no=- 1 1 IN IP4 10.1.1.1\r\ns=-\r\nc=IN IP4 10.1.1.1\r\nt=0 0\r\n"
      "m=audio 4000 RTP/AVP 96 97\r\na=rtpmap:96 OPUS/48000/2\r\n"
      "a=rtpmap:97 telephone-event/8000\r\n";
  SipConfig config;
  config.codecs = {Codec::kOpus};
  auto media = NegotiateOffer(offer, config);
  ASSERT_TRUE(media.ok()) << media.status().ToString();
  EXPECT_EQ(media->audio.payload_type, 96);
  // Only an 8 kHz telephone-event: it does not match Opus' clock.
  EXPECT_EQ(media->telephone_event_pt, -1);
}

TEST(SdpNegotiatorTest, AsteriskOffer) {
  auto media = NegotiateOffer(kAsteriskOffer, Config());
  ASSERT_TRUE(media.ok()) << media.status().ToString();
  EXPECT_EQ(media->audio.codec, Codec::kPcmu);
  EXPECT_EQ(media->audio.payload_type, 0);
  EXPECT_EQ(media->telephone_event_pt, 101);
  EXPECT_EQ(media->ptime_ms, 30);
  EXPECT_EQ(media->remote_address, "10.0.0.5");
  EXPECT_EQ(media->remote_rtp_port, 14500);
  EXPECT_EQ(media->remote_rtcp_port, 14501);

  SipConfig alaw_first;
  alaw_first.codecs = {Codec::kPcma, Codec::kPcmu};
  auto alaw = NegotiateOffer(kAsteriskOffer, alaw_first);
  ASSERT_TRUE(alaw.ok());
  EXPECT_EQ(alaw->audio.codec, Codec::kPcma);
  EXPECT_EQ(alaw->audio.payload_type, 8);
}

TEST(SdpNegotiatorTest, PtimeRules) {
  auto with_ptime = [](const std::string& codec_lines, const std::string& ptime) {
    return "v=0\r\no=- 1 1 IN IP4 10.1.1.1\r\ns=-\r\nc=IN IP4 10.1.1.1\r\nt=0 0\r\n" + codec_lines +
           ptime;
  };
  SipConfig opus_only;
  opus_only.codecs = {Codec::kOpus};
  opus_only.ptime_ms = 40;
  const std::string opus = "m=audio 4000 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n";
  // 30 ms is not an Opus frame size: our configured ptime instead.
  auto a = NegotiateOffer(with_ptime(opus, "a=ptime:30\r\n"), opus_only);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->ptime_ms, 40);
  auto b = NegotiateOffer(with_ptime(opus, "a=ptime:60\r\n"), opus_only);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->ptime_ms, 60);
  // Absurd values fall back too.
  auto c = NegotiateOffer(with_ptime("m=audio 4000 RTP/AVP 0\r\n", "a=ptime:7\r\n"), Config());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->ptime_ms, 20);
  auto d = NegotiateOffer(with_ptime("m=audio 4000 RTP/AVP 0\r\n", "a=ptime:abc\r\n"), Config());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->ptime_ms, 20);
}

TEST(SdpNegotiatorTest, MediaLevelConnectionWins) {
  std::string offer =
      "v=0\r\no=- 1 1 IN IP4 10.1.1.1\r\ns=-\r\nc=IN IP4 10.1.1.1\r\nt=0 0\r\n"
      "m=audio 4000 RTP/AVP 0\r\nc=IN IP4 10.2.2.2\r\n";
  auto media = NegotiateOffer(offer, Config());
  ASSERT_TRUE(media.ok()) << media.status().ToString();
  EXPECT_EQ(media->remote_address, "10.2.2.2");

  std::string media_only =
      "v=0\r\no=- 1 1 IN IP4 10.1.1.1\r\ns=-\r\nt=0 0\r\n"
      "m=audio 4000 RTP/AVP 0\r\nc=IN IP4 10.3.3.3\r\n";
  auto m2 = NegotiateOffer(media_only, Config());
  ASSERT_TRUE(m2.ok()) << m2.status().ToString();
  EXPECT_EQ(m2->remote_address, "10.3.3.3");
}

TEST(SdpNegotiatorTest, Ipv6AndRtcpAttributeWithAddress) {
  std::string offer =
      "v=0\r\no=- 1 1 IN IP6 2001:db8::1\r\ns=-\r\nc=IN IP6 2001:db8::1\r\nt=0 0\r\n"
      "m=audio 4000 RTP/AVP 8\r\na=rtcp:5555 IN IP6 2001:db8::1\r\n";
  auto media = NegotiateOffer(offer, Config());
  ASSERT_TRUE(media.ok()) << media.status().ToString();
  EXPECT_EQ(media->remote_address, "2001:db8::1");
  EXPECT_EQ(media->remote_rtcp_port, 5555);
}

TEST(SdpNegotiatorTest, DirectionIsMirrored) {
  auto offer = [](const std::string& conn, const std::string& attr) {
    return "v=0\r\no=- 1 1 IN IP4 10.1.1.1\r\ns=-\r\nc=IN IP4 " + conn +
           "\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n" + attr;
  };
  auto dir = [&](const std::string& conn, const std::string& attr) {
    auto m = NegotiateOffer(offer(conn, attr), Config());
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? m->direction : MediaDirection::kSendRecv;
  };
  EXPECT_EQ(dir("10.1.1.1", "a=sendonly\r\n"), MediaDirection::kRecvOnly);
  EXPECT_EQ(dir("10.1.1.1", "a=recvonly\r\n"), MediaDirection::kSendOnly);
  EXPECT_EQ(dir("10.1.1.1", "a=inactive\r\n"), MediaDirection::kInactive);
  EXPECT_EQ(dir("10.1.1.1", ""), MediaDirection::kSendRecv);
  // RFC 2543 hold: c=0.0.0.0.
  EXPECT_EQ(dir("0.0.0.0", ""), MediaDirection::kRecvOnly);
}

TEST(SdpNegotiatorTest, VideoOnlyIsUnsupported) {
  std::string offer =
      "v=0\r\no=- 1 1 IN IP4 10.1.1.1\r\ns=-\r\nc=IN IP4 10.1.1.1\r\nt=0 0\r\n"
      "m=video 5004 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n";
  auto media = NegotiateOffer(offer, Config());
  ASSERT_FALSE(media.ok());
  EXPECT_EQ(media.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(media.status().message().find("no audio"), std::string::npos);
}

TEST(SdpNegotiatorTest, AudioOnPortZeroIsUnsupported) {
  std::string offer =
      "v=0\r\no=- 1 1 IN IP4 10.1.1.1\r\ns=-\r\nc=IN IP4 10.1.1.1\r\nt=0 0\r\n"
      "m=audio 0 RTP/AVP 0\r\n";
  auto media = NegotiateOffer(offer, Config());
  ASSERT_FALSE(media.ok());
  EXPECT_EQ(media.status().code(), StatusCode::kUnsupported);
}

TEST(SdpNegotiatorTest, SrtpOnlyIsUnsupported) {
  std::string offer =
      "v=0\r\no=- 1 1 IN IP4 10.1.1.1\r\ns=-\r\nc=IN IP4 10.1.1.1\r\nt=0 0\r\n"
      "m=audio 4000 RTP/SAVP 0\r\n"
      "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n";
  auto media = NegotiateOffer(offer, Config());
  ASSERT_FALSE(media.ok());
  EXPECT_EQ(media.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(media.status().message().find("SRTP"), std::string::npos);
}

TEST(SdpNegotiatorTest, NoCommonCodecNamesWhatWasOffered) {
  std::string offer =
      "v=0\r\no=- 1 1 IN IP4 10.1.1.1\r\ns=-\r\nc=IN IP4 10.1.1.1\r\nt=0 0\r\n"
      "m=audio 4000 RTP/AVP 9 18 101\r\na=rtpmap:9 G722/8000\r\na=rtpmap:18 G729/8000\r\n"
      "a=rtpmap:101 telephone-event/8000\r\n";
  auto media = NegotiateOffer(offer, Config());
  ASSERT_FALSE(media.ok());
  EXPECT_EQ(media.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(media.status().message().find("G729"), std::string::npos) << media.status().message();

  // Opus offered but we only take G.711.
  SipConfig g711;
  g711.codecs = {Codec::kPcmu, Codec::kPcma};
  std::string opus =
      "v=0\r\no=- 1 1 IN IP4 10.1.1.1\r\ns=-\r\nc=IN IP4 10.1.1.1\r\nt=0 0\r\n"
      "m=audio 4000 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n";
  EXPECT_EQ(NegotiateOffer(opus, g711).status().code(), StatusCode::kUnsupported);
}

TEST(SdpNegotiatorTest, GarbageIsInvalidArgumentWithAReason) {
  for (std::string bad : {std::string("hello"), std::string("v=0\r\no=- 1 1 IN IP4"),
                          std::string("v=0\r\no=- 1 1 IN IP4 10.1.1.1\r\ns=-\r\nc=IN IP4 "
                                      "10.1.1.1\r\nt=0 0\r\nm=audio"),
                          std::string("\x00\x01\x02", 3), std::string(5000, 'v')}) {
    auto media = NegotiateOffer(bad, Config());
    ASSERT_FALSE(media.ok()) << bad;
    EXPECT_EQ(media.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(media.status().message().find("malformed SDP"), std::string::npos)
        << media.status().message();
  }
  EXPECT_EQ(NegotiateOffer("", Config()).status().code(), StatusCode::kInvalidArgument);
}

TEST(SdpNegotiatorTest, FormatListsThatHangSofiasParserAreRefused) {
  // sofia-sip 1.12.11 allocates without end on these (found by fuzz/telephony/sdp_fuzz.cc);
  // NegotiateOffer must refuse them before sofia sees them.
  for (std::string media :
       {"m=video 9 X ,", "m=audio 1 RT\xb7\xb7", "m=audio 1 UDP (x)", "m=image 9 udptl /t38",
        "m=text 9 TCP \"a\"", "m=audio 1$\t\t", "m=video 9 X \t", "m=video 9 X a,,b"}) {
    std::string offer =
        "v=0\r\no=- 1 1 IN IP4 10.1.1.1\r\ns=-\r\nc=IN IP4 10.1.1.1\r\nt=0 0\r\n"
        "m=audio 4000 RTP/AVP 0\r\n" +
        media + "\r\n";
    auto result = NegotiateOffer(offer, Config());
    ASSERT_FALSE(result.ok()) << media;
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument) << media;
  }
  // Slashes inside a word stay fine, as in "RTP/AVP" and "49170/2".
  std::string offer =
      "v=0\r\no=- 1 1 IN IP4 10.1.1.1\r\ns=-\r\nc=IN IP4 10.1.1.1\r\nt=0 0\r\n"
      "m=audio 4000/2 RTP/AVP 0\r\nm=image 9 udptl t38\r\n";
  EXPECT_TRUE(NegotiateOffer(offer, Config()).ok());
  // Extra spaces, as some phones send them, are fine too.
  std::string spaces =
      "v=0\r\no=- 1 1 IN IP4 10.1.1.1\r\ns=-\r\nc=IN IP4 10.1.1.1\r\nt=0 0\r\n"
      "m=audio  4000 RTP/AVP 0 8 \r\nm=image 9 udptl  t38  \r\n";
  auto media = NegotiateOffer(spaces, Config());
  ASSERT_TRUE(media.ok()) << media.status().ToString();
  EXPECT_EQ(media->remote_rtp_port, 4000);
}

TEST(SdpNegotiatorTest, TruncatedOffersNeverCrash) {
  // Every prefix of a real offer either negotiates or fails cleanly.
  std::string full = kBaresipOffer;
  int ok = 0;
  for (size_t n = 0; n <= full.size(); ++n) {
    auto media = NegotiateOffer(std::string_view(full).substr(0, n), Config());
    if (media.ok()) {
      ++ok;
      EXPECT_EQ(media->remote_rtp_port, 10886);
    } else {
      EXPECT_TRUE(media.status().code() == StatusCode::kInvalidArgument ||
                  media.status().code() == StatusCode::kUnsupported)
          << media.status().ToString();
    }
  }
  EXPECT_GT(ok, 0);
}

TEST(SdpNegotiatorTest, RandomBytesNeverCrash) {
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string bytes(rng() % 300, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng());
    if (i % 2 == 0) bytes = std::string(kSippOffer).substr(0, rng() % 60) + bytes;
    auto media = NegotiateOffer(bytes, Config());
    if (!media.ok()) {
      EXPECT_NE(media.status().code(), StatusCode::kInternal);
    }
  }
}

TEST(SdpNegotiatorTest, AnswerForPcmu) {
  auto media = NegotiateOffer(kAsteriskOffer, Config());
  ASSERT_TRUE(media.ok());
  std::string answer = BuildAnswer(*media, {"192.0.2.10", 40000}, 42, 1);
  EXPECT_EQ(answer,
            "v=0\r\n"
            "o=voxgate 42 1 IN IP4 192.0.2.10\r\n"
            "s=voxgate\r\n"
            "c=IN IP4 192.0.2.10\r\n"
            "t=0 0\r\n"
            "m=audio 40000 RTP/AVP 0 101\r\n"
            "a=rtpmap:0 PCMU/8000\r\n"
            "a=rtpmap:101 telephone-event/8000\r\n"
            "a=fmtp:101 0-16\r\n"
            "a=ptime:30\r\n"
            "a=sendrecv\r\n");
}

TEST(SdpNegotiatorTest, AnswerForOpusRoundTrips) {
  SipConfig config;
  config.codecs = {Codec::kOpus};
  auto media = NegotiateOffer(kBaresipOffer, config);
  ASSERT_TRUE(media.ok());
  std::string answer = BuildAnswer(*media, {"192.0.2.10", 40000}, 42, 1);
  EXPECT_NE(answer.find("m=audio 40000 RTP/AVP 111 101\r\n"), std::string::npos) << answer;
  EXPECT_NE(answer.find("a=rtpmap:111 opus/48000/2\r\n"), std::string::npos);
  EXPECT_NE(answer.find("a=fmtp:111 useinbandfec=1; minptime=10\r\n"), std::string::npos);
  EXPECT_NE(answer.find("a=rtpmap:101 telephone-event/48000\r\n"), std::string::npos);
  // Our answer is itself valid SDP that negotiates to the same thing.
  auto back = NegotiateOffer(answer, config);
  ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << answer;
  EXPECT_EQ(back->audio.codec, Codec::kOpus);
  EXPECT_EQ(back->audio.payload_type, 111);
  EXPECT_EQ(back->telephone_event_pt, 101);
  EXPECT_EQ(back->remote_address, "192.0.2.10");
  EXPECT_EQ(back->remote_rtp_port, 40000);
}

TEST(SdpNegotiatorTest, AnswerRejectsOtherStreamsInOrderAndMirrorsDirection) {
  std::string offer =
      "v=0\r\no=- 1 1 IN IP4 10.1.1.1\r\ns=-\r\nc=IN IP4 10.1.1.1\r\nt=0 0\r\n"
      "m=video 5004 RTP/AVP 96 97\r\na=rtpmap:96 H264/90000\r\na=rtpmap:97 VP8/90000\r\n"
      "m=audio 4000 RTP/AVP 8\r\na=sendonly\r\n"
      "m=audio 4002 RTP/AVP 0\r\n"
      "m=application 5006 UDP/BFCP *\r\n";
  auto media = NegotiateOffer(offer, Config());
  ASSERT_TRUE(media.ok()) << media.status().ToString();
  EXPECT_EQ(media->remote_rtp_port, 4000);
  EXPECT_EQ(media->audio.codec, Codec::kPcma);
  ASSERT_EQ(media->answer_media_lines.size(), 4u);
  std::string answer = BuildAnswer(*media, {"2001:db8::5", 40000}, 7, 3);
  size_t video = answer.find("m=video 0 RTP/AVP 96 97\r\n");
  size_t audio = answer.find("m=audio 40000 RTP/AVP 8\r\n");
  size_t audio2 = answer.find("m=audio 0 RTP/AVP 0\r\n");
  size_t app = answer.find("m=application 0 UDP/BFCP *\r\n");
  ASSERT_NE(video, std::string::npos) << answer;
  ASSERT_NE(audio, std::string::npos) << answer;
  ASSERT_NE(audio2, std::string::npos) << answer;
  ASSERT_NE(app, std::string::npos) << answer;
  EXPECT_LT(video, audio);
  EXPECT_LT(audio, audio2);
  EXPECT_LT(audio2, app);
  EXPECT_NE(answer.find("c=IN IP6 2001:db8::5\r\n"), std::string::npos);
  EXPECT_NE(answer.find("a=recvonly\r\n"), std::string::npos);
  // Still parseable, and the audio stream is where the offer had it.
  auto back = NegotiateOffer(answer, Config());
  ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << answer;
  EXPECT_EQ(back->remote_rtp_port, 40000);
  EXPECT_EQ(back->direction, MediaDirection::kSendOnly);
}

TEST(SdpNegotiatorTest, RejectedSrtpStreamWithoutFormatsParsesBack) {
  // Found by sdp_fuzz: an RTP/SAVP line without formats was answered "m=audio 0 RTP/SAVP *",
  // which is not valid SDP for an RTP profile, so our own answer did not parse.
  std::string offer =
      "v=0\r\no=- 1 1 IN IP4 10.1.1.1\r\ns=-\r\nc=IN IP4 10.1.1.1\r\nt=0 0\r\n"
      "m=audio 4000 RTP/AVP 0\r\n"
      "m=audio 4002 RTP/SAVP\r\n";
  auto media = NegotiateOffer(offer, Config());
  ASSERT_TRUE(media.ok()) << media.status().ToString();
  std::string answer = BuildAnswer(*media, {"192.0.2.1", 40000}, 7, 3);
  EXPECT_NE(answer.find("m=audio 0 RTP/SAVP 0\r\n"), std::string::npos) << answer;
  auto back = NegotiateOffer(answer, Config());
  ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << answer;
  EXPECT_EQ(back->answer_media_lines.size(), media->answer_media_lines.size());
}

}  // namespace
}  // namespace voxgate::telephony
