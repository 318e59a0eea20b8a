// Responder: the handle a handler answers its request through.
//
// A handler may answer at once on the I/O thread, or keep (a copy of) the Responder and answer
// later from any thread, e.g. an InferencePool worker. Send() never touches the connection itself:
// the server posts the response to the connection's strand, which writes it. Thread-safe; copies
// share one state. The first Send wins; later ones are ignored. If every copy is destroyed without
// a Send, the client gets a 500, so a forgotten path cannot hang a connection.
//
// The Request (request()) lives as long as any copy of its Responder.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>

#include "api/request.h"
#include "api/response.h"
#include "common/status.h"

namespace voxgate::api {

class Responder {
 public:
  /// `deliver` receives the response exactly once, on the thread that calls Send (or that drops
  /// the last copy). The server passes a function that posts to the connection's strand; tests of
  /// handlers pass one that records the response.
  static Responder Create(Request request, std::function<void(Response)> deliver);

  /// Answers the request. Returns false (and does nothing) if it was already answered.
  bool Send(Response response) const;
  bool SendJson(int status, const nlohmann::json& body) const;
  /// The JSON error body of http_error.h for `status` (not OK); retry_after_s > 0 adds Retry-After.
  bool SendError(const Status& status, int retry_after_s = 0) const;
  bool sent() const;

  const Request& request() const;

 private:
  struct State;
  explicit Responder(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

}  // namespace voxgate::api
