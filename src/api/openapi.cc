#include "api/openapi.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <vector>

namespace voxgate::api {

namespace {

using json = nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Schema helpers. Built imperatively: nlohmann's brace initialisers guess between arrays and
// objects, and a wrong guess here would silently change the document.

json Ref(std::string_view name) {
  json r;
  r["$ref"] = "#/components/schemas/" + std::string(name);
  return r;
}

json HeaderRef(std::string_view name) {
  json r;
  r["$ref"] = "#/components/headers/" + std::string(name);
  return r;
}

json Typed(std::string_view type, std::string_view description = {}) {
  json s;
  s["type"] = type;
  if (!description.empty()) s["description"] = description;
  return s;
}

json Described(json schema, std::string_view description) {
  schema["description"] = description;
  return schema;
}

json ArrayOf(json items, std::string_view description = {}) {
  json s = Typed("array", description);
  s["items"] = std::move(items);
  return s;
}

json Range(json schema, double minimum, double maximum) {
  schema["minimum"] = minimum;
  schema["maximum"] = maximum;
  return schema;
}

json IntRange(json schema, int64_t minimum, int64_t maximum) {
  schema["minimum"] = minimum;
  schema["maximum"] = maximum;
  return schema;
}

json Object(json properties, const std::vector<std::string>& required,
            std::string_view description = {}) {
  json s = Typed("object", description);
  s["properties"] = std::move(properties);
  if (!required.empty()) s["required"] = required;
  return s;
}

// An object whose keys are not fixed (statistics sections, metadata).
json FreeObject(std::string_view description) {
  json s = Typed("object", description);
  s["additionalProperties"] = true;
  return s;
}

json Enum(std::string_view type, const std::vector<std::string>& values,
          std::string_view description) {
  json s = Typed(type, description);
  s["enum"] = values;
  return s;
}

json SuccessTrue() {
  json s;
  s["const"] = true;
  s["description"] = "Always true on success.";
  return s;
}

json Timestamp(std::string_view description) {
  json s = Typed("string", description);
  s["format"] = "date-time";
  return s;
}

json Seconds(std::string_view description) { return Typed("number", description); }

json Score(std::string_view description) { return Range(Typed("number", description), -1.0, 1.0); }

json Param(std::string_view name, std::string_view in, json schema, std::string_view description,
           bool required = false) {
  json p;
  p["name"] = name;
  p["in"] = in;
  p["required"] = required;
  p["description"] = description;
  p["schema"] = std::move(schema);
  return p;
}

json QueryParam(std::string_view name, json schema, std::string_view description) {
  return Param(name, "query", std::move(schema), description);
}

json PathParamDoc(json schema, std::string_view description) {
  json p;
  p["schema"] = std::move(schema);
  p["description"] = description;
  return p;
}

json WithRequestIdHeader(json response) {
  response["headers"]["X-Request-Id"] = HeaderRef("XRequestId");
  return response;
}

json JsonResponse(std::string_view description, json schema) {
  json r;
  r["description"] = description;
  r["content"]["application/json"]["schema"] = std::move(schema);
  return WithRequestIdHeader(std::move(r));
}

json TextResponse(std::string_view description, std::string_view media_type,
                  std::string_view schema_description) {
  json r;
  r["description"] = description;
  r["content"][std::string(media_type)]["schema"] = Typed("string", schema_description);
  return WithRequestIdHeader(std::move(r));
}

// A request body accepted both as multipart/form-data and as JSON.
json FormOrJsonBody(std::string_view description, std::string_view form_schema,
                    std::string_view json_schema, const std::vector<std::string>& file_fields) {
  json b;
  b["required"] = true;
  b["description"] = description;
  json& form = b["content"]["multipart/form-data"];
  form["schema"] = Ref(form_schema);
  for (const std::string& field : file_fields) {
    form["encoding"][field]["contentType"] = "audio/*, application/octet-stream";
  }
  b["content"]["application/json"]["schema"] = Ref(json_schema);
  return b;
}

json JsonBody(std::string_view description, std::string_view schema) {
  json b;
  b["required"] = true;
  b["description"] = description;
  b["content"]["application/json"]["schema"] = Ref(schema);
  return b;
}

// ---------------------------------------------------------------------------------------------
// Errors.

std::string_view DefaultErrorDescription(int status) {
  switch (status) {
    case 400:
      return "Bad request: a malformed body or path, or a missing or invalid field "
             "(error_code invalid_argument or bad_request).";
    case 401:
      return "No API key, or an unknown or revoked one (unauthenticated).";
    case 403:
      return "The API key's role does not allow this (permission_denied): an admin key is needed.";
    case 404:
      return "Not found (not_found).";
    case 409:
      return "Conflicts with the stored state (already_exists).";
    case 413:
      return "The body or the audio is over the limit (too_large).";
    case 415:
      return "Unsupported audio format or content type (unsupported).";
    case 422:
      return "The audio was decoded but is unusable, e.g. it holds no speech (unusable).";
    case 429:
      return "Rate limit exceeded (resource_exhausted); retry after Retry-After seconds.";
    case 500:
      return "Internal error (internal); the message names the request id to quote.";
    case 503:
      return "Overloaded or shutting down (unavailable); retry after Retry-After seconds.";
    default:
      return "Error.";
  }
}

json ErrorResponseObject(int status, std::string_view description) {
  json r = JsonResponse(description, Ref("Error"));
  if (status == 401) r["headers"]["WWW-Authenticate"] = HeaderRef("WWWAuthenticate");
  if (status == 429 || status == 503) r["headers"]["Retry-After"] = HeaderRef("RetryAfter");
  return r;
}

// ---------------------------------------------------------------------------------------------
// The operations this server knows, keyed by method + pattern.

struct ErrorCase {
  int status = 0;
  std::string_view description;  // empty: DefaultErrorDescription
};

struct OperationSpec {
  Method method = Method::kGet;
  std::string_view pattern;
  std::string_view operation_id;
  std::string_view tag;
  std::string_view summary;
  std::string_view description;
  json query_params = json::array();
  json path_params = json::object();  // name -> {"schema", "description"}
  json request_body;                  // null: no body
  json responses = json::object();    // success (and other non-error) responses by status
  std::vector<ErrorCase> errors;      // beyond those the route's access implies
};

json UserIdPathParam() {
  json p = json::object();
  p["user_id"] = PathParamDoc(Ref("UserId"), "The user's id (percent-encode reserved characters).");
  return p;
}

json ThresholdSchema() {
  return Range(Typed("number",
                     "A fixed decision threshold on the raw cosine score, in [-1, 1], instead of "
                     "the security level (no normalisation; the quality gates still apply)."),
               -1.0, 1.0);
}

json SecurityLevelSchema() {
  json s = Enum("string", {"high", "balanced", "convenient"},
                "The operating point: target false-accept rate 0.1 %, 1 %, 5 %. Default: "
                "service.security_level (balanced).");
  return s;
}

json ProbeQualitySchema() {
  json p;
  p["speech_s"] = Seconds("Net speech, seconds.");
  p["snr_db"] = Typed("number", "Estimated speech-to-noise ratio, dB.");
  p["clipping_ratio"] = Typed("number", "Share of samples in clipped runs.");
  p["bandwidth_hz"] = Typed("number", "Effective audio bandwidth, Hz.");
  p["narrowband"] = Typed("boolean", "A telephone (8 kHz) channel, even if resampled.");
  p["channel"] =
      Enum("string", {"wideband", "telephone"}, "The calibration the probe was judged with.");
  return Object(std::move(p),
                {"speech_s", "snr_db", "clipping_ratio", "bandwidth_hz", "narrowband", "channel"});
}

std::vector<OperationSpec> BuildSpecs() {
  std::vector<OperationSpec> specs;

  {
    OperationSpec s;
    s.method = Method::kPost;
    s.pattern = "/api/v1/voiceprint/register";
    s.operation_id = "registerVoiceprint";
    s.tag = "voiceprints";
    s.summary = "Enroll a speaker, or add samples to an enrolled one";
    s.description =
        "Embeds each uploaded recording, checks the samples against each other and stores the "
        "voiceprint. Several samples may be sent at once (repeat `audio`, or use `audio[]`). When "
        "`user_id` names an existing user the samples are added to it (200, created=false); "
        "samples from another model are replaced. The quality report covers this call's samples.";
    s.request_body = FormOrJsonBody(
        "The recordings and the user's profile, as multipart/form-data or as JSON with "
        "base64-encoded audio.",
        "RegisterForm", "RegisterJson", {"audio", "audio[]"});
    s.responses["201"] = JsonResponse("A new user was enrolled.", Ref("RegisterResponse"));
    s.responses["200"] = JsonResponse("Samples were added to an existing user (created=false).",
                                      Ref("RegisterResponse"));
    s.errors = {
        {400,
         "Missing name or audio, too many samples, a bad user_id, metadata that is not a "
         "JSON object, invalid base64 or a malformed body (invalid_argument)."},
        {409, "The user or a sample id was created concurrently (already_exists)."},
        {413, ""},
        {415, ""},
        {422, "Too little speech, or samples too inconsistent to be one speaker (unusable)."},
        {503, ""}};
    specs.push_back(std::move(s));
  }
  {
    OperationSpec s;
    s.method = Method::kPost;
    s.pattern = "/api/v1/voiceprint/verify";
    s.operation_id = "verifyVoiceprint";
    s.tag = "voiceprints";
    s.summary = "Verify a speaker (1:1, or best match when no user_id)";
    s.description =
        "Scores one recording against the claimed user's voiceprint (`user_id`), or against all "
        "active users when `user_id` is absent, and answers the calibrated verdict at the "
        "security level (AS-Norm, per-channel calibration, the level's threshold for this much "
        "speech). Only active users verify. When the recording cannot be judged (too little "
        "speech, clipped, too noisy) the answer is 200 with verified=false, inconclusive=true and "
        "a reason.";
    s.request_body =
        FormOrJsonBody("One recording, and optionally the claimed user and a threshold.",
                       "VerifyForm", "VerifyJson", {"audio"});
    s.responses["200"] =
        JsonResponse("The decision (verified may be false; see reason and inconclusive).",
                     Ref("VerifyResponse"));
    s.errors = {{400,
                 "Missing audio, a bad user_id, a threshold outside [-1, 1] or an unknown "
                 "security_level."},
                {404, "The claimed user_id is not enrolled (not_found)."},
                {413, ""},
                {415, ""},
                {503, ""}};
    specs.push_back(std::move(s));
  }
  {
    OperationSpec s;
    s.method = Method::kPost;
    s.pattern = "/api/v1/voiceprint/identify";
    s.operation_id = "identifySpeaker";
    s.tag = "voiceprints";
    s.summary = "Identify a speaker (1:N over active users)";
    s.description =
        "Ranks the active users by (normalised) similarity to one recording and returns the "
        "top_k. identified is true when the best match is accepted at the security level.";
    s.request_body = FormOrJsonBody("One recording, and optionally top_k and a threshold.",
                                    "IdentifyForm", "IdentifyJson", {"audio"});
    s.responses["200"] = JsonResponse("The best matches, best first.", Ref("IdentifyResponse"));
    s.errors = {{400,
                 "Missing audio, top_k outside [1, 100], a threshold outside [-1, 1] or an "
                 "unknown security_level."},
                {413, ""},
                {415, ""},
                {422, "The recording holds no usable speech (unusable)."},
                {503, ""}};
    specs.push_back(std::move(s));
  }
  {
    OperationSpec s;
    s.method = Method::kGet;
    s.pattern = "/api/v1/voiceprint/{user_id}";
    s.operation_id = "getVoiceprint";
    s.tag = "voiceprints";
    s.summary = "Get a user's voiceprint record";
    s.description =
        "The profile, status and samples of one user. The voiceprint vector itself is returned "
        "only to admin keys that ask for it with include_embedding=true.";
    s.path_params = UserIdPathParam();
    json include = Typed("boolean");
    include["default"] = false;
    s.query_params.push_back(
        QueryParam("include_embedding", include,
                   "Admin keys only: add the voiceprint vector (`embedding`) to the answer."));
    s.responses["200"] = JsonResponse("The record.", Ref("Voiceprint"));
    s.errors = {{400, "A bad user_id or include_embedding value."},
                {403, "include_embedding=true with a client key (permission_denied)."},
                {404, "No such user (not_found)."}};
    specs.push_back(std::move(s));
  }
  {
    OperationSpec s;
    s.method = Method::kDelete;
    s.pattern = "/api/v1/voiceprint/{user_id}";
    s.operation_id = "deleteVoiceprint";
    s.tag = "voiceprints";
    s.summary = "Delete a user and every sample";
    s.description =
        "Removes the record and all its embeddings from storage and from the 1:N index. The audit "
        "log keeps (non-biometric) entries about the user, including this delete.";
    s.path_params = UserIdPathParam();
    s.responses["200"] = JsonResponse("Deleted.", Ref("MessageResponse"));
    s.errors = {{400, "A bad user_id."}, {404, "No such user (not_found)."}};
    specs.push_back(std::move(s));
  }
  {
    OperationSpec s;
    s.method = Method::kPut;
    s.pattern = "/api/v1/voiceprint/{user_id}/status";
    s.operation_id = "setVoiceprintStatus";
    s.tag = "voiceprints";
    s.summary = "Set a user's status";
    s.description =
        "Only active users verify and take part in identification; the other statuses keep the "
        "record but take it out of matching.";
    s.path_params = UserIdPathParam();
    s.request_body = JsonBody("The new status.", "StatusUpdateRequest");
    s.responses["200"] =
        JsonResponse("The status now in force and the record's version.", Ref("StatusResponse"));
    s.errors = {{400, "A bad user_id, malformed JSON or an unknown status."},
                {404, "No such user (not_found)."},
                {413, ""}};
    specs.push_back(std::move(s));
  }
  {
    OperationSpec s;
    s.method = Method::kGet;
    s.pattern = "/api/v1/voiceprints";
    s.operation_id = "listVoiceprints";
    s.tag = "voiceprints";
    s.summary = "List enrolled users";
    s.description = "A page of record summaries, oldest first.";
    s.query_params.push_back(
        QueryParam("status", Ref("UserStatus"), "Only users with this status; all when absent."));
    json limit = IntRange(Typed("integer"), 1, 1000);
    limit["default"] = 100;
    s.query_params.push_back(QueryParam("limit", limit, "Records per page."));
    json offset = Typed("integer");
    offset["minimum"] = 0;
    offset["default"] = 0;
    s.query_params.push_back(QueryParam("offset", offset, "Records to skip."));
    json q = Typed("string");
    q["maxLength"] = 256;
    s.query_params.push_back(QueryParam(
        "q", q,
        "Only users whose id or name contains this text (ASCII case-insensitive). The store is "
        "scanned, up to 100,000 records; `truncated` says when it stopped there."));
    s.responses["200"] = JsonResponse("A page of users.", Ref("VoiceprintList"));
    s.errors = {{400, "A bad status, limit or offset."}};
    specs.push_back(std::move(s));
  }
  {
    OperationSpec s;
    s.method = Method::kGet;
    s.pattern = "/api/v1/stats";
    s.operation_id = "getStats";
    s.tag = "statistics";
    s.summary = "Service statistics";
    s.description = "Counters of the voiceprint engine, the storage and the cluster.";
    s.responses["200"] = JsonResponse("The statistics.", Ref("StatsResponse"));
    s.errors = {{503, "The storage backend cannot be asked (unavailable)."}};
    specs.push_back(std::move(s));
  }
  {
    OperationSpec s;
    s.method = Method::kGet;
    s.pattern = "/api/v1/whoami";
    s.operation_id = "whoAmI";
    s.tag = "statistics";
    s.summary = "The caller's key";
    s.description =
        "The role and name of the API key that made the request, and whether the server checks "
        "keys at all (false under `voxgate serve --dev`). The console signs in with it.";
    json schema = {{"type", "object"},
                   {"required", {"success", "auth_enabled", "role", "key_name"}},
                   {"properties",
                    {{"success", {{"type", "boolean"}}},
                     {"auth_enabled", {{"type", "boolean"}}},
                     {"role", {{"type", "string"}, {"enum", {"admin", "client"}}}},
                     {"key_name", {{"type", "string"}}},
                     {"key_id", {{"type", "string"}}}}}};
    s.responses["200"] = JsonResponse("The caller.", schema);
    specs.push_back(std::move(s));
  }
  {
    OperationSpec s;
    s.method = Method::kGet;
    s.pattern = "/api/v1/storage/stats";
    s.operation_id = "getStorageStats";
    s.tag = "statistics";
    s.summary = "Storage statistics";
    s.description = "Counts, sizes, schema version and encryption of the voiceprint store.";
    s.responses["200"] = JsonResponse("The storage statistics.", Ref("StorageStatsResponse"));
    s.errors = {{503, "The storage backend cannot be asked (unavailable)."}};
    specs.push_back(std::move(s));
  }
  {
    OperationSpec s;
    s.method = Method::kGet;
    s.pattern = "/api/v1/cluster/status";
    s.operation_id = "getClusterStatus";
    s.tag = "cluster";
    s.summary = "Cluster status";
    s.description = "The nodes of the cluster and their health (a single node reports itself).";
    s.responses["200"] = JsonResponse("The cluster status.", Ref("ClusterStatusResponse"));
    specs.push_back(std::move(s));
  }
  {
    OperationSpec s;
    s.method = Method::kGet;
    s.pattern = "/api/v1/cluster/nodes";
    s.operation_id = "listClusterNodes";
    s.tag = "cluster";
    s.summary = "Cluster nodes";
    s.description = "The nodes of the cluster (a single node reports itself).";
    s.responses["200"] = JsonResponse("The nodes.", Ref("ClusterNodesResponse"));
    specs.push_back(std::move(s));
  }
  {
    OperationSpec s;
    s.method = Method::kGet;
    s.pattern = "/api/v1/audit";
    s.operation_id = "listAuditEvents";
    s.tag = "audit";
    s.summary = "Read the audit log";
    s.description =
        "A page of the append-only audit log (register, add_samples, verify, identify, delete, "
        "status, update events), newest first. Entries hold decisions and scores, never audio or "
        "embeddings. Page with before_id (the last id of the previous page).";
    s.query_params.push_back(QueryParam("user_id", Ref("UserId"), "Only this user's events."));
    s.query_params.push_back(QueryParam(
        "action",
        Enum("string",
             {"register", "add_samples", "verify", "identify", "delete", "status", "update"}, ""),
        "Only events of this action."));
    json limit = IntRange(Typed("integer"), 1, 1000);
    limit["default"] = 100;
    s.query_params.push_back(QueryParam("limit", limit, "Events per page."));
    json before = Typed("integer");
    before["minimum"] = 1;
    s.query_params.push_back(
        QueryParam("before_id", before, "Only events with an id below this (a stable cursor)."));
    for (const char* name : {"since", "until"}) {
      json t = Typed("string");
      t["format"] = "date-time";
      s.query_params.push_back(QueryParam(
          name, t,
          "Only events at or after (since) / at or before (until) this UTC time "
          "(2026-05-01T12:00:00Z). With either, the answer has `more` instead of `total`."));
    }
    s.responses["200"] = JsonResponse("A page of events.", Ref("AuditPage"));
    s.errors = {{400, "A bad user_id, action, limit, before_id, since or until."},
                {503, "The storage backend cannot be asked (unavailable)."}};
    specs.push_back(std::move(s));
  }
  {
    OperationSpec s;
    s.method = Method::kGet;
    s.pattern = "/health";
    s.operation_id = "getHealth";
    s.tag = "system";
    s.summary = "Health of the server and its components";
    s.description = "Always 200 while the server runs; status is degraded when a component fails.";
    s.responses["200"] = JsonResponse("The health report.", Ref("Health"));
    specs.push_back(std::move(s));
  }
  {
    OperationSpec s;
    s.method = Method::kGet;
    s.pattern = "/ready";
    s.operation_id = "getReadiness";
    s.tag = "system";
    s.summary = "Readiness probe";
    s.description =
        "200 when every component required for serving is up; 503 (same body) when one fails or "
        "the server is shutting down.";
    s.responses["200"] = JsonResponse("Ready.", Ref("Readiness"));
    json not_ready = JsonResponse("Not ready; `failing` names the components.", Ref("Readiness"));
    s.responses["503"] = std::move(not_ready);
    specs.push_back(std::move(s));
  }
  {
    OperationSpec s;
    s.method = Method::kGet;
    s.pattern = "/metrics";
    s.operation_id = "getMetrics";
    s.tag = "system";
    s.summary = "Prometheus metrics";
    s.description =
        "Requests by route and status, latency histograms, inference time and queue depth, "
        "enrolled users, verification outcomes and store errors, in the Prometheus text format "
        "0.0.4 (Content-Type: text/plain; version=0.0.4).";
    s.responses["200"] =
        TextResponse("The metrics.", "text/plain", "Prometheus text exposition format 0.0.4.");
    specs.push_back(std::move(s));
  }
  {
    OperationSpec s;
    s.method = Method::kGet;
    s.pattern = "/api/v1/openapi.json";
    s.operation_id = "getOpenApiDocument";
    s.tag = "system";
    s.summary = "This OpenAPI document";
    s.description = "The OpenAPI 3.1 description of every route the server serves.";
    s.responses["200"] =
        JsonResponse("The document.", Typed("object", "An OpenAPI 3.1.0 document."));
    specs.push_back(std::move(s));
  }
  {
    OperationSpec s;
    s.method = Method::kGet;
    s.pattern = "/api/v1/docs";
    s.operation_id = "getDocsPage";
    s.tag = "system";
    s.summary = "API documentation page";
    s.description = "A self-contained HTML page that renders this document.";
    s.responses["200"] = TextResponse("The page.", "text/html", "HTML.");
    specs.push_back(std::move(s));
  }
  return specs;
}

const std::vector<OperationSpec>& Specs() {
  static const auto* specs = new std::vector<OperationSpec>(BuildSpecs());
  return *specs;
}

const OperationSpec* FindSpec(Method method, std::string_view pattern) {
  for (const OperationSpec& s : Specs()) {
    if (s.method == method && s.pattern == pattern) return &s;
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Components.

json RecordProperties() {
  json p;
  p["user_id"] = Ref("UserId");
  p["name"] = Typed("string", "Display name.");
  p["status"] = Ref("UserStatus");
  p["created_at"] = Timestamp("When the user was enrolled (ISO 8601, UTC).");
  p["updated_at"] = Timestamp("Last change of the record (ISO 8601, UTC).");
  p["metadata"] = FreeObject("The metadata given at enrollment.");
  p["version"] = Typed("integer", "1 at creation, +1 on every change.");
  p["model_id"] = Typed("string", "The model that made the samples.");
  p["num_samples"] = Typed("integer", "Enrollment samples stored.");
  return p;
}

json EnrollmentFields(bool multipart) {
  json p;
  if (multipart) {
    json file = Typed("string", "An audio file (WAV, FLAC, MP3, Ogg/Opus, ... any FFmpeg reads).");
    file["contentMediaType"] = "application/octet-stream";
    p["audio"] = ArrayOf(file,
                         "One or more recordings (repeat the field for several samples; up to "
                         "service.max_samples_per_request, default 10).");
    p["audio[]"] = ArrayOf(file, "Alternative name of `audio` for several samples.");
    p["metadata"] = Typed("string", "A JSON object, as a string (default {}).");
    p["metadata"]["contentMediaType"] = "application/json";
  } else {
    json one = Ref("Base64Audio");
    json oneof = json::array();
    oneof.push_back(one);
    oneof.push_back(ArrayOf(one));
    p["audio"]["oneOf"] = std::move(oneof);
    p["audio"]["description"] = "One base64-encoded recording, or an array of them.";
    p["metadata"] = FreeObject("Free-form metadata stored with the user (default {}).");
  }
  p["name"] = Typed("string", "Display name (required).");
  p["name"]["minLength"] = 1;
  p["user_id"] =
      Described(Ref("UserId"), "The user to enroll or to add samples to; generated when absent.");
  return p;
}

json ProbeFields(bool multipart, bool identify) {
  json p;
  if (multipart) {
    json file = Typed("string", "An audio file (any format FFmpeg reads).");
    file["contentMediaType"] = "application/octet-stream";
    p["audio"] = std::move(file);
  } else {
    p["audio"] = Described(Ref("Base64Audio"), "One base64-encoded recording.");
  }
  if (identify) {
    json top_k = IntRange(Typed("integer", "How many matches to return."), 1, 100);
    top_k["default"] = 5;
    p["top_k"] = std::move(top_k);
  } else {
    p["user_id"] = Described(Ref("UserId"),
                             "The claimed user (1:1). Absent: best match over all active users.");
  }
  p["threshold"] = ThresholdSchema();
  p["security_level"] = SecurityLevelSchema();
  return p;
}

json ScoredUser() {
  json p;
  p["user_id"] = Ref("UserId");
  p["name"] = Typed("string");
  p["score"] = Score("Cosine similarity in [-1, 1].");
  p["confidence"] = Typed("number", "Calibrated probability of the same speaker, in [0, 1].");
  return Object(std::move(p), {"user_id", "name", "score", "confidence"});
}

json ClusterNode() {
  json p;
  p["node_id"] = Typed("string");
  p["host"] = Typed("string");
  p["port"] = Typed("integer");
  p["weight"] = Typed("number", "Load-balancing weight.");
  p["is_healthy"] = Typed("boolean");
  p["active_connections"] = Typed("integer");
  p["total_requests"] = Typed("integer");
  p["error_count"] = Typed("integer");
  p["avg_response_time"] = Typed("number", "Mean response time, seconds.");
  p["last_health_check"] = Timestamp("Time of the last health check (ISO 8601, UTC).");
  p["metadata"] = FreeObject("Node details.");
  return Object(std::move(p), {"node_id", "host", "port", "is_healthy"});
}

json StorageStats() {
  json p;
  p["backend"] = Typed("string", "\"sqlite\" (later \"redis\", \"postgres\", \"tiered\").");
  p["healthy"] = Typed("boolean", "The backend answered.");
  p["users"] = Typed("integer");
  p["users_by_status"] = Typed("object", "Users per status name, zeros included.");
  p["users_by_status"]["additionalProperties"] = Typed("integer");
  p["samples"] = Typed("integer");
  p["audit_events"] = Typed("integer");
  p["bytes_on_disk"] = Typed("integer", "Database files (SQLite: database and WAL), bytes.");
  p["schema_version"] = Typed("integer");
  p["encryption"] = Typed("string", "Encryption of embeddings at rest (\"aes-256-gcm\").");
  p["key_fingerprint"] = Typed("string", "Fingerprint of the encryption key (never the key).");
  p["details"] = Typed("object", "Backend specifics (path, journal mode, ...).");
  p["details"]["additionalProperties"] = Typed("string");
  p["tiers"] = ArrayOf(Ref("StorageStats"), "Tiered stores: one entry per tier, outermost first.");
  return Object(std::move(p), {"backend", "healthy", "users", "samples"});
}

json Schemas() {
  json s;

  {
    json p;
    p["success"]["const"] = false;
    p["success"]["description"] = "Always false on errors.";
    p["error"] = Typed("string", "What went wrong, for people.");
    p["error_code"] = Typed("string", "For programs: a stable machine code.");
    p["error_code"]["examples"] = std::vector<std::string>{
        "invalid_argument",   "unauthenticated", "permission_denied", "not_found",
        "already_exists",     "too_large",       "unsupported",       "unusable",
        "resource_exhausted", "unavailable",     "internal",          "method_not_allowed",
        "bad_request"};
    p["request_id"] = Typed("string", "The request id (also in X-Request-Id); quote it.");
    s["Error"] = Object(std::move(p), {"success", "error", "error_code", "request_id"},
                        "The body of every error response.");
    json example;
    example["success"] = false;
    example["error"] = "voiceprint not found: alice";
    example["error_code"] = "not_found";
    example["request_id"] = "3f9a1c0b7d2e4a65";
    s["Error"]["examples"] = json::array();
    s["Error"]["examples"].push_back(std::move(example));
  }

  json user_id = Typed("string", "1-128 characters of [A-Za-z0-9_.@-], not starting with '.'.");
  user_id["minLength"] = 1;
  user_id["maxLength"] = 128;
  user_id["pattern"] = "^[A-Za-z0-9_@-][A-Za-z0-9_.@-]{0,127}$";
  s["UserId"] = std::move(user_id);
  s["UserStatus"] = Enum("string", {"active", "inactive", "expired", "blocked"},
                         "Only active users verify and take part in identification.");
  json b64 = Typed("string", "A base64-encoded audio file (any format FFmpeg reads).");
  b64["contentEncoding"] = "base64";
  b64["contentMediaType"] = "audio/*";
  s["Base64Audio"] = std::move(b64);
  s["ScoredUser"] = ScoredUser();

  // Request bodies.
  json register_form = Object(EnrollmentFields(true), {"name"},
                              "At least one `audio` or `audio[]` part is required.");
  register_form["anyOf"] = json::array();
  for (const char* field : {"audio", "audio[]"}) {
    json req;
    req["required"] = json::array();
    req["required"].push_back(field);
    register_form["anyOf"].push_back(std::move(req));
  }
  s["RegisterForm"] = std::move(register_form);
  s["RegisterJson"] = Object(EnrollmentFields(false), {"name", "audio"});
  s["VerifyForm"] = Object(ProbeFields(true, false), {"audio"});
  s["VerifyJson"] = Object(ProbeFields(false, false), {"audio"});
  s["IdentifyForm"] = Object(ProbeFields(true, true), {"audio"});
  s["IdentifyJson"] = Object(ProbeFields(false, true), {"audio"});
  {
    json p;
    p["status"] = Ref("UserStatus");
    s["StatusUpdateRequest"] = Object(std::move(p), {"status"});
  }

  // Responses.
  {
    json q;
    q["total_speech_s"] = Seconds("Net speech over this call's samples, seconds.");
    q["min_consistency"] = Score("The lowest per-sample consistency.");
    q["consistency"] = ArrayOf(Typed("number"),
                               "Per sample: score against the mean of the other samples "
                               "(1.0 for a single sample).");
    q["sample_speech_s"] = ArrayOf(Typed("number"), "Per sample: net speech, seconds.");
    s["EnrollmentQuality"] = Object(std::move(q), {"total_speech_s", "min_consistency"},
                                    "The enrollment quality report.");
  }
  {
    json p;
    p["success"] = SuccessTrue();
    p["user_id"] = Ref("UserId");
    p["message"] = Typed("string");
    p["created"] = Typed("boolean", "true: a new user; false: samples were added.");
    p["version"] = Typed("integer", "The record's version after this call.");
    p["samples_used"] = Typed("integer", "Samples of this call that went into the voiceprint.");
    p["total_samples"] = Typed("integer", "Samples the user has now.");
    p["speech_s"] = Seconds("Net speech of this call's samples, seconds.");
    p["quality"] = Ref("EnrollmentQuality");
    p["warnings"] = ArrayOf(Typed("string"), "Quality warnings (short or inconsistent samples).");
    p["model"] = Typed("string", "The id of the model that made the embeddings.");
    p["processing_time"] = Seconds("Server-side processing time, seconds.");
    p["timestamp"] = Timestamp("ISO 8601, UTC.");
    s["RegisterResponse"] =
        Object(std::move(p), {"success", "user_id", "message", "created", "version", "samples_used",
                              "total_samples", "processing_time", "timestamp"});
  }
  {
    json p;
    p["success"] = SuccessTrue();
    p["verified"] = Typed("boolean");
    p["user_id"] = Typed("string", "The claimed user, or the best match.");
    p["confidence"] = Typed("number",
                            "Calibrated probability that user_id is speaking, at equal priors "
                            "(uncalibrated model: the cosine score).");
    p["score"] = Score("The raw cosine score of user_id.");
    p["llr"] = Typed("number", "Calibrated log-likelihood ratio.");
    p["threshold"] = Score("The raw-cosine threshold this trial was held to.");
    p["security_level"] = SecurityLevelSchema();
    p["calibrated"] = Typed("boolean", "The verdict came from the model's calibration.");
    p["quality"] = ProbeQualitySchema();
    p["processing_time"] = Seconds("Server-side processing time, seconds.");
    p["timestamp"] = Timestamp("ISO 8601, UTC.");
    p["all_scores"] = ArrayOf(Ref("ScoredUser"), "The best-scoring active users, best first.");
    p["speech_s"] = Seconds("Net speech in the recording, seconds.");
    p["inconclusive"] = Typed("boolean",
                              "Present (true) when the probe cannot be judged at the level: too "
                              "little speech, clipped, too noisy (see reason).");
    p["reason"] = Typed("string", "Why not verified, or why inconclusive.");
    s["VerifyResponse"] =
        Object(std::move(p), {"success", "verified", "user_id", "confidence", "threshold",
                              "processing_time", "timestamp", "all_scores"});
  }
  {
    json p;
    p["success"] = SuccessTrue();
    p["identified"] = Typed("boolean", "The best match is accepted at the security level.");
    p["user_id"] = Typed("string", "The best match (when identified).");
    p["matches"] = ArrayOf(Ref("ScoredUser"), "Up to top_k active users, best first.");
    p["threshold"] = Score("The raw-cosine threshold the best match was held to.");
    p["confidence"] = Typed("number", "Calibrated probability of the best match.");
    p["llr"] = Typed("number", "Calibrated log-likelihood ratio of the best match.");
    p["security_level"] = SecurityLevelSchema();
    p["quality"] = ProbeQualitySchema();
    p["inconclusive"] = Typed("boolean", "Present (true) when the probe cannot be judged.");
    p["reason"] = Typed("string", "Why not identified, or why inconclusive.");
    p["speech_s"] = Seconds("Net speech in the recording, seconds.");
    p["processing_time"] = Seconds("Server-side processing time, seconds.");
    p["timestamp"] = Timestamp("ISO 8601, UTC.");
    s["IdentifyResponse"] = Object(std::move(p), {"success", "identified", "matches", "threshold",
                                                  "processing_time", "timestamp"});
  }
  {
    json p;
    p["sample_id"] = Typed("string");
    p["speech_s"] = Seconds("Net speech that went into the sample's embedding, seconds.");
    p["created_at"] = Timestamp("ISO 8601, UTC.");
    p["model_id"] = Typed("string");
    p["narrowband"] = Typed("boolean",
                            "Made from telephone (narrow-band) audio. A voiceprint enrolled mostly "
                            "from such samples judges wideband probes on the cross-channel "
                            "calibration, and telephone probes on the telephone one.");
    s["Sample"] =
        Object(std::move(p), {"sample_id", "speech_s", "created_at", "model_id", "narrowband"});
  }
  {
    json p = RecordProperties();
    p["success"] = SuccessTrue();
    p["samples"] = ArrayOf(Ref("Sample"));
    p["embedding"] = ArrayOf(Typed("number"),
                             "The voiceprint vector; only with include_embedding=true (admin).");
    s["Voiceprint"] = Object(std::move(p), {"success", "user_id", "name", "status", "created_at",
                                            "updated_at", "metadata", "version"});
  }
  s["VoiceprintSummary"] =
      Object(RecordProperties(), {"user_id", "name", "status"}, "A record without its samples.");
  {
    json p;
    p["success"] = SuccessTrue();
    p["voiceprints"] = ArrayOf(Ref("VoiceprintSummary"));
    p["total"] = Typed("integer", "Users matching the filter, over all pages.");
    p["limit"] = Typed("integer");
    p["offset"] = Typed("integer");
    s["VoiceprintList"] =
        Object(std::move(p), {"success", "voiceprints", "total", "limit", "offset"});
  }
  {
    json p;
    p["success"] = SuccessTrue();
    p["message"] = Typed("string");
    s["MessageResponse"] = Object(std::move(p), {"success", "message"});
  }
  {
    json p;
    p["success"] = SuccessTrue();
    p["user_id"] = Ref("UserId");
    p["status"] = Ref("UserStatus");
    p["version"] = Typed("integer");
    s["StatusResponse"] = Object(std::move(p), {"success", "user_id", "status", "version"});
  }
  {
    json st;
    st["voiceprint_engine"] =
        FreeObject("Model, registrations, verifications and outcomes, indexed users.");
    st["distributed_storage"] = FreeObject("Storage statistics (see StorageStats).");
    st["cluster"] = FreeObject("Cluster summary.");
    json p;
    p["success"] = SuccessTrue();
    p["statistics"] =
        Object(std::move(st), {"voiceprint_engine", "distributed_storage", "cluster"});
    p["timestamp"] = Timestamp("ISO 8601, UTC.");
    s["StatsResponse"] = Object(std::move(p), {"success", "statistics", "timestamp"});
  }
  s["StorageStats"] = StorageStats();
  {
    json p;
    p["success"] = SuccessTrue();
    p["storage_stats"] = Ref("StorageStats");
    s["StorageStatsResponse"] = Object(std::move(p), {"success", "storage_stats"});
  }
  s["ClusterNode"] = ClusterNode();
  {
    json cs;
    cs["total_nodes"] = Typed("integer");
    cs["healthy_nodes"] = Typed("integer");
    cs["nodes"] = ArrayOf(Ref("ClusterNode"));
    json p;
    p["success"] = SuccessTrue();
    p["cluster_status"] = Object(std::move(cs), {"total_nodes", "healthy_nodes", "nodes"});
    s["ClusterStatusResponse"] = Object(std::move(p), {"success", "cluster_status"});
  }
  {
    json p;
    p["success"] = SuccessTrue();
    p["nodes"] = ArrayOf(Ref("ClusterNode"));
    s["ClusterNodesResponse"] = Object(std::move(p), {"success", "nodes"});
  }
  {
    json p;
    p["id"] = Typed("integer", "Increases with time; use as before_id to page.");
    p["ts"] = Timestamp("ISO 8601, UTC.");
    p["action"] =
        Enum("string",
             {"register", "add_samples", "verify", "identify", "delete", "status", "update"}, "");
    p["user_id"] = Typed("string", "The user concerned (empty for e.g. an unmatched identify).");
    p["actor"] =
        Typed("string", "The id of the API key that made the request (empty in dev mode).");
    p["request_id"] = Typed("string");
    p["detail"] = FreeObject("Decisions and scores; never audio or embeddings.");
    s["AuditEvent"] = Object(std::move(p), {"id", "ts", "action"});
  }
  {
    json p;
    p["success"] = SuccessTrue();
    p["events"] = ArrayOf(Ref("AuditEvent"), "Newest first.");
    p["total"] = Typed("integer", "Events matching the filter, over all pages.");
    s["AuditPage"] = Object(std::move(p), {"success", "events", "total"});
  }
  {
    json component;
    component["status"] = Enum("string", {"healthy", "unhealthy"}, "");
    component["message"] = Typed("string", "Why unhealthy.");
    json component_schema = Object(std::move(component), {"status"}, "Plus component details.");
    component_schema["additionalProperties"] = true;
    json p;
    p["status"] = Enum("string", {"healthy", "degraded"}, "degraded: some component fails.");
    p["timestamp"] = Timestamp("ISO 8601, UTC.");
    p["components"] = Typed("object", "Per component.");
    p["components"]["additionalProperties"] = std::move(component_schema);
    s["Health"] = Object(std::move(p), {"status", "timestamp", "components"});
  }
  {
    json p;
    p["status"] = Enum("string", {"ready", "not_ready"}, "");
    p["timestamp"] = Timestamp("ISO 8601, UTC.");
    p["components"] = Typed("object", "Per component: \"ok\" or why it fails.");
    p["components"]["additionalProperties"] = Typed("string");
    p["failing"] = ArrayOf(Typed("string"), "The failing components.");
    s["Readiness"] = Object(std::move(p), {"status", "timestamp", "components"});
  }
  s["GenericResponse"] = FreeObject("A JSON body.");
  return s;
}

json Components() {
  json c;
  c["schemas"] = Schemas();

  json& bearer = c["securitySchemes"]["bearerAuth"];
  bearer["type"] = "http";
  bearer["scheme"] = "bearer";
  bearer["bearerFormat"] = "vx_...";
  bearer["description"] =
      "An API key as `Authorization: Bearer vx_...` (create one with `voxgate keys create`).";
  json& api_key = c["securitySchemes"]["apiKeyAuth"];
  api_key["type"] = "apiKey";
  api_key["in"] = "header";
  api_key["name"] = "X-API-Key";
  api_key["description"] = "The same API key in an X-API-Key header.";

  c["headers"]["XRequestId"]["description"] =
      "The request id: the client's well-formed X-Request-Id, else a generated one.";
  c["headers"]["XRequestId"]["schema"] = Typed("string");
  c["headers"]["RetryAfter"]["description"] = "Seconds to wait before retrying.";
  c["headers"]["RetryAfter"]["schema"] = Typed("integer");
  c["headers"]["WWWAuthenticate"]["description"] = "Bearer realm=\"voxgate\".";
  c["headers"]["WWWAuthenticate"]["schema"] = Typed("string");
  return c;
}

json AuthenticatedSecurity() {
  json security = json::array();
  json bearer;
  bearer["bearerAuth"] = json::array();
  security.push_back(std::move(bearer));
  json api_key;
  api_key["apiKeyAuth"] = json::array();
  security.push_back(std::move(api_key));
  return security;
}

std::string_view AccessName(Access access) {
  switch (access) {
    case Access::kPublic:
      return "public";
    case Access::kClient:
      return "client";
    case Access::kAdmin:
      return "admin";
  }
  return "admin";
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string GenericOperationId(const Route& route) {
  std::string id = Lower(MethodName(route.method));
  bool underscore = true;
  for (char c : route.pattern) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      if (underscore) id += '_';
      id += c;
      underscore = false;
    } else {
      underscore = true;
    }
  }
  return id;
}

// The path parameters of `route`, in template order, documented by `known` where it can.
json PathParameters(const Route& route, const json& known) {
  json params = json::array();
  for (const Route::Segment& seg : route.segments) {
    if (!seg.is_param) continue;
    json p;
    p["name"] = seg.text;
    p["in"] = "path";
    p["required"] = true;
    if (auto it = known.find(seg.text); it != known.end()) {
      p["description"] = it->value("description", "Path parameter " + seg.text + ".");
      p["schema"] = it->contains("schema") ? it->at("schema") : Typed("string");
    } else {
      p["description"] = "Path parameter " + seg.text + ".";
      p["schema"] = Typed("string");
    }
    params.push_back(std::move(p));
  }
  return params;
}

bool HasPathParams(const Route& route) {
  return std::any_of(route.segments.begin(), route.segments.end(),
                     [](const Route::Segment& s) { return s.is_param; });
}

json Operation(const Route& route, const OperationSpec* spec) {
  json op;
  std::map<int, std::string_view> errors;
  if (spec != nullptr) {
    op["operationId"] = spec->operation_id;
    op["summary"] = spec->summary;
    op["description"] = spec->description;
    op["tags"] = std::vector<std::string>{std::string(spec->tag)};
    json params = PathParameters(route, spec->path_params);
    for (const json& q : spec->query_params) params.push_back(q);
    if (!params.empty()) op["parameters"] = std::move(params);
    if (!spec->request_body.is_null()) op["requestBody"] = spec->request_body;
    op["responses"] = spec->responses;
    for (const ErrorCase& e : spec->errors) {
      errors[e.status] = e.description.empty() ? DefaultErrorDescription(e.status) : e.description;
    }
  } else {
    op["operationId"] = GenericOperationId(route);
    op["summary"] = std::string(MethodName(route.method)) + " " + route.pattern;
    op["description"] = "A route this server serves; no detailed description is available.";
    op["tags"] = std::vector<std::string>{"other"};
    json params = PathParameters(route, json::object());
    if (!params.empty()) op["parameters"] = std::move(params);
    op["responses"]["200"] = JsonResponse("Success.", Ref("GenericResponse"));
    if (route.method == Method::kPost || route.method == Method::kPut ||
        route.method == Method::kPatch) {
      errors.emplace(400, DefaultErrorDescription(400));
      errors.emplace(413, DefaultErrorDescription(413));
    }
  }

  // What the server itself adds, whatever the handler does.
  if (HasPathParams(route)) {
    errors.emplace(400,
                   "A path parameter is empty, a dot segment, too long or holds '/' or a "
                   "control character (invalid_argument).");
  }
  if (route.access != Access::kPublic) {
    errors.emplace(401, DefaultErrorDescription(401));
    op["security"] = AuthenticatedSecurity();
  } else {
    op["security"] = json::array();
  }
  if (route.access == Access::kAdmin) errors.emplace(403, DefaultErrorDescription(403));
  if (route.options.rate_limited) errors.emplace(429, DefaultErrorDescription(429));
  errors.emplace(500, DefaultErrorDescription(500));
  for (const auto& [status, description] : errors) {
    const std::string key = std::to_string(status);
    if (op["responses"].contains(key)) continue;  // documented by the table (e.g. /ready's 503)
    op["responses"][key] = ErrorResponseObject(status, description);
  }
  op["x-voxgate-access"] = AccessName(route.access);
  std::string access_note;
  switch (route.access) {
    case Access::kPublic:
      access_note = "Public: no API key needed.";
      break;
    case Access::kClient:
      access_note = "Needs a client or admin API key.";
      break;
    case Access::kAdmin:
      access_note = "Needs an admin API key.";
      break;
  }
  op["description"] = op["description"].get<std::string>() + "\n\n" + access_note;
  return op;
}

json Tags(bool with_other) {
  json tags = json::array();
  auto add = [&tags](std::string_view name, std::string_view description) {
    json t;
    t["name"] = name;
    t["description"] = description;
    tags.push_back(std::move(t));
  };
  add("voiceprints", "Enrollment, verification, identification and the user lifecycle.");
  add("statistics", "Service and storage statistics.");
  add("cluster", "Cluster membership and health.");
  add("audit", "The append-only audit log.");
  add("system", "Health, readiness, metrics and this documentation.");
  if (with_other) add("other", "Routes without a detailed description.");
  return tags;
}

constexpr std::string_view kApiDescription =
    "Voxgate's voiceprint service: enroll speakers, verify (1:1) and identify (1:N) them, and "
    "manage the enrolled users. Wire-compatible with the Edge-VoMID API.\n\n"
    "Authentication: send an API key as `Authorization: Bearer vx_...` or as `X-API-Key: "
    "vx_...`. Client keys may register, verify, identify and read; admin keys may do everything. "
    "Public routes (health, readiness, metrics, this documentation) need no key. In the explicit "
    "dev mode (`voxgate serve --dev`) authentication is off.\n\n"
    "Errors: every error answers JSON {\"success\":false,\"error\":\"<message>\","
    "\"error_code\":\"<code>\",\"request_id\":\"<id>\"} with the matching HTTP status. 429 and "
    "503 carry Retry-After. Every response carries X-Request-Id (a well-formed X-Request-Id sent "
    "by the client is kept).";

}  // namespace

nlohmann::json OpenApiDocument(const Router& router, std::string_view version) {
  json doc;
  doc["openapi"] = "3.1.0";
  doc["info"]["title"] = "Voxgate REST API";
  doc["info"]["version"] = version;
  doc["info"]["description"] = kApiDescription;
  json server;
  server["url"] = "/";
  server["description"] = "This server.";
  doc["servers"] = json::array();
  doc["servers"].push_back(std::move(server));
  doc["security"] = AuthenticatedSecurity();

  json paths = json::object();
  std::set<std::string> operation_ids;
  bool with_other = false;
  for (const auto& route : router.routes()) {
    if (!route->options.documented) continue;
    const OperationSpec* spec = FindSpec(route->method, route->pattern);
    json op = Operation(*route, spec);
    with_other = with_other || spec == nullptr;
    // operationIds must be unique; a generic one could in theory repeat another.
    std::string id = op["operationId"].get<std::string>();
    for (int n = 2; !operation_ids.insert(id).second; ++n) {
      id = op["operationId"].get<std::string>() + "_" + std::to_string(n);
    }
    op["operationId"] = id;
    paths[route->pattern][Lower(MethodName(route->method))] = std::move(op);
  }
  doc["paths"] = std::move(paths);
  doc["tags"] = Tags(with_other);
  doc["components"] = Components();
  return doc;
}

std::string DocsPageHtml() {
  // Self-contained: the server may run where there is no internet, so nothing is fetched but
  // the document itself, from this page's own origin. Text is put in with textContent only.
  return R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Voxgate API</title>
<style>
:root { --fg:#1d2330; --muted:#5b6474; --line:#e3e6eb; --bg:#f5f6f8; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
       color:var(--fg); background:var(--bg); }
header { background:#1d2330; color:#fff; padding:18px 28px; }
header h1 { margin:0; font-size:21px; font-weight:600; }
header .sub { color:#b8c0cc; font-size:13px; margin-top:2px; }
header a { color:#9cc7ff; }
main { max-width:1120px; margin:0 auto; padding:18px 28px 60px; }
#intro p { margin:6px 0; white-space:pre-wrap; }
#filter { width:100%; padding:8px 10px; font-size:14px; border:1px solid #c9ced6; border-radius:6px;
          margin:14px 0 6px; }
h2 { font-size:17px; margin:26px 0 4px; text-transform:capitalize; }
h2 + .tagdesc { color:var(--muted); margin-bottom:8px; }
details.op { background:#fff; border:1px solid var(--line); border-radius:7px; margin:7px 0; }
details.op > summary { cursor:pointer; padding:8px 12px; display:flex; gap:12px; align-items:center;
                       list-style:none; }
details.op > summary::-webkit-details-marker { display:none; }
details.op[open] > summary { border-bottom:1px solid var(--line); }
.body { padding:6px 16px 14px; }
.m { font:700 12px/1 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; min-width:68px;
     text-align:center; border-radius:4px; padding:5px 6px; color:#fff; background:#6b7280; }
.m.get { background:#2f7dd1; } .m.post { background:#2e9d5b; } .m.put { background:#c88a12; }
.m.delete { background:#c9413b; } .m.patch { background:#8a55c9; }
.path { font:600 14px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; }
.summary { color:var(--muted); flex:1; }
.badge { font-size:11px; border-radius:10px; padding:2px 8px; border:1px solid; white-space:nowrap; }
.badge.public { color:#2e7d4f; border-color:#9fd3b4; }
.badge.client { color:#2f6db0; border-color:#a9c8ea; }
.badge.admin { color:#b0382f; border-color:#eab0aa; }
h4 { margin:14px 0 4px; font-size:13px; text-transform:uppercase; letter-spacing:.04em;
     color:var(--muted); }
.desc { white-space:pre-wrap; margin:8px 0; }
table { border-collapse:collapse; width:100%; margin:2px 0 8px; }
th, td { text-align:left; padding:4px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { font-weight:600; font-size:12px; color:var(--muted); }
td.name, code { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:13px; }
td.name { white-space:nowrap; }
.req { color:#c9413b; font-size:11px; margin-left:4px; }
.type { color:#7a4fb8; font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:12px; }
.note { color:var(--muted); font-size:12px; }
.media { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:12px;
         background:#eef1f5; border-radius:4px; padding:1px 6px; }
.status { font-weight:700; font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; }
.s2 { color:#2e9d5b; } .s4 { color:#c88a12; } .s5 { color:#c9413b; }
.resp { margin:6px 0 10px; }
.error { color:#b0382f; }
</style>
</head>
<body>
<header>
  <h1 id="title">Voxgate API</h1>
  <div class="sub" id="subtitle">Loading <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> ...</div>
</header>
<main>
  <noscript><p>This page needs JavaScript; the raw document is at
    <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p></noscript>
  <div id="intro"></div>
  <input id="filter" type="search" placeholder="Filter by path, method, summary or tag" hidden>
  <div id="ops"></div>
</main>
<script>
"use strict";
(function () {
  var SPEC_URL = "/api/v1/openapi.json";
  var METHODS = ["get", "head", "post", "put", "patch", "delete", "options", "trace"];
  var doc = null;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function add(parent, child) { parent.appendChild(child); return child; }

  /* Follows a local "#/a/b" reference (JSON pointer); other references are left as they are. */
  function deref(node) {
    var guard = 0;
    while (node && typeof node.$ref === "string" && node.$ref.charAt(0) === "#" && guard++ < 16) {
      var cur = doc;
      var parts = node.$ref.slice(2).split("/");
      for (var i = 0; i < parts.length && cur; i++) {
        cur = cur[decodeURIComponent(parts[i]).replace(/~1/g, "/").replace(/~0/g, "~")];
      }
      if (!cur) return node;
      node = cur;
    }
    return node;
  }
  function refName(s) {
    return s && typeof s.$ref === "string" ? s.$ref.split("/").pop() : "";
  }

  function typeOf(s) {
    if (!s) return "any";
    var name = refName(s);
    var r = deref(s);
    var t;
    if (r.const !== undefined) t = JSON.stringify(r.const);
    else if (r.oneOf || r.anyOf) t = (r.oneOf || r.anyOf).map(typeOf).join(" or ");
    else if (r.type === "array") t = "array of " + typeOf(r.items);
    else if (r.type === "string" && r.contentEncoding) t = r.contentEncoding + " string";
    else if (r.type === "string" && r.contentMediaType === "application/octet-stream") t = "file";
    else if (Array.isArray(r.type)) t = r.type.join(" | ");
    else t = r.type || (r.properties ? "object" : "any");
    if (r.format) t += " (" + r.format + ")";
    if (name && (t === "object" || r.enum)) t = name;
    return t;
  }

  function constraints(s) {
    var r = deref(s || {});
    var out = [];
    if (r.enum) out.push("one of: " + r.enum.join(", "));
    if (r.minimum !== undefined && r.maximum !== undefined) out.push("range [" + r.minimum + ", " + r.maximum + "]");
    else if (r.minimum !== undefined) out.push(">= " + r.minimum);
    else if (r.maximum !== undefined) out.push("<= " + r.maximum);
    if (r.minLength !== undefined || r.maxLength !== undefined) {
      out.push("length " + (r.minLength !== undefined ? r.minLength : 0) + ".." +
               (r.maxLength !== undefined ? r.maxLength : "*"));
    }
    if (r.pattern) out.push("pattern " + r.pattern);
    if (r.default !== undefined) out.push("default " + JSON.stringify(r.default));
    return out.join("; ");
  }

  function describe(own, s) {
    var r = deref(s || {});
    return (own && own.description) || (s && s.description) || r.description || "";
  }

  /* Rows of [name, schema, required] for an object schema, nested objects flattened a few levels. */
  function flatten(schema, prefix, depth, seen, rows) {
    var r = deref(schema);
    if (!r || !r.properties) return rows;
    var required = r.required || [];
    Object.keys(r.properties).forEach(function (key) {
      var p = r.properties[key];
      var name = prefix + key;
      rows.push({ name: name, schema: p, required: required.indexOf(key) >= 0 });
      var ref = refName(p);
      var target = deref(p);
      var suffix = ".";
      if (target && target.type === "array" && target.items) {
        ref = refName(target.items) || ref;
        target = deref(target.items);
        suffix = "[].";
      }
      if (depth < 3 && target && target.properties && (!ref || seen.indexOf(ref) < 0)) {
        flatten(target, name + suffix, depth + 1, ref ? seen.concat([ref]) : seen, rows);
      }
    });
    return rows;
  }

  function fieldTable(schema) {
    var rows = flatten(schema, "", 0, refName(schema) ? [refName(schema)] : [], []);
    if (!rows.length) {
      var d = el("div", "note", typeOf(schema) + (describe(null, schema) ? ": " + describe(null, schema) : ""));
      return d;
    }
    var t = el("table");
    var h = add(t, el("tr"));
    ["Field", "Type", "Description"].forEach(function (x) { add(h, el("th", "", x)); });
    rows.forEach(function (row) {
      var tr = add(t, el("tr"));
      var n = add(tr, el("td", "name", row.name));
      if (row.required) add(n, el("span", "req", "required"));
      add(tr, el("td", "type", typeOf(row.schema)));
      var td = add(tr, el("td", "", describe(null, row.schema)));
      var c = constraints(row.schema);
      if (c) add(td, el("div", "note", c));
    });
    return t;
  }

  function paramTable(params) {
    var t = el("table");
    var h = add(t, el("tr"));
    ["Name", "In", "Type", "Description"].forEach(function (x) { add(h, el("th", "", x)); });
    params.forEach(function (p0) {
      var p = deref(p0);
      var tr = add(t, el("tr"));
      var n = add(tr, el("td", "name", p.name));
      if (p.required) add(n, el("span", "req", "required"));
      add(tr, el("td", "", p.in));
      add(tr, el("td", "type", typeOf(p.schema)));
      var td = add(tr, el("td", "", describe(p, p.schema)));
      var c = constraints(p.schema);
      if (c) add(td, el("div", "note", c));
    });
    return t;
  }

  function renderOperation(method, path, op) {
    var d = el("details", "op");
    d.id = op.operationId || (method + " " + path);
    d.dataset.search = [method, path, op.summary || "", (op.tags || []).join(" "), op.operationId || ""]
      .join(" ").toLowerCase();
    var s = add(d, el("summary"));
    add(s, el("span", "m " + method, method.toUpperCase()));
    add(s, el("span", "path", path));
    add(s, el("span", "summary", op.summary || ""));
    var access = op["x-voxgate-access"] || ((op.security && op.security.length === 0) ? "public" : "key");
    add(s, el("span", "badge " + access, access));

    var body = add(d, el("div", "body"));
    if (op.description) add(body, el("div", "desc", op.description));
    if (op.operationId) {
      var id = add(body, el("div", "note", "operationId: "));
      add(id, el("code", "", op.operationId));
    }
    if (op.parameters && op.parameters.length) {
      add(body, el("h4", "", "Parameters"));
      add(body, paramTable(op.parameters));
    }
    if (op.requestBody) {
      var rb = deref(op.requestBody);
      add(body, el("h4", "", "Request body" + (rb.required ? " (required)" : "")));
      if (rb.description) add(body, el("div", "desc", rb.description));
      Object.keys(rb.content || {}).forEach(function (media) {
        var m = add(body, el("div", "resp"));
        add(m, el("span", "media", media));
        var sch = rb.content[media].schema;
        var r = deref(sch);
        if (r && r.description) add(m, el("div", "note", r.description));
        add(body, fieldTable(sch));
      });
    }
    add(body, el("h4", "", "Responses"));
    Object.keys(op.responses || {}).sort().forEach(function (code) {
      var resp = deref(op.responses[code]);
      var box = add(body, el("div", "resp"));
      add(box, el("span", "status s" + code.charAt(0), code));
      add(box, document.createTextNode(" " + (resp.description || "")));
      Object.keys(resp.content || {}).forEach(function (media) {
        var sch = resp.content[media].schema;
        var line = add(box, el("div"));
        add(line, el("span", "media", media));
        if (refName(sch) === "Error") {
          add(line, el("span", "note", " Error body (see above)"));
        } else if (deref(sch) && deref(sch).properties) {
          add(line, el("span", "type", " " + (refName(sch) || "object")));
          add(box, fieldTable(sch));
        } else {
          add(line, el("span", "note", " " + typeOf(sch) + (describe(null, sch) ? ": " + describe(null, sch) : "")));
        }
      });
      var headers = Object.keys(resp.headers || {});
      if (headers.length) add(box, el("div", "note", "Headers: " + headers.join(", ")));
    });
    return d;
  }

  function renderIntro(container) {
    var info = doc.info || {};
    document.getElementById("title").textContent = (info.title || "API") + " ";
    var sub = document.getElementById("subtitle");
    sub.textContent = "OpenAPI " + (doc.openapi || "?") + " \u00b7 version " + (info.version || "?") + " \u00b7 ";
    var a = add(sub, el("a", "", "openapi.json"));
    a.href = SPEC_URL;
    (info.description || "").split(/\n\n+/).forEach(function (para) {
      add(container, el("p", "", para));
    });
    var schemes = (doc.components || {}).securitySchemes || {};
    var keys = Object.keys(schemes);
    if (keys.length) {
      add(container, el("h4", "", "Authentication"));
      var t = add(container, el("table"));
      keys.forEach(function (k) {
        var s = schemes[k];
        var tr = add(t, el("tr"));
        add(tr, el("td", "name", k));
        add(tr, el("td", "type", s.type === "http" ? "HTTP " + s.scheme : s.type + " (" + s.in + " " + s.name + ")"));
        add(tr, el("td", "", s.description || ""));
      });
    }
    var err = ((doc.components || {}).schemas || {}).Error;
    if (err) {
      add(container, el("h4", "", "Error body"));
      add(container, fieldTable({ $ref: "#/components/schemas/Error" }));
    }
  }

  function render() {
    var intro = document.getElementById("intro");
    var ops = document.getElementById("ops");
    renderIntro(intro);
    var groups = {};
    var order = [];
    (doc.tags || []).forEach(function (t) { groups[t.name] = { tag: t, items: [] }; order.push(t.name); });
    var paths = doc.paths || {};
    Object.keys(paths).sort().forEach(function (path) {
      METHODS.forEach(function (method) {
        var op = paths[path][method];
        if (!op) return;
        var tag = (op.tags && op.tags[0]) || "other";
        if (!groups[tag]) { groups[tag] = { tag: { name: tag }, items: [] }; order.push(tag); }
        groups[tag].items.push(renderOperation(method, path, op));
      });
    });
    var count = 0;
    order.forEach(function (name) {
      var g = groups[name];
      if (!g.items.length) return;
      var section = add(ops, el("section"));
      add(section, el("h2", "", g.tag.name));
      if (g.tag.description) add(section, el("div", "tagdesc", g.tag.description));
      g.items.forEach(function (item) { add(section, item); count++; });
    });
    var filter = document.getElementById("filter");
    filter.hidden = false;
    filter.placeholder = "Filter " + count + " operations by path, method, summary or tag";
    filter.addEventListener("input", function () {
      var q = filter.value.trim().toLowerCase();
      Array.prototype.forEach.call(ops.querySelectorAll("section"), function (section) {
        var shown = 0;
        Array.prototype.forEach.call(section.querySelectorAll("details.op"), function (d) {
          var hit = !q || d.dataset.search.indexOf(q) >= 0;
          d.hidden = !hit;
          if (hit) shown++;
        });
        section.hidden = shown === 0;
      });
    });
    if (location.hash) {
      var target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
      if (target && target.tagName === "DETAILS") { target.open = true; target.scrollIntoView(); }
    }
  }

  fetch(SPEC_URL, { headers: { Accept: "application/json" }, credentials: "same-origin" })
    .then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    })
    .then(function (d) { doc = d; render(); })
    .catch(function (e) {
      var sub = document.getElementById("subtitle");
      sub.textContent = "";
      add(sub, el("span", "error", "Could not load " + SPEC_URL + ": " + e.message));
    });
})();
</script>
</body>
</html>
)html";
}

}  // namespace voxgate::api
