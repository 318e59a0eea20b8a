#include "api/responder.h"

#include <spdlog/spdlog.h>

#include <atomic>

#include "api/http_error.h"

namespace voxgate::api {

struct Responder::State {
  Request request;
  std::function<void(Response)> deliver;
  std::atomic<bool> sent{false};

  ~State() {
    if (!sent.exchange(true) && deliver) {
      spdlog::error("request {} ({} {}) was dropped without a response", request.request_id(),
                    request.method_name(), request.route());
      try {
        deliver(ErrorResponse(InternalError("the handler dropped the request without answering"),
                              request.request_id()));
      } catch (...) {
        // A destructor must not throw; the connection closes on its own timeouts.
      }
    }
  }
};

Responder Responder::Create(Request request, std::function<void(Response)> deliver) {
  auto state = std::make_shared<State>();
  state->request = std::move(request);
  state->deliver = std::move(deliver);
  return Responder(std::move(state));
}

bool Responder::Send(Response response) const {
  if (state_->sent.exchange(true)) {
    spdlog::warn("request {}: response sent twice; the second is ignored",
                 state_->request.request_id());
    return false;
  }
  if (state_->deliver) state_->deliver(std::move(response));
  return true;
}

bool Responder::SendJson(int status, const nlohmann::json& body) const {
  return Send(Response::Json(status, body));
}

bool Responder::SendError(const Status& status, int retry_after_s) const {
  return Send(ErrorResponse(status, state_->request.request_id(), retry_after_s));
}

bool Responder::sent() const { return state_->sent.load(); }

const Request& Responder::request() const { return state_->request; }

}  // namespace voxgate::api
