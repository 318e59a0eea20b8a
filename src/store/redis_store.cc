#include "store/redis_store.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "store/record_validation.h"

namespace voxgate::store {

namespace {

constexpr std::string_view kRecordMagic = "VXR1";
constexpr std::string_view kAuditMagic = "VXA1";
constexpr std::string_view kKeyCheckContext = "voxgate redis key check";
constexpr std::string_view kKeyCheckPlaintext = "voxgate key check v1";
constexpr int kMaxAttempts = 32;  // compare-and-set retries under contention on one user
constexpr size_t kFetchBatch = 256;

// Commits one record change: checks the version read by the caller is still current, then
// updates the record hash, the index zsets and the sample counter together.
// KEYS: record, index, old status zset, new status zset, sample counter.
// ARGV: expected version ("0": must not exist), encoded record ("" = delete), new version,
// created_at score, user id, sample count delta. Returns 1 done, 0 exists, -1 changed/gone.
constexpr const char* kCommitScript = R"lua(
local cur = redis.call('HGET', KEYS[1], 'version')
if ARGV[1] == '0' then
  if cur then return 0 end
elseif cur ~= ARGV[1] then
  return -1
end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[5])
  redis.call('ZREM', KEYS[3], ARGV[5])
else
  redis.call('HSET', KEYS[1], 'version', ARGV[3], 'record', ARGV[2])
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
  if KEYS[3] ~= KEYS[4] then redis.call('ZREM', KEYS[3], ARGV[5]) end
  redis.call('ZADD', KEYS[4], ARGV[4], ARGV[5])
end
redis.call('INCRBY', KEYS[5], ARGV[6])
return 1
)lua";

// KEYS: sequence, events hash, all zset, action zset, user zset (ARGV[2] == '1').
// ARGV: encoded event, has user. Returns the new id.
constexpr const char* kAuditScript = R"lua(
local id = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[2], id, ARGV[1])
redis.call('ZADD', KEYS[3], id, id)
redis.call('ZADD', KEYS[4], id, id)
if ARGV[2] == '1' then redis.call('ZADD', KEYS[5], id, id) end
return id
)lua";

// --- a small length-prefixed binary codec (values are read back by this code only) ----------

void PutU32(std::string& out, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out.append(b, 4);
}
void PutI64(std::string& out, int64_t v) {
  const auto u = static_cast<uint64_t>(v);
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>((u >> (8 * i)) & 0xff);
  out.append(b, 8);
}
void PutF64(std::string& out, double v) {
  int64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(bits));
  PutI64(out, bits);
}
void PutStr(std::string& out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool done() const { return in_.empty(); }
  uint32_t U32() {
    if (!Need(4)) return 0;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(in_[i])) << (8 * i);
    in_.remove_prefix(4);
    return v;
  }
  int64_t I64() {
    if (!Need(8)) return 0;
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(in_[i])) << (8 * i);
    in_.remove_prefix(8);
    return static_cast<int64_t>(v);
  }
  double F64() {
    const int64_t bits = I64();
    double v = 0;
    std::memcpy(&v, &bits, sizeof(v));
    return v;
  }
  std::string Str() {
    const uint32_t n = U32();
    if (!Need(n)) return {};
    std::string s(in_.substr(0, n));
    in_.remove_prefix(n);
    return s;
  }
  bool Magic(std::string_view magic) {
    if (!Need(magic.size()) || in_.substr(0, magic.size()) != magic) return ok_ = false;
    in_.remove_prefix(magic.size());
    return true;
  }

 private:
  bool Need(size_t n) {
    if (!ok_ || in_.size() < n) ok_ = false;
    return ok_;
  }
  std::string_view in_;
  bool ok_ = true;
};

std::string EncodeAudit(const AuditEvent& e) {
  std::string out(kAuditMagic);
  PutI64(out, e.ts_ms);
  PutStr(out, ToString(e.action));
  PutStr(out, e.user_id);
  PutStr(out, e.actor);
  PutStr(out, e.request_id);
  PutStr(out, e.detail);
  return out;
}

