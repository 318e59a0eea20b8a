#include "api/upload.h"

#include <nlohmann/json.hpp>

#include "api/multipart.h"
#include "common/base64.h"

namespace voxgate::api {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Result<Upload> ParseJsonUpload(const std::string& body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgumentError("request body is not valid JSON");
  if (!j.is_object()) return InvalidArgumentError("request body must be a JSON object");
  Upload upload;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    if (key == "audio" || key == "audio[]") {
      std::vector<const nlohmann::json*> items;
      if (it->is_array()) {
        for (const auto& item : *it) items.push_back(&item);
      } else {
        items.push_back(&*it);
      }
      for (const nlohmann::json* item : items) {
        if (!item->is_string()) return InvalidArgumentError("\"audio\" must be base64 strings");
        auto bytes = DecodeBase64(item->get_ref<const std::string&>());
        if (!bytes.ok()) return bytes.status().WithContext("\"audio\"");
        upload.audio.push_back({std::move(*bytes), ""});
      }
    } else if (it->is_string()) {
      upload.fields[key] = it->get<std::string>();
    } else if (!it->is_null()) {
      upload.fields[key] = it->dump();
    }
  }
  return upload;
}

}  // namespace

const std::string* Upload::Field(const std::string& name) const {
  auto it = fields.find(name);
  return it == fields.end() ? nullptr : &it->second;
}

Result<std::string> DecodeBase64(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 3 / 4);
  if (!DecodeBase64Into(text, out)) return InvalidArgumentError("invalid base64");
  return out;
}

Result<Upload> ParseUpload(const Request& request) {
  const std::string content_type = Lower(request.Header("Content-Type").value_or(""));
  if (content_type.rfind("application/json", 0) == 0) return ParseJsonUpload(request.body());
  if (content_type.rfind("multipart/form-data", 0) != 0) {
    return UnsupportedError("Content-Type must be multipart/form-data or application/json");
  }
  VOXGATE_ASSIGN_OR_RETURN(std::string boundary,
                           MultipartBoundary(request.Header("Content-Type").value_or("")));
  VOXGATE_ASSIGN_OR_RETURN(std::vector<MultipartPart> parts,
                           ParseMultipart(request.body(), boundary));
  Upload upload;
  for (const MultipartPart& part : parts) {
    if (part.name == "audio" || part.name == "audio[]" || part.name == "file") {
      upload.audio.push_back({std::string(part.data), part.filename});
    } else if (!upload.fields.count(part.name)) {
      upload.fields[part.name] = std::string(part.data);
    }
  }
  return upload;
}

}  // namespace voxgate::api
