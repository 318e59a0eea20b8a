#include "telephony/jitter_buffer.h"

#include <speex/speex_jitter.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <sstream>
#include <vector>

namespace voxgate::telephony {
namespace {

// libspeexdsp/jitter.c holds at most SPEEX_JITTER_MAX_BUFFER_SIZE (200) packets and, when full,
// drops its oldest. Staying below that leaves room for the late packets it keeps until the next
// put and makes overflow our decision alone.
constexpr size_t kMaxPacketsLimit = 190;
// jitter.c: once more than 20 consecutive get() calls found nothing, the next put() resets the
// buffer and resynchronises on that packet (the sender jumped or paused).
constexpr int kSpeexLostBeforeReset = 20;
// Delay (timestamp units) that one percent of late packets is worth to speexdsp's delay choice:
// far more than the largest delay it considers (32767), so it never trades late packets for delay.
constexpr spx_int32_t kLateCost = 1 << 20;
// Room before each slot's payload for the back-pointer the destroy callback needs.
constexpr size_t kSlotHeaderBytes = 16;

bool SerialLe(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) <= 0; }

}  // namespace

// ---------------------------------------------------------------------------------------------
// JitterBufferConfig

Status JitterBufferConfig::Validate() const {
  if (frame_ms < 1 || frame_ms > 120) {
    return InvalidArgumentError("jitter_buffer.frame_ms must be in [1, 120], got " +
                                std::to_string(frame_ms));
  }
  if (min_delay_ms < 0 || min_delay_ms > 2000) {
    return InvalidArgumentError("jitter_buffer.min_delay_ms must be in [0, 2000], got " +
                                std::to_string(min_delay_ms));
  }
  if (max_delay_ms < min_delay_ms + frame_ms || max_delay_ms > 5000) {
    return InvalidArgumentError(
        "jitter_buffer.max_delay_ms must be in [min_delay_ms + frame_ms, 5000], got " +
        std::to_string(max_delay_ms));
  }
  if (max_packets < 1 || max_packets > kMaxPacketsLimit) {
    return InvalidArgumentError("jitter_buffer.max_packets must be in [1, 190], got " +
                                std::to_string(max_packets));
  }
  if (max_payload_bytes < 1 || max_payload_bytes > 65535) {
    return InvalidArgumentError("jitter_buffer.max_payload_bytes must be in [1, 65535], got " +
                                std::to_string(max_payload_bytes));
  }
  return Status::Ok();
}

std::string JitterBufferConfig::ToString() const {
  std::ostringstream os;
  os << "JitterBufferConfig(frame_ms=" << frame_ms << ", min_delay_ms=" << min_delay_ms
     << ", max_delay_ms=" << max_delay_ms << ", max_packets=" << max_packets
     << ", max_payload_bytes=" << max_payload_bytes << ")";
  return os.str();
}

Status JitterBufferConfig::Load(const ConfigNode& node) {
  VOXGATE_RETURN_IF_ERROR(node.Get("frame_ms", &frame_ms));
  VOXGATE_RETURN_IF_ERROR(node.Get("min_delay_ms", &min_delay_ms));
  VOXGATE_RETURN_IF_ERROR(node.Get("max_delay_ms", &max_delay_ms));
  int64_t packets = static_cast<int64_t>(max_packets);
  VOXGATE_RETURN_IF_ERROR(node.Get("max_packets", &packets));
  int64_t payload = static_cast<int64_t>(max_payload_bytes);
  VOXGATE_RETURN_IF_ERROR(node.Get("max_payload_bytes", &payload));
  if (packets < 0 || payload < 0) {
    return InvalidArgumentError(node.path() + ": max_packets and max_payload_bytes must be >= 0");
  }
  max_packets = static_cast<size_t>(packets);
  max_payload_bytes = static_cast<size_t>(payload);
  return Validate();
}

// ---------------------------------------------------------------------------------------------
// JitterBuffer

struct JitterBuffer::Impl {
  struct SlotHeader {
    Impl* owner;
    size_t index;
  };
  struct SlotMeta {
    bool in_use = false;   // handed to speexdsp and not yet returned or released
    bool skipped = false;  // passed over by the playout pointer (counted in shrink_drops)
    uint32_t timestamp = 0;
  };

  explicit Impl(const JitterBufferConfig& c)
      : config(c),
        stride((kSlotHeaderBytes + c.max_payload_bytes + 15) / 16 * 16),
        sink(c.max_packets),
        arena((c.max_packets + 1) * stride),
        meta(c.max_packets) {
    static_assert(sizeof(SlotHeader) <= kSlotHeaderBytes);
    for (size_t i = 0; i <= c.max_packets; ++i) {
      new (arena.data() + i * stride) SlotHeader{this, i};
    }
  }