Result<AuditEvent> DecodeAudit(std::string_view value, int64_t id) {
  Reader r(value);
  AuditEvent e;
  e.id = id;
  r.Magic(kAuditMagic);
  e.ts_ms = r.I64();
  const std::string action = r.Str();
  e.user_id = r.Str();
  e.actor = r.Str();
  e.request_id = r.Str();
  e.detail = r.Str();
  auto parsed = ParseAuditAction(action);
  if (!r.ok() || !parsed.ok()) {
    return DataLossError("audit event " + std::to_string(id) + " is malformed in redis");
  }
  e.action = *parsed;
  return e;
}

Status NotFound(std::string_view user_id) {
  return NotFoundError("voiceprint " + std::string(user_id) + " not found");
}

std::string Itoa(int64_t v) { return std::to_string(v); }

}  // namespace

// A record as kept in Redis: samples carry metadata and dim; blobs[i] seals samples[i].
struct RedisStore::Stored {
  VoiceprintRecord record;
  std::vector<std::string> blobs;

  std::string Encode() const {
    std::string out(kRecordMagic);
    PutStr(out, record.user_id);
    PutStr(out, record.name);
    PutStr(out, ToString(record.status));
    PutStr(out, record.metadata);
    PutStr(out, record.model_id);
    PutI64(out, record.created_at_ms);
    PutI64(out, record.updated_at_ms);
    PutI64(out, record.version);
    PutU32(out, static_cast<uint32_t>(record.samples.size()));
    for (size_t i = 0; i < record.samples.size(); ++i) {
      const VoiceprintSample& s = record.samples[i];
      PutStr(out, s.sample_id);
      PutStr(out, s.model_id);
      PutF64(out, s.speech_s);
      PutI64(out, static_cast<int64_t>(s.dim));
      PutI64(out, s.created_at_ms);
      PutStr(out, blobs[i]);
    }
    // Added after the first format: one byte per sample, 1 = narrow-band. Records written
    // before it end at the samples and read as wideband.
    std::string flags;
    for (const VoiceprintSample& s : record.samples) flags.push_back(s.narrowband ? 1 : 0);
    PutStr(out, flags);
    return out;
  }

  static Result<Stored> Decode(std::string_view value) {
    Reader r(value);
    Stored st;
    VoiceprintRecord& rec = st.record;
    r.Magic(kRecordMagic);
    rec.user_id = r.Str();
    rec.name = r.Str();
    const std::string status = r.Str();
    rec.metadata = r.Str();
    rec.model_id = r.Str();
    rec.created_at_ms = r.I64();
    rec.updated_at_ms = r.I64();
    rec.version = r.I64();
    const uint32_t n = r.U32();
    // Each sample takes at least 36 bytes: a corrupt count cannot make us allocate much.
    if (!r.ok() || n > value.size() / 36) return DataLossError("malformed voiceprint in redis");
    for (uint32_t i = 0; i < n && r.ok(); ++i) {
      VoiceprintSample& s = rec.samples.emplace_back();
      s.sample_id = r.Str();
      s.model_id = r.Str();
      s.speech_s = r.F64();
      const int64_t dim = r.I64();
      s.dim =
          dim > 0 && dim <= static_cast<int64_t>(kMaxEmbeddingDim) ? static_cast<size_t>(dim) : 0;
      s.created_at_ms = r.I64();
      st.blobs.push_back(r.Str());
    }
    if (r.ok() && !r.done()) {
      const std::string flags = r.Str();
      if (flags.size() != n) return DataLossError("malformed voiceprint in redis (sample flags)");
      for (uint32_t i = 0; i < n; ++i) rec.samples[i].narrowband = flags[i] == 1;
    }
    auto parsed = ParseUserStatus(status);
    if (!r.ok() || !r.done() || !parsed.ok()) {
      return DataLossError("malformed voiceprint in redis" +
                           (rec.user_id.empty() ? "" : " (user " + rec.user_id + ")"));
    }
    rec.status = *parsed;
    return st;
  }

  Status Decrypt(const EmbeddingCipher& cipher, VoiceprintRecord& out) const {
    for (size_t i = 0; i < out.samples.size(); ++i) {
      VoiceprintSample& s = out.samples[i];
      VOXGATE_ASSIGN_OR_RETURN(s.embedding, cipher.Decrypt(blobs[i], out.user_id, s.sample_id));
      if (s.embedding.size() != s.dim) {
        return DataLossError("sample " + s.sample_id + " of user " + out.user_id +
                             " decrypted to the wrong size");
      }
    }
    return Status::Ok();
  }
};

