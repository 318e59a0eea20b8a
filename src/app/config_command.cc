// voxgate config check FILE: validates a config as serve and gateway would read it (every key
// known, every value of the right type and in range, environment overrides applied), without
// starting.
#include <iostream>

#include "app/app_config.h"
#include "app/commands.h"
#include "app/model_loader.h"
#include "cluster/gateway_proxy.h"

namespace voxgate::app {

int RunConfigCheck(const ConfigCheckOptions& options) {
  auto root = ConfigNode::LoadFile(options.file);
  if (!root.ok()) return Fail(root.status());
  // CheckConfigKeys reads (and type-checks) both sections; what is left is their ranges.
  Status s = CheckConfigKeys(*root);
  AppConfig config;
  if (s.ok()) s = config.Load(*root);
  if (s.ok()) s = config.Finalize();
  cluster::GatewayConfig gateway;
  if (s.ok()) s = gateway.Load(root->Child("gateway"));
  if (s.ok()) s = gateway.Validate().WithContext("gateway");
  if (!s.ok()) return Fail(s.WithContext(options.file));
  std::cout << options.file << ": OK\n";
  return 0;
}

}  // namespace voxgate::app
