#include "api/voiceprint_routes.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <optional>

#include "api/upload.h"
#include "metrics/registry.h"

namespace voxgate::api {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string IsoFromMs(int64_t ms) {
  return Iso8601Utc(std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)));
}

double SecondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

Result<double> ParseDouble(const std::string& text, const char* field) {
  try {
    size_t used = 0;
    const double v = std::stod(text, &used);
    if (used != text.size() || !std::isfinite(v)) throw std::invalid_argument(field);
    return v;
  } catch (const std::exception&) {
    return InvalidArgumentError(fmt::format("{} must be a number", field));
  }
}

Result<int64_t> ParseInt(std::string_view text, const char* field, int64_t lo, int64_t hi) {
  int64_t v = 0;
  if (text.empty() || text.size() > 18) {
    return InvalidArgumentError(fmt::format("{} must be an integer in [{}, {}]", field, lo, hi));
  }
  for (char c : text) {
    if (c < '0' || c > '9') {
      return InvalidArgumentError(fmt::format("{} must be an integer in [{}, {}]", field, lo, hi));
    }
    v = v * 10 + (c - '0');
  }
  if (v < lo || v > hi) {
    return InvalidArgumentError(fmt::format("{} must be an integer in [{}, {}]", field, lo, hi));
  }
  return v;
}

// A verify or identify body: exactly one probe recording and an optional threshold.
struct Probe : Upload {
  std::optional<double> threshold;
  std::optional<voiceprint::SecurityLevel> security_level;
};

Result<Probe> ParseProbe(const Request& request) {
  Probe probe;
  VOXGATE_ASSIGN_OR_RETURN(static_cast<Upload&>(probe), ParseUpload(request));
  if (probe.audio.size() != 1)
    return InvalidArgumentError("exactly one \"audio\" file is required");
  if (const auto* v = probe.Field("threshold"); v && !v->empty()) {
    VOXGATE_ASSIGN_OR_RETURN(probe.threshold, ParseDouble(*v, "threshold"));
  }
  if (const auto* v = probe.Field("security_level"); v && !v->empty()) {
    VOXGATE_ASSIGN_OR_RETURN(probe.security_level, voiceprint::ParseSecurityLevel(*v));
  }
  return probe;
}

json MetadataJson(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  return j.is_discarded() ? json::object() : j;
}