  ~Impl() {
    if (jb != nullptr) jitter_buffer_destroy(jb);  // releases our slots through Destroy()
  }

  // speexdsp's destroy callback: it no longer references this payload.
  static void Destroy(void* data) {
    auto* header = reinterpret_cast<SlotHeader*>(static_cast<uint8_t*>(data) - kSlotHeaderBytes);
    if (header->index < header->owner->meta.size()) {
      header->owner->meta[header->index].in_use = false;
    }
  }

  uint8_t* SlotData(size_t i) { return arena.data() + i * stride + kSlotHeaderBytes; }

  // The slot a pointer returned by speexdsp belongs to; -1 if it is not one of ours.
  int64_t SlotOf(const void* data) const {
    if (data == nullptr) return -1;
    const auto* p = static_cast<const uint8_t*>(data);
    if (p < arena.data() + kSlotHeaderBytes || p >= arena.data() + arena.size()) return -1;
    const size_t offset = static_cast<size_t>(p - arena.data()) - kSlotHeaderBytes;
    if (offset % stride != 0) return -1;
    return static_cast<int64_t>(offset / stride);
  }

  uint32_t Pointer() const {
    return static_cast<uint32_t>(jitter_buffer_get_pointer_timestamp(jb));
  }

  // Audio (timestamp units) queued from `pointer` to the end of the newest held packet.
  int32_t QueuedUnits(uint32_t pointer) const {
    int32_t queued = 0;
    for (const SlotMeta& m : meta) {
      if (m.in_use) queued = std::max(queued, static_cast<int32_t>(m.timestamp + step - pointer));
    }
    return queued;
  }

  Status Configure(int rate_hz) {
    if (jb != nullptr) {
      jitter_buffer_destroy(jb);
      jb = nullptr;
    }
    clock_rate_hz = rate_hz;
    step = static_cast<int32_t>(static_cast<int64_t>(config.frame_ms) * rate_hz / 1000);
    fill_ticks = (config.min_delay_ms + config.frame_ms - 1) / config.frame_ms;
    margin_units = fill_ticks * step;
    max_units = static_cast<int32_t>(static_cast<int64_t>(config.max_delay_ms) * rate_hz / 1000);
    late_report_limit = max_units - margin_units;
    jb = jitter_buffer_init(step);
    if (jb == nullptr) return InternalError("jitter_buffer_init failed");
    // Installing a destroy callback makes speexdsp keep our pointers instead of malloc'ed copies.
    jitter_buffer_ctl(jb, JITTER_BUFFER_SET_DESTROY_CALLBACK, reinterpret_cast<void*>(&Destroy));
    spx_int32_t margin = margin_units;
    jitter_buffer_ctl(jb, JITTER_BUFFER_SET_MARGIN, &margin);
    spx_int32_t unit = step;
    jitter_buffer_ctl(jb, JITTER_BUFFER_SET_DELAY_STEP, &unit);
    jitter_buffer_ctl(jb, JITTER_BUFFER_SET_CONCEALMENT_SIZE, &unit);
    // speexdsp weighs delay against late packets; by default it accepts a few percent late
    // packets and shrinks the delay by skipping received frames. Speech is what this gateway
    // analyses, so a late packet is made to cost more than any delay: the buffer covers every
    // packet of its ~20 s window (up to max_delay_ms) and shrinks only once all of them would
    // have been on time with less.
    spx_int32_t late_cost = kLateCost;
    jitter_buffer_ctl(jb, JITTER_BUFFER_SET_LATE_COST, &late_cost);
    RestartPlayout(/*keep_started=*/false);
    return Status::Ok();
  }

  // Forgets the playout position; with keep_started the caller has heard audio already, so the
  // refill reports kMissing rather than kNothing.
  void RestartPlayout(bool keep_started) {
    synced = false;
    started = false;
    if (!keep_started) {
      ever_started = false;
      have_packet = false;
    }
    fill_done = 0;
    lost = 0;
    pending_ticks = 0;
    queued_units = 0;
  }

  // More than max_delay_ms queued (a burst, e.g. the first second of a stream arriving at once):
  // drop frames at the head until within bounds. Runs after the tick, so the next Get() plays
  // the new head; speexdsp sees these as frames played in the same tick.
  void TrimToMaxDelay() {
    for (;;) {
      const uint32_t pointer = Pointer();
      if (QueuedUnits(pointer) <= max_units) return;
      bool at_head = false;
      for (const auto& m : meta) at_head |= m.in_use && m.timestamp == pointer;
      if (!at_head) return;  // a gap at the head: the next Get() plays it as missing
      JitterBufferPacket pkt{};
      spx_int32_t offset = 0;
      const int rc = jitter_buffer_get(jb, &pkt, step, &offset);
      if (rc == JITTER_BUFFER_OK) {
        const int64_t slot = SlotOf(pkt.data);
        if (slot >= 0 && static_cast<size_t>(slot) < meta.size()) {
          meta[static_cast<size_t>(slot)].in_use = false;
        }
        lost = 0;
        ++stats.overflow_drops;
      } else if (rc != JITTER_BUFFER_INSERTION) {  // an insertion here is simply not played
        return;
      }
    }
  }