Result<std::string> RedisStore::SealRecord(const VoiceprintRecord& record,
                                           const EmbeddingCipher& cipher) {
  Stored st;
  st.record = record;
  for (VoiceprintSample& s : st.record.samples) {
    VOXGATE_ASSIGN_OR_RETURN(std::string blob,
                             cipher.Encrypt(s.embedding, record.user_id, s.sample_id));
    st.blobs.push_back(std::move(blob));
    s.dim = s.embedding.size();
    s.embedding.clear();
  }
  return st.Encode();
}

Result<VoiceprintRecord> RedisStore::OpenRecord(std::string_view value,
                                                const EmbeddingCipher& cipher,
                                                bool with_embeddings) {
  VOXGATE_ASSIGN_OR_RETURN(Stored st, Stored::Decode(value));
  VoiceprintRecord out = st.record;
  if (with_embeddings) VOXGATE_RETURN_IF_ERROR(st.Decrypt(cipher, out));
  return out;
}

// ---------------------------------------------------------------------------------------------

RedisStore::RedisStore(StoreConfig config, std::shared_ptr<const EmbeddingCipher> cipher,
                       std::unique_ptr<RedisClient> client)
    : config_(std::move(config)),
      prefix_(config_.redis.key_prefix),
      cipher_(std::move(cipher)),
      client_(std::move(client)) {}

RedisStore::~RedisStore() = default;

Result<std::unique_ptr<RedisStore>> RedisStore::Open(
    const StoreConfig& config, std::shared_ptr<const EmbeddingCipher> cipher) {
  VOXGATE_RETURN_IF_ERROR(config.redis.Validate());
  if (cipher == nullptr) return InvalidArgumentError("RedisStore needs an EmbeddingCipher");
  RedisClientOptions o;
  o.url = config.redis.ResolvedUrl();
  o.pool_size = config.redis.pool_size;
  o.connect_timeout_ms = config.redis.connect_timeout_ms;
  o.command_timeout_ms = config.redis.command_timeout_ms;
  VOXGATE_ASSIGN_OR_RETURN(std::unique_ptr<RedisClient> client, RedisClient::Create(o));
  std::unique_ptr<RedisStore> store(new RedisStore(config, std::move(cipher), std::move(client)));
  VOXGATE_RETURN_IF_ERROR(store->CheckKey());
  return store;
}

Status RedisStore::CheckKey() {
  const std::string key = Key("meta:key_check");
  VOXGATE_ASSIGN_OR_RETURN(std::string sealed, cipher_->Seal(kKeyCheckPlaintext, kKeyCheckContext));
  // NX: the first node to open an empty database records its key; every later one checks.
  VOXGATE_ASSIGN_OR_RETURN(
      auto replies,
      client_->Pipeline({{"SET", key, sealed, "NX"},
                         {"SET", Key("meta:key_fingerprint"), cipher_->key_fingerprint(), "NX"},
                         {"GET", key},
                         {"GET", Key("meta:key_fingerprint")}}));
  for (const RedisReply& r : replies) {
    if (r.is_error()) return RedisErrorStatus(r.str);
  }
  auto opened = cipher_->Open(replies[2].str, kKeyCheckContext);
  if (opened.ok() && *opened == kKeyCheckPlaintext) return Status::Ok();
  return DataLossError("the encryption key (fingerprint " + cipher_->key_fingerprint() +
                       ") is not the key this redis database was written with (fingerprint " +
                       (replies[3].is_nil() ? std::string("unknown") : replies[3].str) + ")");
}

std::string RedisStore::RecordKey(std::string_view user_id) const {
  return prefix_ + "vp:" + std::string(user_id);
}

std::string RedisStore::StatusKey(UserStatus status) const {
  return prefix_ + "vp:status:" + std::string(ToString(status));
}

Result<RedisStore::Stored> RedisStore::Load(std::string_view user_id) {
  VOXGATE_ASSIGN_OR_RETURN(RedisReply reply,
                           client_->Command({"HGET", RecordKey(user_id), "record"}));
  if (reply.is_nil()) return NotFound(user_id);
  return Stored::Decode(reply.str);
}