// "2026-05-01T12:34:56Z" or with milliseconds ("...56.789Z") -> ms since the epoch.
std::optional<int64_t> ParseIsoUtcMs(std::string_view text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, ms = 0, used = 0;
  const std::string t(text.substr(0, 40));
  if (std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &used) != 6) {
    return std::nullopt;
  }
  std::string_view rest = std::string_view(t).substr(static_cast<size_t>(used));
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    int digits = 0;
    while (!rest.empty() && std::isdigit(static_cast<unsigned char>(rest.front()))) {
      if (digits++ < 3) ms = ms * 10 + (rest.front() - '0');
      rest.remove_prefix(1);
    }
    if (digits == 0) return std::nullopt;
    for (; digits < 3; ++digits) ms *= 10;
  }
  if (rest != "Z" || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

json RecordSummary(const store::VoiceprintRecord& r) {
  return {{"user_id", r.user_id},
          {"name", r.name},
          {"status", store::ToString(r.status)},
          {"created_at", IsoFromMs(r.created_at_ms)},
          {"updated_at", IsoFromMs(r.updated_at_ms)},
          {"metadata", MetadataJson(r.metadata)},
          {"version", r.version},
          {"model_id", r.model_id},
          {"num_samples", r.samples.size()}};
}

json ScoresJson(const std::vector<ScoredUser>& scores) {
  json out = json::array();
  for (const auto& s : scores)
    out.push_back({{"user_id", s.user_id},
                   {"name", s.name},
                   {"score", s.score},
                   {"confidence", s.confidence}});
  return out;
}

json QualityJson(const ProbeQuality& q) {
  return {{"speech_s", q.speech_s},
          {"snr_db", q.signal.snr_db},
          {"clipping_ratio", q.signal.clipping_ratio},
          {"bandwidth_hz", q.signal.bandwidth_hz},
          {"narrowband", q.signal.narrowband},
          {"channel", voiceprint::ChannelName(q.channel)}};
}

json StoreStatsJson(const store::StoreStats& s) {
  json j{{"backend", s.backend},
         {"healthy", s.healthy},
         {"users", s.users},
         {"users_by_status", s.users_by_status},
         {"samples", s.samples},
         {"audit_events", s.audit_events},
         {"bytes_on_disk", s.bytes_on_disk},
         {"schema_version", s.schema_version},
         {"encryption", s.encryption},
         {"key_fingerprint", s.key_fingerprint},
         {"details", s.details}};
  if (!s.tiers.empty()) {
    j["tiers"] = json::array();
    for (const auto& t : s.tiers) j["tiers"].push_back(StoreStatsJson(t));
  }
  return j;
}

// Service-level metrics, next to the server's HTTP and the pool's inference metrics.
struct ServiceMetrics {
  explicit ServiceMetrics(metrics::Registry& r)
      : enrolled(r.GetGauge("voxgate_enrolled_users", "Active users in the 1:N index")),
        enrollments(
            r.CounterFamily("voxgate_enrollments_total", "Successful register calls", {"kind"})),
        verifications(r.CounterFamily("voxgate_verifications_total",
                                      "Verification decisions by outcome", {"outcome"})),
        identifications(r.CounterFamily("voxgate_identifications_total",
                                        "Identifications by outcome", {"outcome"})),
        store_errors(r.CounterFamily("voxgate_store_errors_total",
                                     "Requests that failed in the store", {"operation"})) {
    // Every label value exists from the start at 0, so rates and alerts see a series.
    for (const char* op : {"register", "verify", "identify"}) store_errors.WithLabels({op});
    for (const char* o : {"verified", "rejected", "inconclusive"}) verifications.WithLabels({o});
    for (const char* o : {"identified", "unknown"}) identifications.WithLabels({o});
    for (const char* k : {"created", "added"}) enrollments.WithLabels({k});
  }
  metrics::Gauge& enrolled;
  metrics::Family<metrics::Counter>& enrollments;
  metrics::Family<metrics::Counter>& verifications;
  metrics::Family<metrics::Counter>& identifications;
  metrics::Family<metrics::Counter>& store_errors;
};

bool IsStoreFailure(const Status& s) {
  return s.code() == StatusCode::kUnavailable || s.code() == StatusCode::kDataLoss ||
         s.code() == StatusCode::kInternal;
}

// Everything the handlers share.
struct Api {
  std::shared_ptr<VoiceprintService> service;
  std::shared_ptr<InferencePool> pool;
  NodeInfo node;
  HttpServer* server = nullptr;
  std::unique_ptr<ServiceMetrics> metrics;
  std::chrono::system_clock::time_point started = std::chrono::system_clock::now();

  // Answers an error, counting failures of the store.
  void Fail(const Responder& r, const Status& s, const char* operation) {
    if (IsStoreFailure(s)) metrics->store_errors.WithLabels({operation}).Increment();
    r.SendError(s);
  }
  void UpdateEnrolled() {
    metrics->enrolled.Set(static_cast<double>(service->Stats().indexed_users));
  }

  CallContext Context(const Request& request) const {
    return {request.principal().key_id, request.request_id()};
  }

  json NodeJson() const {
    const bool healthy = service->store().Ping().ok();
    // With port 0 the bound port is only known once the server runs.
    const int port = node.port > 0 ? node.port : server->port();
    std::string node_id = node.node_id;
    if (node_id.empty() || node_id.ends_with(":0")) {
      node_id = node_id.substr(0, node_id.rfind(':')) + ":" + std::to_string(port);
    }
    const HttpMetrics::Totals totals = server->request_totals();
    return {{"node_id", node_id},
            {"host", node.host},
            {"port", port},
            {"weight", node.weight},
            {"is_healthy", healthy},
            {"active_connections", server->open_connections()},
            {"total_requests", totals.requests},
            {"error_count", totals.errors},
            {"avg_response_time", totals.mean_duration_s},
            {"last_health_check", Iso8601Utc()},
            {"metadata", {{"role", "voiceprint"}, {"started_at", Iso8601Utc(started)}}}};
  }

  void Register(const Request& request, Responder responder) {
    const auto t0 = Clock::now();
    auto upload = ParseUpload(request);
    if (!upload.ok()) {
      responder.SendError(upload.status());
      return;
    }
    SubmitOrReject(
        *pool, std::move(responder), [this, t0, upload = std::move(*upload)](Responder r) {
          RegisterRequest req;
          if (const auto* v = upload.Field("user_id")) req.user_id = *v;
          if (const auto* v = upload.Field("name")) req.name = *v;
          if (const auto* v = upload.Field("metadata"); v && !v->empty()) req.metadata = *v;
          for (const auto& a : upload.audio) req.audio.push_back({a.bytes, a.filename});
          auto result = service->Register(req, Context(r.request()));
          if (!result.ok()) {
            Fail(r, result.status(), "register");
            return;
          }
          metrics->enrollments.WithLabels({result->created ? "created" : "added"}).Increment();
          UpdateEnrolled();
          const auto& rep = result->report;
          json body{{"success", true},
                    {"user_id", result->user_id},
                    {"message", result->created ? "voiceprint registered" : "samples added"},
                    {"created", result->created},
                    {"version", result->version},
                    {"samples_used", rep.samples_used},
                    {"total_samples", result->total_samples},
                    {"speech_s", rep.total_speech_s},
                    {"quality",
                     {{"total_speech_s", rep.total_speech_s},
                      {"min_consistency", rep.min_consistency},
                      {"consistency", rep.consistency},
                      {"sample_speech_s", result->sample_speech_s}}},
                    {"warnings", rep.warnings},
                    {"model", service->model_info().id},
                    {"processing_time", SecondsSince(t0)},
                    {"timestamp", Iso8601Utc()}};
          r.SendJson(result->created ? 201 : 200, body);
        });
  }

  void Verify(const Request& request, Responder responder) {
    const auto t0 = Clock::now();
    auto upload = ParseProbe(request);
    if (!upload.ok()) {
      responder.SendError(upload.status());
      return;
    }
    VerifyRequest req;
    if (const auto* v = upload->Field("user_id")) req.user_id = *v;
    req.threshold = upload->threshold;
    req.security_level = upload->security_level;
    SubmitOrReject(*pool, std::move(responder),
                   [this, t0, req, upload = std::move(*upload)](Responder r) mutable {
                     req.audio = {upload.audio[0].bytes, upload.audio[0].filename};
                     auto result = service->Verify(req, Context(r.request()));
                     if (!result.ok()) {
                       Fail(r, result.status(), "verify");
                       return;
                     }
                     metrics->verifications
                         .WithLabels({result->inconclusive ? "inconclusive"
                                      : result->verified   ? "verified"
                                                           : "rejected"})
                         .Increment();
                     json body{
                         {"success", true},
                         {"verified", result->verified},
                         {"user_id", result->user_id},
                         {"confidence", result->confidence},
                         {"score", result->score},
                         {"llr", result->llr},
                         {"threshold", result->threshold},
                         {"security_level", voiceprint::SecurityLevelName(result->security_level)},
                         {"calibrated", result->calibrated},
                         {"speech_s", result->speech_s},
                         {"quality", QualityJson(result->quality)},
                         {"all_scores", ScoresJson(result->all_scores)},
                         {"processing_time", SecondsSince(t0)},
                         {"timestamp", Iso8601Utc()}};
                     if (result->inconclusive) body["inconclusive"] = true;
                     if (!result->reason.empty()) body["reason"] = result->reason;
                     r.SendJson(200, body);
                   });
  }

  void Identify(const Request& request, Responder responder) {
    const auto t0 = Clock::now();
    auto upload = ParseProbe(request);
    if (!upload.ok()) {
      responder.SendError(upload.status());
      return;
    }
    IdentifyRequest req;
    req.threshold = upload->threshold;
    req.security_level = upload->security_level;
    if (const auto* v = upload->Field("top_k"); v && !v->empty()) {
      auto k = ParseInt(*v, "top_k", 1, 100);
      if (!k.ok()) {
        responder.SendError(k.status());
        return;
      }
      req.top_k = static_cast<int>(*k);
    }
    SubmitOrReject(
        *pool, std::move(responder),
        [this, t0, req, upload = std::move(*upload)](Responder r) mutable {
          req.audio = {upload.audio[0].bytes, upload.audio[0].filename};
          auto result = service->Identify(req, Context(r.request()));
          if (!result.ok()) {
            Fail(r, result.status(), "identify");
            return;
          }
          metrics->identifications.WithLabels({result->identified ? "identified" : "unknown"})
              .Increment();
          json body{{"success", true},
                    {"identified", result->identified},
                    {"matches", ScoresJson(result->matches)},
                    {"threshold", result->threshold},
                    {"confidence", result->confidence},
                    {"llr", result->llr},
                    {"security_level", voiceprint::SecurityLevelName(result->security_level)},
                    {"speech_s", result->speech_s},
                    {"quality", QualityJson(result->quality)},
                    {"processing_time", SecondsSince(t0)},
                    {"timestamp", Iso8601Utc()}};
          if (result->identified) body["user_id"] = result->matches.front().user_id;
          if (result->inconclusive) body["inconclusive"] = true;
          if (!result->reason.empty()) body["reason"] = result->reason;
          r.SendJson(200, body);
        });
  }

  void GetVoiceprint(const Request& request, Responder responder) {
    const bool want_embedding = request.Query("include_embedding").value_or("") == "true";
    if (want_embedding && request.principal().authenticated &&
        request.principal().role != Role::kAdmin) {
      responder.SendError(
          Status(StatusCode::kPermissionDenied, "include_embedding needs an admin key"));
      return;
    }
    auto record = service->Get(request.PathParam("user_id"));
    if (!record.ok()) {
      responder.SendError(record.status());
      return;
    }
    json body = RecordSummary(*record);
    body["success"] = true;
    body["samples"] = json::array();
    for (const auto& s : record->samples) {
      body["samples"].push_back({{"sample_id", s.sample_id},
                                 {"speech_s", s.speech_s},
                                 {"created_at", IsoFromMs(s.created_at_ms)},
                                 {"model_id", s.model_id},
                                 {"narrowband", s.narrowband}});
    }
    if (want_embedding) body["embedding"] = RecordVoiceprint(*record);
    responder.SendJson(200, body);
  }

  void DeleteVoiceprint(const Request& request, Responder responder) {
    const std::string id(request.PathParam("user_id"));
    Status s = service->Delete(id, Context(request));
    if (!s.ok()) {
      Fail(responder, s, "delete");
      return;
    }
    UpdateEnrolled();
    responder.SendJson(200, {{"success", true}, {"message", "voiceprint " + id + " deleted"}});
  }

  void PutStatus(const Request& request, Responder responder) {
    json j = json::parse(request.body(), nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("status") || !j["status"].is_string()) {
      responder.SendError(InvalidArgumentError("body must be JSON {\"status\": \"active\"|...}"));
      return;
    }
    auto status = store::ParseUserStatus(j["status"].get<std::string>());
    if (!status.ok()) {
      responder.SendError(status.status());
      return;
    }
    const std::string id(request.PathParam("user_id"));
    auto version = service->SetStatus(id, *status, Context(request));
    if (!version.ok()) {
      Fail(responder, version.status(), "status");
      return;
    }
    UpdateEnrolled();
    responder.SendJson(200, {{"success", true},
                             {"user_id", id},
                             {"status", store::ToString(*status)},
                             {"version", *version}});
  }

  void WhoAmI(const Request& request, Responder responder) {
    const Principal& p = request.principal();
    responder.SendJson(200, {{"success", true},
                             {"auth_enabled", server->config().auth_enabled},
                             {"role", p.role == Role::kAdmin ? "admin" : "client"},
                             {"key_name", p.key_name},
                             {"key_id", p.key_id}});
  }

  // ?q=: the records whose user id or name holds `text` (ASCII case-insensitive), paged. The store
  // has no text index, so this scans it in pages, up to kMaxSearchScan records ("truncated").
  static constexpr int64_t kMaxSearchScan = 100000;
  Result<json> Search(store::ListQuery q, const std::string& text) {
    auto lower = [](std::string v) {
      std::transform(v.begin(), v.end(), v.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      return v;
    };
    const std::string needle = lower(text);
    const int limit = q.limit;
    const int64_t offset = q.offset;
    json list = json::array();
    int64_t matched = 0;
    int64_t scanned = 0;
    bool truncated = false;
    q.limit = store::kMaxListLimit;
    for (q.offset = 0;; q.offset += q.limit) {
      VOXGATE_ASSIGN_OR_RETURN(store::ListPage page, service->List(q));
      for (const auto& r : page.records) {
        if (lower(r.user_id).find(needle) == std::string::npos &&
            lower(r.name).find(needle) == std::string::npos) {
          continue;
        }
        if (matched >= offset && matched < offset + limit) list.push_back(RecordSummary(r));
        ++matched;
      }
      scanned += static_cast<int64_t>(page.records.size());
      if (page.records.size() < static_cast<size_t>(q.limit)) break;
      if (scanned >= kMaxSearchScan) {
        truncated = true;
        break;
      }
    }
    return json{{"success", true},       {"voiceprints", list}, {"total", matched},
                {"limit", limit},        {"offset", offset},    {"q", text},
                {"truncated", truncated}};
  }

  void ListVoiceprints(const Request& request, Responder responder) {
    store::ListQuery q;
    if (auto s = request.Query("status"); s && !s->empty()) {
      auto status = store::ParseUserStatus(*s);
      if (!status.ok()) {
        responder.SendError(status.status());
        return;
      }
      q.status = *status;
    }
    if (auto s = request.Query("limit")) {
      auto v = ParseInt(*s, "limit", 1, store::kMaxListLimit);
      if (!v.ok()) {
        responder.SendError(v.status());
        return;
      }
      q.limit = static_cast<int>(*v);
    }
    if (auto s = request.Query("offset")) {
      auto v = ParseInt(*s, "offset", 0, int64_t{1} << 40);
      if (!v.ok()) {
        responder.SendError(v.status());
        return;
      }
      q.offset = *v;
    }
    if (auto text = request.Query("q"); text && !text->empty()) {
      if (text->size() > 256) {
        responder.SendError(InvalidArgumentError("q is longer than 256 bytes"));
        return;
      }
      auto found = Search(q, std::string(*text));
      if (!found.ok()) {
        responder.SendError(found.status());
        return;
      }
      responder.SendJson(200, *found);
      return;
    }
    auto page = service->List(q);
    if (!page.ok()) {
      responder.SendError(page.status());
      return;
    }
    json list = json::array();
    for (const auto& r : page->records) list.push_back(RecordSummary(r));
    responder.SendJson(200, {{"success", true},
                             {"voiceprints", list},
                             {"total", page->total},
                             {"limit", q.limit},
                             {"offset", q.offset}});
  }

  void Audit(const Request& request, Responder responder) {
    store::AuditQuery q;
    if (auto s = request.Query("user_id"); s && !s->empty()) q.user_id = std::string(*s);
    if (auto s = request.Query("action"); s && !s->empty()) {
      auto a = store::ParseAuditAction(*s);
      if (!a.ok()) {
        responder.SendError(a.status());
        return;
      }
      q.action = *a;
    }
    if (auto s = request.Query("limit")) {
      auto v = ParseInt(*s, "limit", 1, store::kMaxAuditLimit);
      if (!v.ok()) {
        responder.SendError(v.status());
        return;
      }
      q.limit = static_cast<int>(*v);
    }
    if (auto s = request.Query("before_id")) {
      auto v = ParseInt(*s, "before_id", 1, int64_t{1} << 62);
      if (!v.ok()) {
        responder.SendError(v.status());
        return;
      }
      q.before_id = *v;
    }
    auto event_json = [](const store::AuditEvent& e) {
      return json{{"id", e.id},
                  {"ts", IsoFromMs(e.ts_ms)},
                  {"action", store::ToString(e.action)},
                  {"user_id", e.user_id},
                  {"actor", e.actor},
                  {"request_id", e.request_id},
                  {"detail", MetadataJson(e.detail)}};
    };
    std::optional<int64_t> since_ms, until_ms;
    for (auto [name, out] : {std::pair{"since", &since_ms}, std::pair{"until", &until_ms}}) {
      if (auto s = request.Query(name); s && !s->empty()) {
        auto ms = ParseIsoUtcMs(*s);
        if (!ms) {
          responder.SendError(InvalidArgumentError(
              std::string(name) + " must be an ISO 8601 UTC time, e.g. 2026-05-01T12:00:00Z"));
          return;
        }
        *out = *ms;
      }
    }
    if (since_ms || until_ms) {
      // The store pages by id, newest first, and ids grow with time: walk back from before_id,
      // skip what is newer than `until`, stop at the first event older than `since`.
      const int limit = q.limit;
      json events = json::array();
      bool more = false, done = false;
      int64_t scanned = 0;
      q.limit = store::kMaxAuditLimit;
      while (!done && scanned < kMaxSearchScan) {
        auto page = service->store().ReadAudit(q);
        if (!page.ok()) {
          responder.SendError(page.status());
          return;
        }
        for (const auto& e : page->events) {
          if (since_ms && e.ts_ms < *since_ms) {
            done = true;
            break;
          }
          if (until_ms && e.ts_ms > *until_ms) continue;
          if (static_cast<int>(events.size()) == limit) {
            more = done = true;
            break;
          }
          events.push_back(event_json(e));
        }
        scanned += static_cast<int64_t>(page->events.size());
        if (page->events.size() < static_cast<size_t>(q.limit)) break;
        q.before_id = page->events.back().id;
      }
      responder.SendJson(200, {{"success", true}, {"events", events}, {"more", more}});
      return;
    }
    auto page = service->store().ReadAudit(q);
    if (!page.ok()) {
      responder.SendError(page.status());
      return;
    }
    json events = json::array();
    for (const auto& e : page->events) events.push_back(event_json(e));
    responder.SendJson(200, {{"success", true}, {"events", events}, {"total", page->total}});
  }

  void Stats(const Request&, Responder responder) {
    const ServiceStats s = service->Stats();
    const auto& info = service->model_info();
    auto store_stats = service->store().Stats();
    json engine{{"model", info.id},
                {"framework", info.framework},
                {"embedding_dim", info.embedding_dim},
                {"sample_rate", info.sample_rate_hz},
                {"threshold",
                 service->calibration().NominalCosineThreshold(service->DefaultSecurityLevel())},
                {"security_level", voiceprint::SecurityLevelName(service->DefaultSecurityLevel())},
                {"calibrated", service->calibration().calibrated()},
                {"as_norm", !service->calibration().cohort().empty()},
                {"indexed_users", s.indexed_users},
                {"registrations", s.registrations},
                {"verifications", s.verifications},
                {"verified", s.verified},
                {"rejected", s.rejected},
                {"inconclusive", s.inconclusive},
                {"identifications", s.identifications},
                {"inference_queue_depth", pool->queue_depth()},
                {"inference_busy_workers", pool->busy_workers()},
                {"inference_workers", pool->config().threads}};
    const auto& enroll = service->config().enrollment;
    const auto& gates = service->config().quality;
    engine["quality_gates"] = {{"enroll_min_sample_speech_s", enroll.min_sample_speech_s},
                               {"enroll_min_total_speech_s", enroll.min_total_speech_s},
                               {"enroll_recommended_speech_s", enroll.recommended_speech_s},
                               {"verify_min_speech_s", gates.min_speech_s},
                               {"max_clipping_ratio", gates.max_clipping_ratio},
                               {"min_snr_db", gates.min_snr_db}};
    const HttpMetrics::Recent recent = server->http_metrics().recent();
    const HttpMetrics::Totals totals = server->http_metrics().totals();
    json http{{"requests_total", totals.requests},       {"errors_total", totals.errors},
              {"window_s", HttpMetrics::kRecentWindowS}, {"rate_per_s", recent.rate_per_s},
              {"latency_p50_ms", recent.p50_ms},         {"latency_p99_ms", recent.p99_ms}};
    // In a cluster the node counts live in the registry (GET /api/v1/cluster/status).
    json cluster = node.standalone ? json{{"mode", "single"},
                                          {"total_nodes", 1},
                                          {"healthy_nodes", 1},
                                          {"node_id", node.node_id}}
                                   : json{{"mode", "cluster"}, {"node_id", node.node_id}};
    responder.SendJson(
        200,
        {{"success", true},
         {"statistics",
          {{"voiceprint_engine", engine},
           {"distributed_storage",
            store_stats.ok() ? StoreStatsJson(*store_stats)
                             : json{{"healthy", false}, {"error", store_stats.status().message()}}},
           {"cluster", cluster},
           {"http", http}}},
         {"timestamp", Iso8601Utc()}});
  }

  void StorageStats(const Request&, Responder responder) {
    auto s = service->store().Stats();
    if (!s.ok()) {
      responder.SendError(s.status());
      return;
    }
    responder.SendJson(200, {{"success", true}, {"storage_stats", StoreStatsJson(*s)}});
  }

  void ClusterStatus(const Request&, Responder responder) {
    json self = NodeJson();
    const bool healthy = self["is_healthy"].get<bool>();
    responder.SendJson(200, {{"success", true},
                             {"cluster_status",
                              {{"mode", "single"},
                               {"total_nodes", 1},
                               {"healthy_nodes", healthy ? 1 : 0},
                               {"nodes", json::array({self})}}},
                             {"timestamp", Iso8601Utc()}});
  }

  void ClusterNodes(const Request&, Responder responder) {
    responder.SendJson(200, {{"success", true}, {"nodes", json::array({NodeJson()})}});
  }
};

}  // namespace

Status AddVoiceprintRoutes(HttpServer& server, std::shared_ptr<VoiceprintService> service,
                           std::shared_ptr<InferencePool> pool, NodeInfo node) {
  auto api = std::make_shared<Api>();
  api->service = std::move(service);
  api->pool = std::move(pool);
  api->node = std::move(node);
  api->server = &server;
  api->metrics = std::make_unique<ServiceMetrics>(server.registry());
  api->UpdateEnrolled();
  auto bind = [api](void (Api::*fn)(const Request&, Responder)) {
    return [api, fn](const Request& request, Responder responder) {
      ((*api).*fn)(request, std::move(responder));
    };
  };
  const std::string v1 = "/api/v1";
  struct Spec {
    Method method;
    std::string pattern;
    Access access;
    void (Api::*fn)(const Request&, Responder);
  };
  const Spec specs[] = {
      {Method::kPost, v1 + "/voiceprint/register", Access::kClient, &Api::Register},
      {Method::kPost, v1 + "/voiceprint/verify", Access::kClient, &Api::Verify},
      {Method::kPost, v1 + "/voiceprint/identify", Access::kClient, &Api::Identify},
      {Method::kGet, v1 + "/voiceprint/{user_id}", Access::kClient, &Api::GetVoiceprint},
      {Method::kDelete, v1 + "/voiceprint/{user_id}", Access::kAdmin, &Api::DeleteVoiceprint},
      {Method::kPut, v1 + "/voiceprint/{user_id}/status", Access::kAdmin, &Api::PutStatus},
      {Method::kGet, v1 + "/voiceprints", Access::kAdmin, &Api::ListVoiceprints},
      {Method::kGet, v1 + "/whoami", Access::kClient, &Api::WhoAmI},
      {Method::kGet, v1 + "/audit", Access::kAdmin, &Api::Audit},
      {Method::kGet, v1 + "/stats", Access::kClient, &Api::Stats},
      {Method::kGet, v1 + "/storage/stats", Access::kClient, &Api::StorageStats},
      {Method::kGet, v1 + "/cluster/status", Access::kClient, &Api::ClusterStatus},
      {Method::kGet, v1 + "/cluster/nodes", Access::kClient, &Api::ClusterNodes},
  };
  for (const Spec& s : specs) {
    if (!api->node.standalone && s.pattern.starts_with(v1 + "/cluster/")) continue;
    VOXGATE_RETURN_IF_ERROR(server.Route(s.method, s.pattern, s.access, bind(s.fn)));
  }
  return Status::Ok();
}

}  // namespace voxgate::api
