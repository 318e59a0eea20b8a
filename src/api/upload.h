// Upload: the fields and audio files of a request body, whichever way the client sent them —
// multipart/form-data (Edge-VoMID's way) or a JSON object with base64 audio. Parsing never throws;
// malformed bodies are kInvalidArgument naming the problem. Plain data, thread-compatible.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "api/request.h"
#include "common/result.h"

namespace voxgate::api {

struct UploadedAudio {
  std::string bytes;
  std::string filename;
};

struct Upload {
  std::map<std::string, std::string> fields;  // text fields; JSON values other than strings are
                                              // kept as their JSON text (e.g. "0.5", "{...}")
  std::vector<UploadedAudio> audio;           // parts named "audio" or "audio[]", in order

  /// The field, or nullptr when absent.
  const std::string* Field(const std::string& name) const;
};

/// Reads the request body as multipart/form-data or JSON, by its Content-Type. The JSON form takes
/// "audio" as a base64 string or an array of them. kUnsupported for other content types.
Result<Upload> ParseUpload(const Request& request);

/// Standard or URL-safe base64, padding optional, whitespace ignored.
Result<std::string> DecodeBase64(std::string_view text);

}  // namespace voxgate::api