Result<bool> RedisStore::Commit(const Stored* previous, const Stored* next, int64_t expected,
                                std::string_view user_id) {
  const Stored* any = next ? next : previous;
  const UserStatus old_status = previous ? previous->record.status : next->record.status;
  const UserStatus new_status = next ? next->record.status : previous->record.status;
  const int64_t delta = static_cast<int64_t>(next ? next->record.samples.size() : 0) -
                        static_cast<int64_t>(previous ? previous->record.samples.size() : 0);
  std::vector<std::string> argv = {"EVAL",
                                   kCommitScript,
                                   "5",
                                   RecordKey(user_id),
                                   Key("vp:index"),
                                   StatusKey(old_status),
                                   StatusKey(new_status),
                                   Key("vp:samples"),
                                   Itoa(expected),
                                   next ? next->Encode() : std::string(),
                                   Itoa(next ? next->record.version : 0),
                                   Itoa(any->record.created_at_ms),
                                   std::string(user_id),
                                   Itoa(delta)};
  VOXGATE_ASSIGN_OR_RETURN(RedisReply reply, client_->Command(argv));
  if (reply.integer == 0) {
    return Status(StatusCode::kAlreadyExists,
                  "voiceprint " + std::string(user_id) + " already exists");
  }
  return reply.integer == 1;
}

template <typename Change>
Result<int64_t> RedisStore::Mutate(std::string_view user_id, Change change) {
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    VOXGATE_ASSIGN_OR_RETURN(Stored previous, Load(user_id));
    Stored next = previous;
    VOXGATE_ASSIGN_OR_RETURN(bool changed, change(next));
    if (!changed) return previous.record.version;
    next.record.version = previous.record.version + 1;
    next.record.updated_at_ms = std::max(previous.record.updated_at_ms, NowUnixMs());
    VOXGATE_ASSIGN_OR_RETURN(bool done, Commit(&previous, &next, previous.record.version, user_id));
    if (done) return next.record.version;
  }
  return UnavailableError("voiceprint " + std::string(user_id) +
                          ": too many concurrent changes, retry");
}

Result<VoiceprintRecord> RedisStore::CreateVoiceprint(VoiceprintRecord record) {
  VOXGATE_RETURN_IF_ERROR(ValidateUserId(record.user_id));
  VOXGATE_RETURN_IF_ERROR(ValidateName(record.name));
  if (record.metadata.empty()) record.metadata = "{}";
  VOXGATE_RETURN_IF_ERROR(ValidateJsonObject(record.metadata, "metadata", kMaxMetadataBytes));
  VOXGATE_RETURN_IF_ERROR(ValidateModelId(record.model_id));
  const int64_t now = NowUnixMs();
  size_t dim = 0;
  VOXGATE_RETURN_IF_ERROR(NormaliseSamples(record.samples, &record.model_id, &dim, now));
  record.created_at_ms = now;
  record.updated_at_ms = now;
  record.version = 1;
  for (VoiceprintSample& s : record.samples) s.dim = s.embedding.size();
  Stored next;
  next.record = record;
  for (VoiceprintSample& s : next.record.samples) {
    VOXGATE_ASSIGN_OR_RETURN(std::string blob,
                             cipher_->Encrypt(s.embedding, record.user_id, s.sample_id));
    next.blobs.push_back(std::move(blob));
    s.embedding.clear();
  }
  VOXGATE_ASSIGN_OR_RETURN(bool done, Commit(nullptr, &next, 0, record.user_id));
  if (!done) return InternalError("creating voiceprint " + record.user_id + ": commit refused");
  return record;
}