  // jitter_buffer_tick() may move the playout pointer forward over queued packets to shrink the
  // delay; they stay held (and are released by the next put) but will never play.
  void CountSkipped() {
    const uint32_t pointer = Pointer();
    for (SlotMeta& m : meta) {
      if (m.in_use && !m.skipped && SerialLe(m.timestamp + step, pointer)) {
        m.skipped = true;
        ++stats.shrink_drops;
      }
    }
  }

  void Put(int64_t slot, size_t len, uint32_t ts, uint16_t seq) {
    JitterBufferPacket pkt{};
    pkt.data = reinterpret_cast<char*>(SlotData(static_cast<size_t>(slot)));
    pkt.len = static_cast<spx_uint32_t>(len);
    pkt.timestamp = ts;
    pkt.span = static_cast<spx_uint32_t>(step);
    pkt.sequence = seq;
    jitter_buffer_put(jb, &pkt);
  }

  JitterBufferConfig config;
  size_t stride;
  size_t sink;  // the slot late packets point at: speexdsp never plays them
  std::vector<uint8_t> arena;
  std::vector<SlotMeta> meta;
  ::JitterBuffer* jb = nullptr;

  int clock_rate_hz = 0;
  int32_t step = 0;  // frame in timestamp units
  int fill_ticks = 0;
  int32_t margin_units = 0;
  int32_t max_units = 0;
  int32_t late_report_limit = 0;

  bool have_packet = false;   // a packet was queued since the (re)start
  bool started = false;       // playout running
  bool ever_started = false;  // playout ran since creation or Reset()
  bool synced = false;        // speexdsp has a playout pointer
  int fill_done = 0;
  int lost = 0;  // mirror of jitter.c's lost_count
  int pending_ticks = 0;
  uint32_t pending_ts = 0;
  int32_t queued_units = 0;
  Stats stats;
};

Result<std::unique_ptr<JitterBuffer>> JitterBuffer::Create(const JitterBufferConfig& config) {
  VOXGATE_RETURN_IF_ERROR(config.Validate());
  return std::unique_ptr<JitterBuffer>(new JitterBuffer(std::make_unique<Impl>(config)));
}

JitterBuffer::JitterBuffer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JitterBuffer::~JitterBuffer() = default;

JitterBuffer::PutResult JitterBuffer::Put(std::span<const uint8_t> payload, uint32_t rtp_ts,
                                          int clock_rate_hz, uint16_t sequence) {
  Impl& s = *impl_;
  if (payload.empty() || payload.size() > s.config.max_payload_bytes || clock_rate_hz < 1000 ||
      clock_rate_hz > 384000 ||
      static_cast<int64_t>(clock_rate_hz) * s.config.frame_ms % 1000 != 0) {
    ++s.stats.invalid;
    return PutResult::kInvalid;
  }
  if (clock_rate_hz != s.clock_rate_hz) {
    if (s.jb != nullptr) ++s.stats.resyncs;
    if (!s.Configure(clock_rate_hz).ok()) {
      ++s.stats.invalid;
      return PutResult::kInvalid;
    }
  }
  ++s.stats.received;

  const bool reset_expected = s.synced && s.lost > kSpeexLostBeforeReset;
  const uint32_t pointer = s.synced ? s.Pointer() : 0;
  if (s.synced && !reset_expected && SerialLe(rtp_ts + s.step, pointer)) {
    ++s.stats.late;
    // speexdsp learns from late packets how much more delay it needs; one later than the delay
    // we allow would only push it past max_delay_ms, so it is not told about that one.
    if (static_cast<int32_t>(pointer - rtp_ts) <= s.late_report_limit) {
      s.Put(static_cast<int64_t>(s.sink), payload.size(), rtp_ts, sequence);
    }
    return PutResult::kLate;
  }
  int64_t slot = -1;
  for (size_t i = 0; i < s.meta.size(); ++i) {
    if (!s.meta[i].in_use) {
      if (slot < 0) slot = static_cast<int64_t>(i);
    } else if (s.meta[i].timestamp == rtp_ts) {
      ++s.stats.duplicates;
      return PutResult::kDuplicate;
    }
  }
  if (slot < 0 && s.synced) {
    if (reset_expected) {
      slot = 0;  // the reset inside jitter_buffer_put() releases every slot first
    } else {
      // A packet speexdsp skipped (when it shrank the delay) is released by jitter_buffer_put()
      // before it stores the new one, so its slot can take the new payload.
      for (size_t i = 0; i < s.meta.size() && slot < 0; ++i) {
        if (SerialLe(s.meta[i].timestamp + s.step, pointer)) slot = static_cast<int64_t>(i);
      }
    }
  }
  if (slot < 0) {
    ++s.stats.overflow_drops;
    return PutResult::kOverflow;
  }
  std::memcpy(s.SlotData(static_cast<size_t>(slot)), payload.data(), payload.size());
  s.Put(slot, payload.size(), rtp_ts, sequence);
  s.meta[static_cast<size_t>(slot)] = {true, false, rtp_ts};
  s.have_packet = true;
  // jitter_buffer_put() only moves the playout pointer when it resets (pointer back to 0).
  if (reset_expected || (s.synced && s.Pointer() != pointer)) {
    ++s.stats.resyncs;
    s.RestartPlayout(/*keep_started=*/true);
    s.have_packet = true;
  }
  return PutResult::kQueued;
}

