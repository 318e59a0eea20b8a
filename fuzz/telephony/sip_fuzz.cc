// libFuzzer: sofia-sip's SIP message parser over arbitrary bytes, fed the way its transport
// (tport) feeds what the SIP agent receives: a UDP datagram committed whole, or a TCP stream in
// chunks, parsed with msg_extract() and split into messages with msg_next(). Each message that
// parses goes where nta and the agent take it: sip_sanity_check(), re-encoding (msg_dup,
// msg_serialize, msg_prepare, as when headers are copied into a response) and, for an INVITE body,
// the SDP negotiation. The first input byte picks datagram or stream mode and the stream chunk
// size.
#include <sofia-sip/msg.h>
#include <sofia-sip/msg_addr.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_util.h>
#include <sofia-sip/su.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "telephony/sdp_negotiator.h"

namespace {

constexpr usize_t kMaxMessageBytes = 65536;

msg_t* NewMessage() {
  msg_t* msg = msg_create(sip_default_mclass(), MSG_DO_EXTRACT_COPY);
  if (msg != nullptr) msg_maxsize(msg, kMaxMessageBytes);
  return msg;
}

// Copies `len` bytes into the message's receive buffer and commits them.
bool Receive(msg_t* msg, const uint8_t* data, size_t len, bool exact, bool eos) {
  if (len == 0) {
    msg_recv_commit(msg, 0, eos);
    return true;
  }
  msg_iovec_t iov[msg_n_fragments] = {};
  issize_t veclen = msg_recv_iovec(msg, iov, msg_n_fragments, len, exact);
  if (veclen < 0) return false;
  size_t done = 0;
  for (issize_t i = 0; i < veclen && done < len; ++i) {
    size_t n = std::min<size_t>(iov[i].mv_len, len - done);
    std::memcpy(iov[i].mv_base, data + done, n);
    done += n;
  }
  msg_recv_commit(msg, done, eos);
  return true;
}

// What the stack does with a delivered message.
void Deliver(msg_t* msg) {
  if (msg_has_error(msg)) return;
  sip_t* sip = sip_object(msg);
  if (sip == nullptr || (sip->sip_request == nullptr && sip->sip_status == nullptr)) return;
  if (sip_sanity_check(sip) < 0) return;
  if (msg_t* copy = msg_dup(msg)) {
    if (msg_serialize(copy, msg_object(copy)) == 0) msg_prepare(copy);
    msg_destroy(copy);
  }
  if (sip->sip_request != nullptr && sip->sip_request->rq_method == sip_method_invite &&
      sip->sip_payload != nullptr && sip->sip_payload->pl_data != nullptr) {
    static const voxgate::telephony::SipConfig config;
    (void)voxgate::telephony::NegotiateOffer(
        std::string_view(sip->sip_payload->pl_data, sip->sip_payload->pl_len), config);
  }
}

// tport_parse(): extract messages until one is incomplete; a stream continues in msg_next().
// Returns the message still waiting for bytes, or null (all consumed, or a fatal error).
msg_t* Parse(msg_t* msg, bool stream, bool complete, bool* failed) {
  while (msg != nullptr) {
    int n = msg_extract(msg);
    if (n == 0) {
      if (!complete) return msg;
      msg_mark_as_complete(msg, MSG_FLG_ERROR);
      n = -1;
    }
    msg_t* next = (n > 0 && stream) ? msg_next(msg) : nullptr;
    Deliver(msg);
    msg_destroy(msg);
    if (n < 0) {
      *failed = true;  // tport stops reading a stream after an error
      if (next != nullptr) msg_destroy(next);
      return nullptr;
    }
    msg = next;
  }
  return nullptr;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool stream = (data[0] & 1) != 0;
  const size_t chunk = 1 + (data[0] >> 1);  // 1..128 bytes per read
  data += 1;
  size -= 1;

  if (!stream) {
    msg_t* msg = NewMessage();
    if (msg == nullptr) return 0;
    if (!Receive(msg, data, size, true, true)) {
      msg_destroy(msg);
      return 0;
    }
    bool failed = false;
    msg = Parse(msg, false, true, &failed);
    if (msg != nullptr) msg_destroy(msg);
    return 0;
  }

  msg_t* pending = nullptr;
  bool failed = false;
  size_t offset = 0;
  while (!failed) {
    const bool eos = offset >= size;
    const size_t len = eos ? 0 : std::min(chunk, size - offset);
    if (pending == nullptr) {
      if (eos) break;
      pending = NewMessage();
      if (pending == nullptr) return 0;
    }
    if (!Receive(pending, data + offset, len, false, eos)) {
      msg_destroy(pending);
      pending = nullptr;
      break;
    }
    offset += len;
    pending = Parse(pending, true, eos, &failed);
    if (eos) break;
  }
  if (pending != nullptr) msg_destroy(pending);
  return 0;
}