Result<int64_t> RedisStore::WriteSamples(std::string_view user_id,
                                         std::vector<VoiceprintSample> samples, bool replace) {
  VOXGATE_RETURN_IF_ERROR(ValidateUserId(user_id));
  if (samples.empty()) return InvalidArgumentError("no samples given");
  const int64_t now = NowUnixMs();
  std::string model_id;
  size_t dim = 0;
  VOXGATE_RETURN_IF_ERROR(NormaliseSamples(samples, &model_id, &dim, now));
  std::vector<std::string> sealed;
  for (VoiceprintSample& s : samples) {
    VOXGATE_ASSIGN_OR_RETURN(std::string blob, cipher_->Encrypt(s.embedding, user_id, s.sample_id));
    sealed.push_back(std::move(blob));
    s.dim = s.embedding.size();
    s.embedding.clear();
  }
  return Mutate(user_id, [&](Stored& st) -> Result<bool> {
    VoiceprintRecord& rec = st.record;
    std::string model = model_id.empty() ? rec.model_id : model_id;
    if (replace) {
      rec.samples.clear();
      st.blobs.clear();
    } else {
      if (!rec.model_id.empty() && model != rec.model_id) {
        return InvalidArgumentError("samples made by model \"" + model + "\" but voiceprint " +
                                    rec.user_id + " was made by \"" + rec.model_id +
                                    "\"; replace the samples to re-enroll with the new model");
      }
      if (!rec.samples.empty() && rec.samples[0].dim != dim) {
        return InvalidArgumentError("embeddings have " + std::to_string(dim) +
                                    " values but voiceprint " + rec.user_id + " has " +
                                    std::to_string(rec.samples[0].dim));
      }
      for (const VoiceprintSample& have : rec.samples) {
        for (const VoiceprintSample& s : samples) {
          if (have.sample_id == s.sample_id) {
            return Status(StatusCode::kAlreadyExists,
                          "sample " + s.sample_id + " of " + rec.user_id + " already exists");
          }
        }
      }
    }
    rec.model_id = model;
    for (size_t i = 0; i < samples.size(); ++i) {
      VoiceprintSample s = samples[i];
      s.model_id = model;
      rec.samples.push_back(std::move(s));
      st.blobs.push_back(sealed[i]);
    }
    return true;
  });
}

Result<int64_t> RedisStore::AddSamples(std::string_view user_id,
                                       std::vector<VoiceprintSample> samples) {
  return WriteSamples(user_id, std::move(samples), /*replace=*/false);
}

Result<int64_t> RedisStore::ReplaceSamples(std::string_view user_id,
                                           std::vector<VoiceprintSample> samples) {
  return WriteSamples(user_id, std::move(samples), /*replace=*/true);
}

Result<VoiceprintRecord> RedisStore::Get(std::string_view user_id) {
  VOXGATE_RETURN_IF_ERROR(ValidateUserId(user_id));
  VOXGATE_ASSIGN_OR_RETURN(Stored st, Load(user_id));
  VoiceprintRecord out = st.record;
  VOXGATE_RETURN_IF_ERROR(st.Decrypt(*cipher_, out));
  return out;
}

Result<int64_t> RedisStore::SetStatus(std::string_view user_id, UserStatus status) {
  VOXGATE_RETURN_IF_ERROR(ValidateUserId(user_id));
  return Mutate(user_id, [&](Stored& st) -> Result<bool> {
    if (st.record.status == status) return false;
    st.record.status = status;
    return true;
  });
}

Result<int64_t> RedisStore::UpdateProfile(std::string_view user_id, const ProfileUpdate& update) {
  VOXGATE_RETURN_IF_ERROR(ValidateUserId(user_id));
  if (update.name) VOXGATE_RETURN_IF_ERROR(ValidateName(*update.name));
  std::optional<std::string> metadata = update.metadata;
  if (metadata && metadata->empty()) metadata = "{}";
  if (metadata) {
    VOXGATE_RETURN_IF_ERROR(ValidateJsonObject(*metadata, "metadata", kMaxMetadataBytes));
  }
  return Mutate(user_id, [&](Stored& st) -> Result<bool> {
    const std::string& name = update.name ? *update.name : st.record.name;
    const std::string& meta = metadata ? *metadata : st.record.metadata;
    if (name == st.record.name && meta == st.record.metadata) return false;
    st.record.name = name;
    st.record.metadata = meta;
    return true;
  });
}

Status RedisStore::Delete(std::string_view user_id) {
  VOXGATE_RETURN_IF_ERROR(ValidateUserId(user_id));
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    VOXGATE_ASSIGN_OR_RETURN(Stored previous, Load(user_id));
    VOXGATE_ASSIGN_OR_RETURN(bool done,
                             Commit(&previous, nullptr, previous.record.version, user_id));
    if (done) return Status::Ok();
  }
  return UnavailableError("voiceprint " + std::string(user_id) +
                          ": too many concurrent changes, retry");
}