JitterBuffer::GetResult JitterBuffer::Get(std::span<uint8_t> out) {
  Impl& s = *impl_;
  GetResult r;
  if (s.jb == nullptr || !s.have_packet) {
    if (s.ever_started) {
      r.status = GetStatus::kMissing;
      ++s.stats.missing;
    }
    return r;
  }
  if (!s.started) {
    if (s.fill_done < s.fill_ticks) {
      ++s.fill_done;
      if (s.ever_started) {
        r.status = GetStatus::kMissing;
        ++s.stats.missing;
      }
      return r;
    }
    s.started = s.ever_started = true;
  }

  if (s.pending_ticks > 0) {
    // The rest of a multi-frame insertion: tell speexdsp how much of it is still to play.
    --s.pending_ticks;
    jitter_buffer_remaining_span(s.jb, static_cast<spx_uint32_t>(s.pending_ticks * s.step));
    r.status = GetStatus::kMissing;
    r.inserted = true;
    r.timestamp = s.pending_ts;
    ++s.stats.inserted;
    s.queued_units = s.QueuedUnits(s.Pointer());
    return r;
  }

  JitterBufferPacket pkt{};
  spx_int32_t offset = 0;
  pkt = {};
  const int rc = jitter_buffer_get(s.jb, &pkt, s.step, &offset);
  s.synced = true;
  r.status = GetStatus::kMissing;
  r.timestamp = pkt.timestamp;
  switch (rc) {
    case JITTER_BUFFER_OK: {
      s.lost = 0;
      const int64_t slot = s.SlotOf(pkt.data);
      const bool ours = slot >= 0 && static_cast<size_t>(slot) < s.meta.size();
      if (ours && pkt.len <= out.size()) {
        std::memcpy(out.data(), pkt.data, pkt.len);
        r.status = GetStatus::kPacket;
        r.length = pkt.len;
        r.sequence = pkt.sequence;
        ++s.stats.played;
      } else {
        ++s.stats.missing;  // a late packet's placeholder after a reset, or `out` too small
      }
      if (ours) s.meta[static_cast<size_t>(slot)].in_use = false;
      break;
    }
    case JITTER_BUFFER_INSERTION:
      // speexdsp wants more delay: play pkt.span of concealment without advancing. When that
      // came from a failed search (pointer not moved) it counts towards its lost_count.
      if (s.Pointer() == pkt.timestamp) ++s.lost;
      r.inserted = true;
      ++s.stats.inserted;
      s.pending_ticks = std::max<int>(0, static_cast<int>(pkt.span) / s.step - 1);
      s.pending_ts = pkt.timestamp;
      break;
    default:  // JITTER_BUFFER_MISSING
      ++s.lost;
      ++s.stats.missing;
      break;
  }
  jitter_buffer_tick(s.jb);
  s.CountSkipped();
  s.TrimToMaxDelay();
  s.queued_units = s.QueuedUnits(s.Pointer());
  return r;
}

void JitterBuffer::Reset() {
  Impl& s = *impl_;
  if (s.jb == nullptr) return;
  // A fresh speexdsp state: jitter_buffer_reset() keeps a pending insertion request.
  (void)s.Configure(s.clock_rate_hz);
}

JitterBuffer::Stats JitterBuffer::stats() const { return impl_->stats; }

int JitterBuffer::current_delay_ms() const {
  const Impl& s = *impl_;
  if (s.clock_rate_hz <= 0 || !s.started) return 0;
  return static_cast<int>(static_cast<int64_t>(s.queued_units) * 1000 / s.clock_rate_hz);
}

size_t JitterBuffer::queued_packets() const {
  size_t n = 0;
  for (const auto& m : impl_->meta) n += m.in_use ? 1 : 0;
  return n;
}

const JitterBufferConfig& JitterBuffer::config() const { return impl_->config; }

}  // namespace voxgate::telephony