Result<std::vector<VoiceprintRecord>> RedisStore::FetchRecords(const std::vector<std::string>& ids,
                                                               bool with_embeddings) {
  std::vector<VoiceprintRecord> out;
  out.reserve(ids.size());
  for (size_t first = 0; first < ids.size(); first += kFetchBatch) {
    const size_t last = std::min(ids.size(), first + kFetchBatch);
    std::vector<std::vector<std::string>> cmds;
    for (size_t i = first; i < last; ++i) cmds.push_back({"HGET", RecordKey(ids[i]), "record"});
    VOXGATE_ASSIGN_OR_RETURN(auto replies, client_->Pipeline(cmds));
    for (const RedisReply& r : replies) {
      if (r.is_error()) return RedisErrorStatus(r.str);
      if (r.is_nil()) continue;  // deleted between the index read and now
      VOXGATE_ASSIGN_OR_RETURN(VoiceprintRecord rec, OpenRecord(r.str, *cipher_, with_embeddings));
      out.push_back(std::move(rec));
    }
  }
  return out;
}

Result<ListPage> RedisStore::List(const ListQuery& query) {
  if (query.limit < 1 || query.limit > kMaxListLimit) {
    return InvalidArgumentError("limit must be in [1, " + std::to_string(kMaxListLimit) + "]");
  }
  if (query.offset < 0) return InvalidArgumentError("offset must be >= 0");
  const std::string key = query.status ? StatusKey(*query.status) : Key("vp:index");
  // One MULTI: the count and the page come from the same moment.
  VOXGATE_ASSIGN_OR_RETURN(auto replies,
                           client_->Transaction({{"ZCARD", key},
                                                 {"ZRANGE", key, Itoa(query.offset),
                                                  Itoa(query.offset + query.limit - 1)}}));
  ListPage page;
  page.total = replies[0].integer;
  std::vector<std::string> ids;
  for (const RedisReply& e : replies[1].elements) ids.push_back(e.str);
  VOXGATE_ASSIGN_OR_RETURN(page.records, FetchRecords(ids, query.include_embeddings));
  return page;
}

Result<std::vector<VoiceprintRecord>> RedisStore::LoadActive() {
  VOXGATE_ASSIGN_OR_RETURN(RedisReply ids_reply,
                           client_->Command({"ZRANGE", StatusKey(UserStatus::kActive), "0", "-1"}));
  std::vector<std::string> ids;
  for (const RedisReply& e : ids_reply.elements) ids.push_back(e.str);
  VOXGATE_ASSIGN_OR_RETURN(auto records, FetchRecords(ids, true));
  // A user switched off between the two reads is left out, as a snapshot would.
  records.erase(
      std::remove_if(records.begin(), records.end(),
                     [](const VoiceprintRecord& r) { return r.status != UserStatus::kActive; }),
      records.end());
  return records;
}

Result<int64_t> RedisStore::AppendAudit(const AuditEvent& event_in) {
  AuditEvent event = event_in;
  if (event.detail.empty()) event.detail = "{}";
  VOXGATE_RETURN_IF_ERROR(ValidateAuditEvent(event));
  if (event.ts_ms == 0) event.ts_ms = NowUnixMs();
  const bool has_user = !event.user_id.empty();
  VOXGATE_ASSIGN_OR_RETURN(
      RedisReply reply,
      client_->Command(std::vector<std::string>{
          "EVAL", kAuditScript, "5", Key("audit:seq"), Key("audit:events"), Key("audit:all"),
          Key("audit:action:" + std::string(ToString(event.action))),
          Key("audit:user:" + event.user_id), EncodeAudit(event), has_user ? "1" : "0"}));
  return reply.integer;
}

Result<AuditPage> RedisStore::ReadAudit(const AuditQuery& query) {
  if (query.limit < 1 || query.limit > kMaxAuditLimit) {
    return InvalidArgumentError("limit must be in [1, " + std::to_string(kMaxAuditLimit) + "]");
  }
  if (query.offset < 0) return InvalidArgumentError("offset must be >= 0");
  if (query.before_id < 0) return InvalidArgumentError("before_id must be >= 0");
  const std::string max = query.before_id > 0 ? "(" + Itoa(query.before_id) : "+inf";
  // Both filters: the user's events are few enough to filter here; one filter: its own zset.
  const bool filter_here = query.user_id && query.action;
  const std::string key = query.user_id ? Key("audit:user:" + *query.user_id)
                          : query.action
                              ? Key("audit:action:" + std::string(ToString(*query.action)))
                              : Key("audit:all");
  std::vector<std::vector<std::string>> cmds;
  cmds.push_back({"ZCOUNT", key, "-inf", max});
  if (filter_here) {
    cmds.push_back({"ZREVRANGEBYSCORE", key, max, "-inf"});
  } else {
    cmds.push_back(
        {"ZREVRANGEBYSCORE", key, max, "-inf", "LIMIT", Itoa(query.offset), Itoa(query.limit)});
  }
  VOXGATE_ASSIGN_OR_RETURN(auto replies, client_->Transaction(cmds));
  AuditPage page;
  page.total = replies[0].integer;
  std::vector<std::string> ids;
  for (const RedisReply& e : replies[1].elements) ids.push_back(e.str);
  std::vector<AuditEvent> events;
  if (!ids.empty()) {
    std::vector<std::string> hmget = {"HMGET", Key("audit:events")};
    hmget.insert(hmget.end(), ids.begin(), ids.end());
    VOXGATE_ASSIGN_OR_RETURN(RedisReply values, client_->Command(hmget));
    for (size_t i = 0; i < values.elements.size() && i < ids.size(); ++i) {
      if (values.elements[i].is_nil()) continue;
      VOXGATE_ASSIGN_OR_RETURN(AuditEvent e,
                               DecodeAudit(values.elements[i].str, std::stoll(ids[i])));
      if (filter_here && e.action != *query.action) continue;
      events.push_back(std::move(e));
    }
  }
  if (filter_here) {
    page.total = static_cast<int64_t>(events.size());
    const size_t begin = std::min(events.size(), static_cast<size_t>(query.offset));
    const size_t end = std::min(events.size(), begin + static_cast<size_t>(query.limit));
    page.events.assign(std::make_move_iterator(events.begin() + static_cast<ptrdiff_t>(begin)),
                       std::make_move_iterator(events.begin() + static_cast<ptrdiff_t>(end)));
  } else {
    page.events = std::move(events);
  }
  return page;
}

Result<StoreStats> RedisStore::Stats() {
  StoreStats stats;
  stats.backend = "redis";
  stats.encryption = "aes-256-gcm";
  stats.key_fingerprint = cipher_->key_fingerprint();
  std::vector<std::vector<std::string>> cmds = {{"ZCARD", Key("vp:index")},
                                                {"GET", Key("vp:samples")},
                                                {"ZCARD", Key("audit:all")},
                                                {"INFO", "memory"},
                                                {"INFO", "persistence"}};
  for (UserStatus s : kAllUserStatuses) cmds.push_back({"ZCARD", StatusKey(s)});
  VOXGATE_ASSIGN_OR_RETURN(auto replies, client_->Pipeline(cmds));
  for (const RedisReply& r : replies) {
    if (r.is_error()) return RedisErrorStatus(r.str);
  }
  stats.users = replies[0].integer;
  stats.samples = replies[1].is_nil() ? 0 : std::atoll(replies[1].str.c_str());
  stats.audit_events = replies[2].integer;
  for (size_t i = 0; i < std::size(kAllUserStatuses); ++i) {
    stats.users_by_status[std::string(ToString(kAllUserStatuses[i]))] = replies[5 + i].integer;
  }
  const std::string info = replies[3].str + "\r\n" + replies[4].str;
  for (const char* field : {"used_memory", "used_memory_peak", "maxmemory", "aof_enabled",
                            "aof_current_size", "rdb_last_save_time"}) {
    const std::string needle = std::string(field) + ":";
    size_t pos = info.find("\n" + needle);
    pos = pos == std::string::npos ? (info.rfind(needle, 0) == 0 ? 0 : pos) : pos + 1;
    if (pos == std::string::npos) continue;
    const size_t begin = pos + needle.size();
    stats.details[field] = info.substr(begin, info.find_first_of("\r\n", begin) - begin);
  }
  // What Redis keeps on disk for us: the append-only file (0 without AOF: memory only).
  if (auto it = stats.details.find("aof_current_size"); it != stats.details.end()) {
    stats.bytes_on_disk = std::atoll(it->second.c_str());
  }
  stats.schema_version = 1;  // the record codec's version ("VXR1")
  stats.healthy = true;
  stats.details["url"] = client_->redacted_url();
  stats.details["key_prefix"] = prefix_;
  return stats;
}

Status RedisStore::Ping() { return client_->Ping(); }

}  // namespace voxgate::store
